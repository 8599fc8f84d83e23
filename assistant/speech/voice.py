"""Speech output: text made for speaking, rendered by the chosen synthesizer a sentence at a
time, resampled once for the sink; never played by the synthesizer itself.

The synthesizer is loaded on first use and kept (a Piper voice is tens of megabytes), so one
``Voice`` serves a process: the daemon hands it on across reloads where [voice] is unchanged.
"""

from __future__ import annotations

import logging
import re
from typing import Iterator

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.audio.resample import float_to_int16, resample
from assistant.config import VoiceSettings
from assistant.errors import SpeechError
from assistant.speech.spoken_text import for_speech
from assistant.speech.synth import Chunk, Synthesizer, choose, load

log = logging.getLogger(__name__)

ONSET_LEVEL = 0.003
"""Peak (of full scale, about -50 dB) from which a reply's first sentence counts as sounding.
Piper opens a sentence with 50-70 ms of near silence and espeak-ng often with 50 ms: before the
first sentence that is only a later start (end of speech to the first sound, bench/voice_latency.py);
between sentences the pause is the sentence pause's job."""

ONSET_KEEP = 0.01
"""Seconds kept before the onset, so a soft first consonant is not clipped."""


def without_lead_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` from just before the first sample at ONSET_LEVEL (all of them if none is)."""
    loud = np.flatnonzero(np.abs(samples) >= ONSET_LEVEL)
    if not loud.size:
        return samples
    return samples[max(0, int(loud[0]) - int(ONSET_KEEP * rate)):]


PHRASE_REST_WORDS = 3
"""Words a first sentence must go on for after a comma, colon or semicolon for its first phrase
to be rendered on its own. A synthesizer renders a sentence whole before any of it can play,
and Piper takes about 25 ms plus 50 ms a second of speech (measured on this 2-core machine):
"It's Wednesday, the twenty-fifth of November." starts playing once "It's Wednesday," is ready,
and the rest is rendered while it plays."""


def first_phrase(text: str) -> tuple[str, str]:
    """``text`` split after its first sentence's first phrase ("It's Wednesday," and "the
    twenty-fifth of November."), or (``text``, "") where the sentence is too short to gain.
    A phrase of one word ("One, from Anna Field: ...") goes on to the next mark."""
    sentence_end = re.search(r"[.!?](?:\s|$)", text)
    limit = sentence_end.start() if sentence_end else len(text)
    for mark in re.finditer(r"[,;:](?=\s)", text[:limit]):
        if len(text[: mark.end()].split()) >= 2 and len(text[mark.end() : limit].split()) >= PHRASE_REST_WORDS:
            return text[: mark.end()], text[mark.end() :].strip()
    return text, ""


class Voice:
    """Turns reply text into 16 kHz mono int16 samples, a sentence at a time."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self._synth: Synthesizer | None = None
        self._volume = settings.volume
        self._problem = ""

    @property
    def engine(self) -> str:
        """Which engine speaks ("piper", "espeak", "pyttsx3")."""
        return self._synth.name if self._synth is not None else choose(self.settings)[0]

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = min(1.0, max(0.0, value))

    def load(self) -> Synthesizer:
        """Load the synthesizer now (the daemon does at start, so the first reply is not slow).
        A voice that cannot load (a missing or broken voice file) falls back to espeak-ng: the
        assistant goes on speaking, and ``problem`` says why once."""
        if self._synth is None:
            try:
                self._synth = load(self.settings)
            except SpeechError as exc:
                if choose(self.settings)[0] == "espeak":
                    raise
                log.warning("%s; speaking with espeak-ng instead", exc)
                self._synth = load(VoiceSettings(engine="espeak", rate=self.settings.rate,
                                                 sentence_pause=self.settings.sentence_pause))
                self._problem = f"{exc}; speaking with espeak-ng instead"
        return self._synth

    def take_problem(self) -> str:
        """Why the configured voice does not speak, once (for an ``error`` event); else ""."""
        problem, self._problem = self._problem, ""
        take = getattr(self._synth, "take_problem", None)  # a remote voice that failed mid-way
        return problem or (take() if take is not None else "")

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """``text`` spoken a sentence at a time at the sink's rate, the sentence pause before each
        but the first: the first can play while the next is rendered."""
        return (pcm for pcm, _rate in self.pieces(text))

    def pieces(self, text: str, rate: int | None = SAMPLE_RATE) -> Iterator[tuple[np.ndarray, int]]:
        """``text`` a sentence at a time as (int16 samples, their rate): at ``rate``, or where it
        is None at the synthesizer's own (a Wyoming client takes any rate: no resampling). Numbers,
        times, addresses and links are first written out the way a person says them
        (``for_speech``), whatever the engine."""
        spoken = for_speech(text)
        produced = False
        for chunk, goes_on in self._rendered(spoken):
            samples = chunk.samples if produced else without_lead_silence(chunk.samples, chunk.rate)
            out_rate = rate or chunk.rate
            samples = resample(samples, chunk.rate, out_rate) if chunk.rate != out_rate else samples
            if not samples.size:
                continue
            pcm = float_to_int16(samples * self._volume)
            if produced and not goes_on:  # the pause goes between sentences
                pcm = np.concatenate([np.zeros(int(self.settings.sentence_pause * out_rate), np.int16), pcm])
            yield pcm, out_rate
            produced = True
        if not produced and spoken.strip():
            raise SpeechError(f"speech synthesis produced no audio for {text!r}")

    def _rendered(self, spoken: str) -> Iterator[tuple[Chunk, bool]]:
        """The synthesizer's chunks of ``spoken``, its first phrase first (first_phrase), each
        with whether it goes on with the sentence of the one before (no sentence pause)."""
        synth = self.load()
        head, rest = first_phrase(spoken)
        for chunk in synth.render(head):
            yield chunk, False
        for index, chunk in enumerate(synth.render(rest) if rest else ()):
            yield chunk, index == 0

    def render(self, text: str) -> np.ndarray:
        """All of ``text`` as one piece of audio (``earpiece say``, tests)."""
        pieces = list(self.sentences(text))
        return np.concatenate(pieces) if pieces else np.zeros(0, np.int16)

    def close(self) -> None:
        self._synth = None
