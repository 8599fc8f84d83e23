"""The voice: Piper by default, espeak-ng and pyttsx3 as light engines, chosen and checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error

from assistant.audio import SAMPLE_RATE
from assistant.config import VoiceSettings
from assistant.errors import SpeechError
from assistant.speech.spoken_text import for_speech
from assistant.speech.synth import choose
from assistant.speech.voice import Voice, first_phrase


def test_piper_speaks_by_default_and_an_espeak_voice_picks_espeak() -> None:
    assert choose(VoiceSettings())[0] == "piper"
    assert choose(VoiceSettings(voice="en-us+f3")) == ("espeak", '[voice] voice = "en-us+f3" is an espeak-ng voice')
    assert choose(VoiceSettings(engine="pyttsx3"))[0] == "pyttsx3"


def test_a_reply_is_rendered_sentence_by_sentence_with_the_pause_between(whisper) -> None:
    voice = Voice(VoiceSettings(sentence_pause=0.5))
    pieces = list(voice.sentences("It's ten past three. You have two new messages."))
    assert len(pieces) == 2 and voice.engine == "piper"
    assert not pieces[1][: int(0.45 * SAMPLE_RATE)].any()  # the second opens with the pause
    heard = for_speech(whisper.transcribe(np.concatenate(pieces)).text.lower())  # Whisper writes "10 past 3"
    assert "ten past three" in heard and "two new messages" in heard, heard
    quiet = Voice(VoiceSettings(sentence_pause=0.5))
    quiet.volume = 0.5
    assert np.abs(quiet.render("Hello.")).max() < 0.6 * np.abs(voice.render("Hello.")).max()


def test_a_long_first_sentence_plays_its_first_phrase_first_without_a_sentence_pause(whisper) -> None:
    """A sentence is rendered whole before any of it plays: the first phrase of a long one is
    rendered alone, so the reply starts sooner, and the sentence goes on without a pause."""
    assert first_phrase("It's Wednesday, the twenty-fifth of November. Anything else?") == (
        "It's Wednesday,", "the twenty-fifth of November. Anything else?")
    assert first_phrase("One, from Anna Field: the invoice is here.") == ("One, from Anna Field:", "the invoice is here.")
    assert first_phrase("Okay, done.") == ("Okay, done.", "")  # too little after the comma to gain
    assert first_phrase("You have two new messages. One, from Tom: hello there my friend.")[1] == ""  # not the first sentence
    voice = Voice(VoiceSettings(sentence_pause=0.5))
    pieces = list(voice.sentences("It's Wednesday, the twenty-fifth of November."))
    assert len(pieces) == 2
    assert whisper.transcribe(pieces[0]).text.lower().startswith("it's wednesday")
    assert pieces[1][: int(0.3 * SAMPLE_RATE)].any()  # no sentence pause: Piper's own comma pause only
    heard = whisper.transcribe(np.concatenate(pieces)).text.lower()
    assert "wednesday" in heard and "november" in heard, heard


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_the_light_engines_still_speak(engine: str, cli, whisper, tmp_path: Path) -> None:
    # through `earpiece say`, in a process of its own: pyttsx3's espeak driver once hung inside
    # the long test process (after the Piper and Whisper sessions there), never in a fresh one
    from assistant.audio.wavio import read_wav

    config, out = tmp_path / "c.toml", tmp_path / "say.wav"
    config.write_text(f'[voice]\nengine = "{engine}"\n')
    result = cli("--config", config, "-v", "say", "Good evening, Theodore.", "--output", out, timeout=120, check=True)
    assert f"speaking with {engine}" in result.stderr
    pcm = read_wav(out)
    assert len(pcm) > SAMPLE_RATE // 2
    assert "evening" in whisper.transcribe(pcm).text.lower()


def test_a_wrong_voice_is_a_clear_error(cli, tmp_path: Path) -> None:
    missing = Voice(VoiceSettings(engine="piper", voice=str(tmp_path / "nobody.onnx")))
    assert len(missing.render("Hello.")) > 0 and missing.engine == "espeak"  # never silence
    assert "nobody.onnx not found" in missing.take_problem() and missing.take_problem() == ""  # said once
    with pytest.raises(SpeechError, match="unknown voice"):
        Voice(VoiceSettings(engine="espeak", voice="en-xx+nobody")).render("Hello.")
    config = tmp_path / "c.toml"
    config.write_text('[voice]\nengine = "piper"\nvoice = "en-us+f3"\n')
    assert_one_line_error(cli("config", "check", config), "voice", "unknown Piper voice")
    config.write_text('[voice]\nvoice = "en-xx+nobody"\n')
    assert_one_line_error(cli("config", "check", config), "unknown voice")
    config.write_text('[voice]\nengine = "loud"\n')
    assert_one_line_error(cli("config", "check", config), "engine")


def test_voices_lists_each_engine_and_marks_the_one_that_speaks(cli) -> None:
    out = cli("voices", check=True).stdout
    assert out.startswith("speaking: piper (the neural voice en_US-joe-medium is installed)")
    assert "* en_US-joe-medium" in out and "en-us" in out and "variants:" in out and "gmw/en-us" in out


def test_a_broken_voice_file_falls_back_to_espeak_with_an_error_never_silence(cli, speech, tmp_path: Path) -> None:
    from conftest import read_events

    from assistant.audio.wavio import read_wav

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model at all")
    (tmp_path / "broken.onnx.json").write_text("{}")
    config = tmp_path / "c.toml"
    config.write_text(f'[voice]\nengine = "piper"\nvoice = "{broken}"\n')
    wav = speech.write(speech.scene(0.5, "Samantha, what time is it?", 4.0), "time.wav")
    events_path, out = tmp_path / "events.jsonl", tmp_path / "out.wav"
    result = cli("--config", config, "run", "--input", wav, "--output", out, "--events", events_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    events = read_events(events_path)
    errors = [e["message"] for e in events if e["type"] == "error"]
    assert len(errors) == 1 and "broken.onnx cannot be loaded" in errors[0] and "espeak-ng instead" in errors[0]
    assert [e["type"] for e in events].count("speak_start") == 1
    assert np.abs(read_wav(out)).max() > 0.1  # it spoke


def test_a_long_reply_starts_playing_before_its_last_sentence_is_rendered(sphinx, whisper, router, tmp_path: Path) -> None:
    import time
    from typing import Iterator

    from conftest import START

    from assistant.audio.wavio import WavSink
    from assistant.config import Settings
    from assistant.events import EventBus, EventLog
    from assistant.pipeline import Engines, Pipeline

    rendered: list[float] = []
    played: list[float] = []

    class TimedVoice(Voice):
        def sentences(self, text: str) -> Iterator[np.ndarray]:
            for pcm in super().sentences(text):
                rendered.append(time.perf_counter())
                yield pcm

    class TimedSink(WavSink):
        def play(self, pcm: np.ndarray, at: float) -> float:
            played.append(time.perf_counter())
            return super().play(pcm, at)

    log, bus = EventLog(), EventBus()
    bus.subscribe(log)
    voice = TimedVoice(VoiceSettings())
    voice.load()
    pipeline = Pipeline(Settings(), Engines(sphinx, whisper), router, voice, bus, START)
    pipeline.start(TimedSink(tmp_path / "out.wav"))
    pipeline.say("You have five new messages. One, from Anna Field: Lunch on Friday. Two, from the shop: your "
                 "order shipped. Three, from Paul: the invoice for November. Shall I go on?")
    assert len(rendered) == len(played) == 5
    assert played[0] < rendered[-1]  # the first sentence went to the sink while the last was still being made
    assert [e.type for e in log.events].count("speak_start") == 1


def test_say_output_writes_the_piper_voice(cli, whisper, tmp_path: Path) -> None:
    from assistant.audio.wavio import read_wav

    out = tmp_path / "say.wav"
    result = cli("-v", "say", "Good evening, Theodore. It's 3:30.", "--output", out, check=True)
    assert "speaking with piper" in result.stderr
    heard = for_speech(whisper.transcribe(read_wav(out)).text.lower())
    assert "good evening" in heard and "half past three" in heard, heard
