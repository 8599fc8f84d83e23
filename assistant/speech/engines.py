"""The one interface every recognizer speaks.

A streaming engine hears 16 kHz int16 frames as they arrive and gives partial and final
results; a dictation engine hears a finished utterance. Both return a ``Transcript``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from assistant.audio import FRAME_SAMPLES
from assistant.speech.phonetics import Phonetics

if TYPE_CHECKING:
    from assistant.intents.grammar import Grammar


@dataclass(frozen=True)
class Word:
    text: str
    """The word as recognized."""

    start: float
    """Seconds from the start of the utterance."""

    end: float
    """Seconds from the start of the utterance."""

    confidence: float
    """0..1; engines that have no real posterior report 1.0."""


@dataclass(frozen=True)
class Transcript:
    text: str
    """The recognized text, as the engine wrote it."""

    words: tuple[Word, ...] = field(default_factory=tuple)
    """Word timings and confidences, when the engine gives them."""

    engine: str = ""
    """Which engine produced it, for events and debugging."""

    @property
    def confidence(self) -> float:
        return min((w.confidence for w in self.words), default=1.0 if self.text else 0.0)


class StreamingRecognizer(ABC):
    """One utterance's worth of streaming recognition."""

    @abstractmethod
    def accept(self, frame: np.ndarray) -> str | None:
        """Feed int16 samples; return the new partial text when it changed, else None."""

    @abstractmethod
    def finish(self) -> Transcript:
        """End the utterance and return the final result."""

    def read(self, audio: np.ndarray) -> Transcript:
        """A whole, already recorded utterance at once (a second reading), then ``finish``."""
        for start in range(0, len(audio), FRAME_SAMPLES):
            self.accept(audio[start : start + FRAME_SAMPLES])
        return self.finish()


class WakeSpotter(ABC):
    """Listens for wake phrases in a stream of frames, cheaply: it runs on every idle utterance,
    so the expensive dictation engine only reads the ones that may start with a name."""

    @abstractmethod
    def accept(self, frame: np.ndarray) -> str | None:
        """Feed int16 samples; return the wake phrase spotted in them, if any."""

    @abstractmethod
    def reset(self) -> None:
        """Forget what was heard: a new utterance starts."""

    @property
    def warm(self) -> bool:
        """Whether a miss can be trusted yet (an engine that adapts to the mic may need some speech first)."""
        return True


class StreamingEngine(ABC):
    name: str

    open_vocabulary: bool = True
    """Whether ``recognizer()`` without a grammar works (PocketSphinx can be loaded without its
    language model when Whisper does the open recognition: 60 MB less)."""

    @abstractmethod
    def recognizer(self, grammar: Sequence[str] | None = None) -> StreamingRecognizer:
        """A recognizer for open speech, or restricted to ``grammar`` phrases (short commands)."""

    def spotter(self, phrases: "Mapping[str, float]") -> WakeSpotter | None:
        """A streaming spotter for ``phrases`` (phrase → sensitivity 0..1), or None when this
        engine cannot spot them all (then the dictation engine reads each idle utterance)."""
        return None

    def prepare(self, grammar: "Sequence[str] | Grammar") -> None:
        """Get ready to recognize ``grammar`` (compile it now), so the first recognizer for it
        costs no more than the next: the first command after a start need not wait for it."""

    def knows(self, word: str) -> bool:
        """Whether the engine can recognize ``word`` at all (its dictionary or vocabulary)."""
        return True

    def pronounce(self, word: str) -> list[str] | None:
        """The word's phones, when the engine has a pronouncing dictionary."""
        return None

    def sounds_alike(self, a: str, b: str) -> float:
        """0..1 likeness of two texts as spoken: phones where known, letters otherwise.

        "do pair it up" and "new paragraph" share few letters but many sounds, which is what
        matters when deciding whether a misheard utterance was a command.
        """
        import difflib

        return difflib.SequenceMatcher(None, self._sounds(a), self._sounds(b), autojunk=False).ratio()

    def _sounds(self, text: str) -> list[str]:
        sounds: list[str] = []
        for word in words_of(text):
            phones = self.pronounce(word)
            sounds += phones if phones else list(word)
        return sounds

    def unknown_words(self, phrases: Sequence[str]) -> list[str]:
        """Words of ``phrases`` the engine cannot recognize (so callers can warn)."""
        return sorted({w for p in phrases for w in words_of(p) if not self.knows(w)})


class DictationEngine(ABC):
    name: str

    @abstractmethod
    def transcribe(self, audio: np.ndarray, prompt: str = "", words: bool = False, careful: bool = False,
                   glance: bool = False, draft: bool = False, beam: int = 1) -> Transcript:
        """Transcribe a finished 16 kHz utterance (int16 or float32); ``words`` adds word timings
        and confidences, which cost extra time and only some callers need; ``careful`` asks for
        the engine's slower, surer reading, for a second opinion; ``glance`` for a quicker one
        where only the first words matter (is it the name?); ``draft`` for a quicker one of
        speech that may go on (a look-ahead at a pause); ``beam`` a wider search where the
        engine has one (dictated sentences)."""

    def transcribe_file(self, audio: np.ndarray, words: bool = False) -> Transcript:
        """A whole recording (``earpiece transcribe``): no latency budget, so the engine's most
        accurate reading; by default the ordinary one."""
        return self.transcribe(audio, words=words)

    def score(self, audio: np.ndarray, texts: Sequence[str], prompt: str = "") -> list[float] | None:
        """Log-likelihood of each of ``texts`` as the reading of ``audio``, comparable with one
        another; None when the engine cannot weigh given sentences."""
        return None


WORD = re.compile(r"[\w']+")
"""A word of a reading, for slicing it by words (its apostrophes kept)."""


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation, for matching what was heard."""
    return WORD.findall(text.casefold())


def without_loop(text: str, repeats: int = 3) -> str:
    """``text`` cut after the first round of a phrase, or of a run of two or three phrases, that
    comes round again and again: "come in, come in, come in, come" is "come in," (Whisper going
    round on the en-us+f3 voice's "Samantha" in bench/wake.py), which can then be weighed as the
    name; "What I visit, Samantha, What I visit, Samantha, What I" is "What I visit, Samantha,".
    A single phrase must come ``repeats`` times in a row (a last, cut-off round counts), a longer
    run twice in full. For idle speech only: someone may well dictate "no,
    no, no"."""
    parts = re.split(r"(?<=[,.!?])\s+", text.strip())
    phrases = [" ".join(words_of(part)) for part in parts]
    for start in range(len(phrases)):
        for size in (1, 2, 3):
            block = phrases[start : start + size]
            if len(block) < size or not all(block):
                break
            rounds, at = 1, start + size
            while at + size <= len(phrases) and phrases[at : at + size] == block:
                rounds, at = rounds + 1, at + size
            rest = phrases[at:]
            if size == 1 and len(rest) == 1 and block[0].startswith(rest[0]):
                rounds += 1  # the last round, cut off by the end of the audio
            if rounds >= (repeats if size == 1 else 2):
                return " ".join(parts[: start + size])
    return text


def without_restart(text: str, most: int = 3) -> str:
    """``text`` without its last words, at most ``most`` of them, where they only open it again
    ("What time is it, Samantha? What", "What time is it? Samantha What time is": Whisper
    starting over where the audio it reads ends, cut at a spotter's hit). More words must
    come before them than they have."""
    tokens = list(WORD.finditer(text))
    opening = [t.group(0).casefold() for t in tokens]
    for size in range(min(most, (len(tokens) - 1) // 2), 0, -1):
        if opening[len(opening) - size :] == opening[:size]:
            return text[: tokens[len(tokens) - size].start()].rstrip()
    return text


@dataclass(frozen=True)
class Engines:
    """The two recognizers one pipeline runs on."""

    streaming: StreamingEngine
    """Hears every frame: the wake spotter, partials, grammar-restricted re-readings."""

    dictation: DictationEngine | None
    """Transcribes finished utterances; None means the streaming result is final."""

    phonetics: Phonetics = field(default_factory=Phonetics)
    """How alike texts sound (a wake phrase the recognizer spelled otherwise)."""
