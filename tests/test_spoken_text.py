"""Text made for speaking (assistant/speech/spoken_text.py): one place, every voice."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import VoiceSettings
from assistant.speech.spoken_text import for_speech
from assistant.speech.voice import Voice


@pytest.mark.parametrize("written,said", [
    ("It's 3:30.", "It's half past three."),
    ("Lunch at 12:05 pm.", "Lunch at five past twelve in the afternoon."),
    ("At 9:15 a.m. sharp, or 6:40 P.M.", "At quarter past nine in the morning sharp, or twenty to seven in the evening."),
    ("Due 2026-12-06.", "Due the sixth of December twenty twenty-six."),
    ("Write to anna.field@example.org.", "Write to anna dot field at example dot org."),
    ("See https://www.example.org/menu?x=1, then call.", "See a link to example dot org, then call."),
    ("You have 3 new messages.", "You have three new messages."),
    ("It costs $5.99, or 20%.", "It costs five dollars and ninety-nine cents, or twenty percent."),
    ("Call 5550100.", "Call five five five zero one zero zero."),
    ("Code 0042.", "Code zero zero four two."),
    ("The 25th, 1,500 people, 3.14 miles.", "The twenty-fifth, one thousand five hundred people, three point one four miles."),
    ("Nothing to change here.", "Nothing to change here."),
])
def test_what_a_synthesizer_would_misread_is_written_out(written: str, said: str) -> None:
    assert for_speech(written) == said


def test_every_reply_is_spoken_as_written_out() -> None:
    # the voice renders "3:30" exactly as it renders the words a person says for it (espeak-ng
    # is deterministic, where Piper's timbre has noise): the text is prepared inside the voice,
    # before any engine, for every caller
    voice = Voice(VoiceSettings(engine="espeak"))
    try:
        written = voice.render("Your meeting is at 3:30 with anna@example.org.")
        words = voice.render("Your meeting is at half past three with anna at example dot org.")
        assert np.array_equal(written, words)
        assert not np.array_equal(written, voice.render("Your meeting is at three thirty with anna at example dot org."))
    finally:
        voice.close()
