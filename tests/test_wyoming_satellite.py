"""`earpiece serve satellite` on the virtual headset, driven by a test that plays Home Assistant's
part in the order of its Wyoming assist_satellite: connect, run-satellite, describe, pings; a wake
phrase said into the mic brings detection and run-pipeline, and mic audio only after them; the
transcript stops the stream; the reply's audio is played and answered with played; an
announcement likewise; paused, the satellite sends nothing."""

from __future__ import annotations

import asyncio
import subprocess
from contextlib import contextmanager
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import soxr
from conftest import assert_one_line_error, free_port, wait_for_port
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.timer import TimerFinished
from wyoming.tts import Synthesize

from assistant.audio import SAMPLE_RATE
from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import read_wav

HA_RATE = 22050
"""Home Assistant sends the reply's audio at 22050 Hz."""


@pytest.fixture()
def satellite(headset, tmp_path: Path) -> Iterator[tuple[str, int]]:
    config = tmp_path / "satellite.toml"
    config.write_text('[audio]\ninput_device = "mic"\noutput_device = "spk"\n')
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "serve", "satellite",
                             "--uri", f"tcp://127.0.0.1:{port}"],
                            env=headset.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_port(port, proc, "the satellite")
    yield "127.0.0.1", port
    proc.terminate()
    try:
        assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()


class HomeAssistant:
    """The test's end of the connection: every event the satellite sends, with when it came."""

    def __init__(self, client: AsyncTcpClient) -> None:
        self.client = client
        self.got: list[tuple[float, Event]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while (event := await self.client.read_event()) is not None:
            self.got.append((time.monotonic(), event))

    def types(self) -> list[str]:
        return [event.type for _, event in self.got]

    async def until(self, kind: str, timeout: float, after: int = 0) -> Event:
        """The first event of ``kind`` from the ``after``-th on, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, event in self.got[after:]:
                if event.type == kind:
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} within {timeout} s; got {self.types()[after:]}")

    async def send(self, *events: Event) -> None:
        for event in events:
            await self.client.write_event(event)

    async def close(self) -> None:
        self._reader.cancel()
        await self.client.disconnect()


async def connect(address: tuple[str, int]) -> HomeAssistant:
    client = AsyncTcpClient(*address)
    await client.connect()
    ha = HomeAssistant(client)
    await ha.send(RunSatellite().event(), Describe().event())  # as Home Assistant opens the connection
    return ha


async def speak(headset, wav: Path) -> None:  # type: ignore[no-untyped-def]
    """Into the virtual mic, in real time, while the test goes on reading events."""
    await asyncio.to_thread(headset.speak_into_mic, wav)


def reply_events(speech: Any, text: str) -> list[Event]:
    """``text`` spoken as Home Assistant sends a reply: audio-start, 1024-sample chunks at 22050 Hz, audio-stop."""
    pcm = float_to_int16(soxr.resample(speech.say(text), SAMPLE_RATE, HA_RATE))
    raw = pcm.tobytes()
    chunks = [AudioChunk(rate=HA_RATE, width=2, channels=1, audio=raw[at : at + 2048]).event()
              for at in range(0, len(raw), 2048)]
    return [AudioStart(rate=HA_RATE, width=2, channels=1).event(), *chunks, AudioStop().event()]


@contextmanager
def speaker_recorded(headset, wav: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The virtual speaker recorded into ``wav`` while the block runs (the recorder already running)."""
    recorder = headset.record_speaker(wav)
    try:
        headset.wait_recorded(wav, 0.2)
        yield
    finally:
        headset.stop_recording(recorder)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 180))


def test_a_wake_streams_the_command_to_home_assistant_until_its_transcript(
        satellite: tuple[str, int], headset, speech, whisper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        ha = await connect(satellite)
        info = Info.from_event(await ha.until("info", 30))
        assert info.satellite is not None and info.satellite.installed
        assert "samantha" in (info.satellite.active_wake_words or [])
        assert any(model.phrase == "samantha" for program in info.wake for model in program.models)
        await ha.send(Ping(text="ha").event())
        assert (await ha.until("pong", 5)).data.get("text") == "ha"

        # talk without the name: nothing is sent, least of all audio
        await speak(headset, speech.write(speech.scene(0.3, "The weather was fine all week.", 1.0), "talk.wav"))
        await asyncio.sleep(1.0)
        assert not {"audio-chunk", "run-pipeline", "detection"} & set(ha.types()), ha.types()

        await speak(headset, speech.write(speech.scene(0.3, "Samantha.", 1.2, "What time is it?", 1.5), "call.wav"))
        run_pipeline = RunPipeline.from_event(await ha.until("run-pipeline", 10))
        assert (run_pipeline.start_stage, run_pipeline.end_stage) == (PipelineStage.ASR, PipelineStage.TTS)
        assert (await ha.until("detection", 1)).data["name"] == "samantha"
        kinds = ha.types()
        assert kinds.index("run-pipeline") < kinds.index("audio-start") < kinds.index("audio-chunk")
        streamed = b"".join(e.payload or b"" for _, e in ha.got if e.type == "audio-chunk")
        heard = whisper.transcribe(np.frombuffer(streamed, "<i2").astype(np.int16)).text.lower()
        assert "time" in heard, heard  # Home Assistant gets the command said after the name

        stop_at = len(ha.got)
        await ha.send(Transcript(text="what time is it").event())
        await ha.until("audio-stop", 3, after=stop_at)
        await asyncio.sleep(1.0)
        stopped = next(i for i, (_, e) in enumerate(ha.got) if i >= stop_at and e.type == "audio-stop")
        assert "audio-chunk" not in [e.type for _, e in ha.got[stopped:]], "the mic kept streaming after the transcript"
        await ha.close()

    run(scenario())


def test_replies_and_announcements_are_played_and_answered_played(
        satellite: tuple[str, int], headset, speech, whisper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    recording = tmp_path / "speaker.wav"

    async def scenario() -> None:
        ha = await connect(satellite)
        await ha.until("info", 30)
        with speaker_recorded(headset, recording):
            sent = time.monotonic()
            await ha.send(Synthesize(text="It is ten past three.").event(), *reply_events(speech, "It is ten past three."))
            await ha.until("played", 10)
            played_at = next(t for t, e in ha.got if e.type == "played")
            assert played_at - sent >= 1.0, "played came before the reply could have been heard"
            before = len(ha.got)
            await ha.send(*reply_events(speech, "The laundry is done."))  # an announcement: outside any pipeline
            await ha.until("played", 10, after=before)
            await asyncio.sleep(0.3)
        await ha.close()

    run(scenario())
    heard = whisper.transcribe(float_to_int16(read_wav(recording))).text.lower()
    assert "past" in heard and "laundry" in heard, heard


def test_paused_it_sends_nothing_and_run_again_it_wakes(
        satellite: tuple[str, int], headset, speech) -> None:  # type: ignore[no-untyped-def]
    call = speech.write(speech.scene(0.3, "Samantha.", 1.5), "name.wav")

    async def scenario() -> None:
        ha = await connect(satellite)
        await ha.until("info", 30)
        await ha.send(PauseSatellite().event())
        await asyncio.sleep(0.3)
        await speak(headset, call)
        await asyncio.sleep(2.0)
        assert not {"audio-chunk", "run-pipeline", "detection", "audio-start"} & set(ha.types()), ha.types()
        await ha.send(RunSatellite().event())
        await asyncio.sleep(0.3)
        await speak(headset, call)
        await ha.until("run-pipeline", 10)
        await ha.send(PauseSatellite().event())  # paused mid-stream: the audio stops at once
        await ha.until("audio-stop", 3)
        await ha.close()

    run(scenario())


def test_a_home_assistant_timer_ending_sounds_on_the_headset(
        satellite: tuple[str, int], headset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    recording = tmp_path / "speaker.wav"

    async def scenario() -> None:
        ha = await connect(satellite)
        await ha.until("info", 30)
        with speaker_recorded(headset, recording):
            await ha.send(TimerFinished(id="kitchen").event())
            await asyncio.sleep(2.0)
        await ha.close()

    run(scenario())
    audio = read_wav(recording)
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 0.01, "the timer's end was silent"


def test_a_wrong_address_is_a_one_line_error(cli) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(cli("serve", "satellite", "--uri", "http://example.org"), "tcp://")
