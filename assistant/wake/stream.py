"""Wake phrases found in an endless audio stream, each as soon as it is heard.

The Wyoming wake service (Home Assistant, wyoming-satellite) sends a stream and wants a
``detection`` the moment the name is said, so the command after it reaches the speech-to-text
service. The decision is the one the pipeline makes while idle (``WakeDecider``): the VAD cuts
utterances, the spotter and its glances decide mid-utterance, and where the spotter cannot (a
name it has no pronunciation for, or one it is unsure of) the utterance's reading decides at
its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.vad import UtteranceSegmenter
from assistant.config import Settings
from assistant.intents.router import Router
from assistant.speech.engines import Engines
from assistant.wake.decider import WakeDecider


@dataclass(frozen=True)
class StreamDetection:
    """A wake phrase heard in the stream."""

    phrase: str
    """The configured wake phrase."""

    seconds: float
    """When it was found: seconds of the stream heard by then (as other wake services stamp
    the audio chunk that held the detection)."""

    by: str
    """What decided (WakeDecision.by)."""


class StreamWakeDetector:
    """Feed 16 kHz int16 audio in any sizes; each call returns the wake phrases heard so far."""

    def __init__(self, settings: Settings, engines: Engines, router: Router,
                 phrases: tuple[str, ...] | None = None) -> None:
        audio = settings.audio
        self._segmenter = UtteranceSegmenter(audio.vad_aggressiveness, audio.end_silence, audio.max_utterance)
        self.decider = WakeDecider(phrases or settings.wake.words, settings.assistant.name, engines, router,
                                   utterance=self._segmenter.utterance, sensitivity=settings.wake.sensitivity_of,
                                   neural=settings.wake.neural)
        self._pending = np.zeros(0, np.int16)
        self._frames = 0
        """Frames of the stream heard so far."""
        self._decided = False
        """The current utterance is settled (a wake found, or taken as not a call)."""

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.decider.phrases

    def feed(self, audio: np.ndarray) -> list[StreamDetection]:
        self._pending = np.concatenate([self._pending, audio.astype(np.int16, copy=False)])
        whole = len(self._pending) // FRAME_SAMPLES * FRAME_SAMPLES
        frames, self._pending = self._pending[:whole], self._pending[whole:]
        found: list[StreamDetection] = []
        for at in range(0, whole, FRAME_SAMPLES):
            detection = self._frame(frames[at : at + FRAME_SAMPLES])
            if detection is not None:
                found.append(detection)
        return found

    def finish(self) -> list[StreamDetection]:
        """The stream ended: an utterance still open is decided as it stands."""
        if self._segmenter.flush().ended:
            detection = self._ended()
            return [detection] if detection is not None else []
        return []

    def _frame(self, frame: np.ndarray) -> StreamDetection | None:
        self._frames += 1
        update = self._segmenter.push(frame)
        if update.started:
            self._decided = False
            self.decider.begin()
        if not (self._segmenter.in_speech or update.ended) or self._decided:
            return None
        heard = len(self._segmenter.audio)
        if self.decider.spotting(idle=True):
            glance = self.decider.spot(update.frames, heard)
            if glance is not None and glance.decision is not None:
                self._decided = True
                return self._detection(glance.decision.phrase, glance.decision.by)
        if self.decider.not_for_us or self.decider.window_passed(heard, idle=True):
            self._decided = True
            return None
        return self._ended() if update.ended else None

    def _ended(self) -> StreamDetection | None:
        """The utterance is over and nothing woke mid-way: its reading decides, where the spotter
        did not already rule it out."""
        if self._decided or self.decider.gated(idle=True) or self.decider.engines.dictation is None:
            return None
        self._decided = True
        reading = self.decider.read(self._segmenter.utterance(), idle=True)
        hit = self.decider.call_in(reading.text)
        return self._detection(hit.phrase, "reading") if hit is not None else None

    def _detection(self, phrase: str, by: str) -> StreamDetection:
        return StreamDetection(phrase, self._frames * FRAME_SAMPLES / SAMPLE_RATE, by)
