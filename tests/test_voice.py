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
from assistant.speech.voice import Voice


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


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_the_light_engines_still_speak(engine: str, whisper) -> None:
    pcm = Voice(VoiceSettings(engine=engine)).render("Good evening, Theodore.")
    assert len(pcm) > SAMPLE_RATE // 2
    assert "evening" in whisper.transcribe(pcm).text.lower()


def test_a_wrong_voice_is_a_clear_error(cli, tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="not found"):
        Voice(VoiceSettings(engine="piper", voice=str(tmp_path / "nobody.onnx"))).render("Hello.")
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
