"""`earpiece serve wyoming`, driven by the wyoming library's own client in the order Home
Assistant uses: describe, then a connection per request (one long one for wake)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import soundfile
import soxr
from conftest import assert_one_line_error, free_port, wait_for_port
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop
from wyoming.wake import Detect

from assistant.audio import SAMPLE_RATE

DATA = Path(__file__).parent / "data" / "speech"

CHUNK = 1024
"""Samples per audio-chunk sent, as Home Assistant's satellites send them."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    home = tmp_path_factory.mktemp("wyoming-home")
    env = dict(os.environ, **{f"XDG_{name.upper()}_HOME": str(home / name) for name in ("config", "data", "state")})
    env.pop("EARPIECE_CONFIG", None)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "wyoming", "--uri", f"tcp://127.0.0.1:{port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_port(port, proc, "the Wyoming server")
    yield "127.0.0.1", port
    proc.terminate()
    try:
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))


async def exchange(address: tuple[str, int], events: list[Event], until: str) -> list[Event]:
    """Send ``events`` on a new connection; read until an event of type ``until``."""
    async with AsyncTcpClient(*address) as client:
        for event in events:
            await client.write_event(event)
        got: list[Event] = []
        while True:
            event = await client.read_event()
            assert event is not None, f"connection closed; got {[e.type for e in got]}"
            got.append(event)
            if event.type == until:
                return got


def audio_events(pcm: np.ndarray, rate: int = SAMPLE_RATE, channels: int = 1) -> list[Event]:
    """int16 ``pcm`` (frames x channels) as audio-start, chunks and audio-stop."""
    raw = pcm.astype(np.int16).tobytes()
    step = CHUNK * 2 * channels
    chunks = [AudioChunk(rate=rate, width=2, channels=channels, audio=raw[at : at + step]).event()
              for at in range(0, len(raw), step)]
    return [AudioStart(rate=rate, width=2, channels=channels).event(), *chunks, AudioStop().event()]


def int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_describe_lists_every_service_installed(server: tuple[str, int]) -> None:
    got = run(exchange(server, [Describe().event()], "info"))
    info = Info.from_event(got[-1])
    assert [p.name for p in info.asr] == ["earpiece-whisper"]
    assert [m.name for m in info.asr[0].models] == ["tiny.en"]
    assert info.tts and info.tts[0].voices[0].name == "en_US-joe-medium"
    assert [m.phrase for m in info.wake[0].models] == ["samantha"]
    assert info.handle and info.handle[0].models
    artifacts = [*info.asr, *info.asr[0].models, *info.tts, *info.tts[0].voices, *info.wake, *info.wake[0].models,
                 *info.handle, *info.handle[0].models]
    assert all(a.installed for a in artifacts), "Home Assistant ignores what is not installed"
    assert info.satellite is None, "a satellite block would hide the services from Home Assistant"


def test_a_held_wav_is_transcribed_at_any_rate_and_channels(server: tuple[str, int]) -> None:
    audio, rate = soundfile.read(str(DATA / "jfk-inaugural.wav"), dtype="float32")
    clip = int16(soxr.resample(audio, rate, SAMPLE_RATE))  # a real recording: John F. Kennedy, 1961
    plain = run(exchange(server, [Transcribe(name="tiny.en", language="en").event(), *audio_events(clip)], "transcript"))
    text = Transcript.from_event(plain[-1]).text
    assert {"fellow", "americans", "country"} <= set(words(text)), text
    assert plain[0].type == "transcript-start", "the streaming events come as additions"
    # the same speech at 22050 Hz in stereo, as a satellite with its own format sends it
    resampled = int16(soxr.resample(audio, rate, 22050))
    stereo = np.stack([resampled, resampled], axis=1)
    other = run(exchange(server, [Transcribe().event(), *audio_events(stereo, 22050, 2)], "transcript"))
    assert {"fellow", "americans", "country"} <= set(words(Transcript.from_event(other[-1]).text))


def test_no_audio_is_an_empty_transcript(server: tuple[str, int]) -> None:
    got = run(exchange(server, [Transcribe().event(), AudioStart(rate=16000, width=2, channels=1).event(),
                                AudioStop().event()], "transcript"))
    assert Transcript.from_event(got[-1]).text == ""


def spoken(events: list[Event]) -> tuple[np.ndarray, set[tuple[int, int, int]]]:
    """The audio of audio-chunk events, and the formats they came in."""
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    formats = {(c.rate, c.width, c.channels) for c in chunks}
    return np.frombuffer(b"".join(c.audio for c in chunks), np.int16), formats


def heard(whisper, pcm: np.ndarray, rate: int) -> list[str]:  # type: ignore[no-untyped-def]
    return words(whisper.transcribe(int16(soxr.resample(pcm.astype(np.float32) / 32767, rate, SAMPLE_RATE)), beam=1).text)


def test_text_to_speech_plain_and_streamed(server: tuple[str, int], whisper) -> None:
    plain = run(exchange(server, [Synthesize(text="The garden needs water today.").event()], "audio-stop"))
    assert plain[0].type == "audio-start"
    pcm, formats = spoken(plain)
    assert formats == {(22050, 2, 1)}, "one format: the Piper voice's own"
    assert {"garden", "water"} <= set(heard(whisper, pcm, 22050))
    # streamed: text in pieces; the first sentence's audio comes before the request ends
    streamed = run(exchange(server, [
        SynthesizeStart().event(), SynthesizeChunk(text="The garden needs ").event(),
        SynthesizeChunk(text="water today. Tomorrow it").event(), SynthesizeChunk(text=" will rain.").event(),
        SynthesizeStop().event(),
        Synthesize(text="The garden needs water today. Tomorrow it will rain.").event(),  # sent for older servers
    ], "synthesize-stopped"))
    types = [e.type for e in streamed]
    assert types.count("audio-start") == 2 and types.count("audio-stop") == 2, "a sentence at a time"
    pcm, formats = spoken(streamed)
    assert formats == {(22050, 2, 1)}
    assert {"garden", "water", "tomorrow", "rain"} <= set(heard(whisper, pcm, 22050))


def test_wake_phrases_are_detected_each_time_on_one_connection(server: tuple[str, int], speech) -> None:
    talk = speech.scene(0.5, "Samantha, what time is it?", 2.0, "I went to the market with my sister.", 1.5)
    call = speech.scene("Samantha, set a timer for ten minutes.")
    stream = int16(np.concatenate([talk, call, np.zeros(2 * SAMPLE_RATE, np.float32)]))
    call_starts, call_ends = len(talk) / SAMPLE_RATE, (len(talk) + len(call)) / SAMPLE_RATE

    async def detect() -> list[Event]:
        async with AsyncTcpClient(*server) as client:
            await client.write_event(Detect(names=["samantha"]).event())
            got: list[Event] = []
            for event in audio_events(stream)[:-1]:  # Home Assistant never sends audio-stop to a wake server
                await client.write_event(event)
            deadline = time.monotonic() + 60
            while len([e for e in got if e.type == "detection"]) < 2 and time.monotonic() < deadline:
                event = await asyncio.wait_for(client.read_event(), 60)
                assert event is not None
                got.append(event)
            return got

    got = run(detect())
    detections = [e.data for e in got if e.type == "detection"]
    assert [d["name"] for d in detections] == ["samantha", "samantha"]
    first, second = (d["timestamp"] / 1000 for d in detections)
    # Each stamped where it was found. The first, before the spotter has adapted to the stream,
    # by the reading of the whole utterance; the second as soon as the name was said, while the
    # command is still being spoken (so it reaches the speech to text service that follows).
    assert first <= 4.0 and call_starts + 0.5 <= second < call_ends - 0.5, (detections, call_starts, call_ends)


def test_a_stream_without_the_name_ends_not_detected(server: tuple[str, int], speech) -> None:
    stream = int16(speech.scene(0.5, "I went to the market with my sister.", 1.0))
    got = run(exchange(server, [Detect().event(), *audio_events(stream)], "not-detected"))
    assert not [e for e in got if e.type == "detection"]


def test_a_command_as_text_is_handled_by_the_skills(server: tuple[str, int]) -> None:
    got = run(exchange(server, [Transcript(text="what time is it").event()], "handled"))
    assert re.match(r"It's .+\.", got[-1].data["text"]), got[-1].data
    unknown = run(exchange(server, [Transcript(text="the purple elephant sings opera").event()], "not-handled"))
    assert unknown[-1].data["text"]


def test_a_text_command_is_answered_at_the_time_it_is_asked(sphinx, whisper, router, tts) -> None:
    from datetime import datetime

    from assistant.config import Settings
    from assistant.speech.engines import Engines
    from assistant.wyoming.services import Services

    clock = iter([datetime(2026, 11, 25, 15, 10), datetime(2026, 11, 25, 15, 10), datetime(2026, 11, 25, 18, 45)])
    services = Services(Settings(), Engines(sphinx, whisper), tts, router, now=lambda: next(clock))
    assert services.answer("what time is it").text == "It's ten past three in the afternoon."
    # hours later, the same server: its pipeline's audio clock stood still, the answer must not
    assert services.answer("what time is it").text == "It's quarter to seven in the evening."


def test_garbage_and_a_client_gone_mid_stream_cost_the_others_nothing(server: tuple[str, int], speech) -> None:
    with socket.create_connection(server) as rude:
        rude.sendall(b"this is not json\n" + bytes(range(256)))

    async def hang_up_mid_stream() -> None:
        async with AsyncTcpClient(*server) as gone:  # audio-start and a chunk, then it hangs up
            for event in [Transcribe().event(), *audio_events(int16(speech.scene(0.2, "Samantha", 0.2)))[:2]]:
                await gone.write_event(event)

    run(hang_up_mid_stream())
    got = run(exchange(server, [Describe().event()], "info"))
    assert Info.from_event(got[-1]).asr


def test_many_clients_at_once_are_all_answered(server: tuple[str, int], speech) -> None:
    clip = int16(speech.scene(0.3, "What time is it?", 0.3))

    async def all_at_once() -> list[list[Event]]:
        return await asyncio.gather(*(exchange(server, [Transcribe().event(), *audio_events(clip)], "transcript")
                                      for _ in range(6)))

    answers = run(all_at_once())
    assert len(answers) == 6
    assert all("time" in words(Transcript.from_event(got[-1]).text) for got in answers)


def test_a_wrong_address_is_a_one_line_error(cli) -> None:
    assert_one_line_error(cli("serve", "wyoming", "--uri", "http://example.org"), "tcp://HOST:PORT")
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert_one_line_error(cli("serve", "wyoming", "--uri", f"tcp://127.0.0.1:{port}"), "cannot listen")


SATELLITE = Path(os.environ.get("EARPIECE_SATELLITE_VENV", Path(__file__).resolve().parents[1] / ".venv-satellite"))

MIC = """\
import sys, time
speech = open(sys.argv[1], "rb").read()
silence = bytes(3200)  # 0.1 s of 16 kHz 16-bit mono
out = sys.stdout.buffer
def send(data):
    for at in range(0, len(data), 3200):
        out.write(data[at : at + 3200]); out.flush(); time.sleep(0.1)
send(silence * 40)  # 4 s: the satellite connects to its wake service
send(speech)
while True:
    send(silence)
"""


def test_the_real_wyoming_satellite_wakes_on_our_wake_service(server: tuple[str, int], speech, tmp_path: Path) -> None:
    """wyoming-satellite 1.4.1 (../shared/vendor, in its own virtualenv with wyoming 1.5.4) with
    --wake-uri on earpiece: a wake phrase said into its mic gives detection and run-pipeline at
    the test's Home Assistant end."""
    python = SATELLITE / "bin" / "python"
    if not python.exists():
        pytest.skip(f"wyoming-satellite is not installed in {SATELLITE} (bash .ci/bootstrap test installs it)")
    raw = tmp_path / "call.raw"
    raw.write_bytes(int16(speech.scene(0.3, "Samantha, what time is it?", 1.0)).tobytes())
    mic = tmp_path / "mic.py"
    mic.write_text(MIC)
    port = free_port()
    satellite = subprocess.Popen(
        [str(python), "-m", "wyoming_satellite", "--uri", f"tcp://127.0.0.1:{port}", "--name", "test satellite",
         "--mic-command", f"{sys.executable} {mic} {raw}", "--snd-command", "cat > /dev/null",
         "--wake-uri", f"tcp://{server[0]}:{server[1]}", "--wake-word-name", "samantha", "--no-zeroconf"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    async def home_assistant() -> list[Event]:
        from wyoming.satellite import RunSatellite

        deadline = time.monotonic() + 60
        while True:  # the satellite's port opens once it has started
            try:
                client = AsyncTcpClient("127.0.0.1", port)
                await client.connect()
                break
            except OSError:
                assert time.monotonic() < deadline and satellite.poll() is None, "the satellite did not start"
                await asyncio.sleep(0.2)
        got: list[Event] = []
        try:
            await client.write_event(RunSatellite().event())
            while not any(e.type == "run-pipeline" for e in got):
                event = await asyncio.wait_for(client.read_event(), 40)
                assert event is not None, "the satellite hung up"
                got.append(event)
        finally:
            await client.disconnect()
        return got

    try:
        got = run(home_assistant())
    finally:
        satellite.terminate()
        try:
            satellite.wait(10)
        except subprocess.TimeoutExpired:
            satellite.kill()
    detections = [e.data for e in got if e.type == "detection"]
    assert detections and detections[0]["name"] == "samantha", [e.type for e in got]
    pipeline = next(e.data for e in got if e.type == "run-pipeline")
    assert pipeline["start_stage"] == "asr", pipeline


def test_zeroconf_advertises_the_server_for_home_assistant(tmp_path: Path) -> None:
    from zeroconf.asyncio import AsyncZeroconf

    port, name = free_port(), f"earpiece-test-{os.getpid()}"
    env = dict(os.environ, **{f"XDG_{n.upper()}_HOME": str(tmp_path / n) for n in ("config", "data", "state")})
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "wyoming", "--uri", f"tcp://0.0.0.0:{port}",
                             "--zeroconf", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    async def browse() -> Any:
        browser = AsyncZeroconf()
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                info = await browser.async_get_service_info("_wyoming._tcp.local.", f"{name}._wyoming._tcp.local.", 1000)
                if info is not None:
                    return info
            return None
        finally:
            await browser.async_close()

    try:
        info = run(browse())
    finally:
        proc.terminate()
        proc.wait(20)
    assert info is not None and info.port == port, "Home Assistant finds it as a _wyoming._tcp service"


def test_zeroconf_for_a_loopback_server_is_a_one_line_error(cli) -> None:
    assert_one_line_error(cli("serve", "wyoming", "--uri", "tcp://127.0.0.1:10777", "--zeroconf"),
                          "only takes connections from this one")
