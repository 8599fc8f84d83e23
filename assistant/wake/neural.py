"""A neural wake word spotter where one exists: microWakeWord models that PyPI's pymicro-wakeword bundles.

Each model was trained for one phrase on thousands of synthetic and real voices, runs on its own
TensorFlow Lite runtime in about 0.25 % of a core, and needs no warm-up (the PocketSphinx
spotter's cepstral mean must adapt to the voice first). So a configured wake phrase that has a
bundled model is spotted by it, and its hits are trusted without a Whisper double-check; every
other phrase keeps the text-configured path (PocketSphinx keyphrases, then Whisper).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from assistant.errors import ModelError
from assistant.speech.engines import StreamingEngine, WakeSpotter, words_of

log = logging.getLogger(__name__)

BUNDLED = {"alexa": "alexa", "hey jarvis": "hey_jarvis", "hey mycroft": "hey_mycroft", "okay nabu": "okay_nabu"}
"""Wake phrases (as words) with a model bundled in pymicro-wakeword, and the model's name there."""

CUTOFF_SPAN = 0.2
"""How far the sensitivity (0..1, 0.5 = the model's own cutoff) moves a model's probability cutoff
either way: sensitivity 1 lowers it by this much, sensitivity 0 raises it (at most to 0.99)."""


def bundled_model(phrase: str) -> str | None:
    """The bundled model for ``phrase`` ("Hey, Jarvis" -> "hey_jarvis"), or None."""
    return BUNDLED.get(" ".join(words_of(phrase)))


@dataclass
class _Model:
    phrase: str
    """The configured phrase (as words) it answers for."""

    detector: object
    """The pymicro_wakeword.MicroWakeWord."""

    cutoff: float
    """Probability (averaged over the model's sliding window) above which it fires."""


class NeuralSpotter(WakeSpotter):
    """microWakeWord models for some wake phrases, on one shared feature front end."""

    def __init__(self, phrases: Mapping[str, float]) -> None:
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
        except ImportError as exc:
            raise ModelError(f"pymicro-wakeword is not installed ({exc}); pip install pymicro-wakeword") from None
        self._models: list[_Model] = []
        for phrase, sensitivity in phrases.items():
            name = bundled_model(phrase)
            if name is None:
                raise ModelError(f"no bundled microWakeWord model for {phrase!r}; bundled: {', '.join(BUNDLED)}")
            try:
                detector = MicroWakeWord.from_builtin(Model(name))
            except Exception as exc:  # a broken wheel: the text path still serves the phrase
                raise ModelError(f"the microWakeWord model {name!r} cannot be loaded: {exc}") from None
            cutoff = min(0.99, max(0.05, detector.probability_cutoff + (0.5 - sensitivity) * 2 * CUTOFF_SPAN))
            self._models.append(_Model(" ".join(words_of(phrase)), detector, cutoff))
        self._features = MicroWakeWordFeatures()

    @property
    def warm(self) -> bool:
        return True  # trained on many voices; nothing to adapt

    def accept(self, frame: np.ndarray) -> str | None:
        hit: str | None = None
        for features in self._features.process_streaming(frame.astype(np.int16).tobytes()):
            for model in self._models:
                probability = model.detector.process_streaming_prob(features)  # type: ignore[attr-defined]
                if hit is None and probability is not None and probability > model.cutoff:
                    hit = model.phrase
        return hit

    def reset(self) -> None:
        """A new utterance: the models' streaming state and averages start afresh (0.2 ms each)."""
        self._features.reset()
        for model in self._models:
            model.detector.reset()  # type: ignore[attr-defined]


class CombinedSpotter(WakeSpotter):
    """Several spotters heard as one: the neural one for its phrases, the engine's for the rest."""

    def __init__(self, spotters: Sequence[WakeSpotter], gates: bool = True) -> None:
        self.spotters = list(spotters)
        self.gates = gates
        """False where some phrase has no spotter: then none may decide alone that an
        utterance is not for us (the dictation engine reads each one's start)."""

    @property
    def warm(self) -> bool:
        return self.gates and all(spotter.warm for spotter in self.spotters)

    def accept(self, frame: np.ndarray) -> str | None:
        hits = [spotter.accept(frame) for spotter in self.spotters]
        return next((hit for hit in hits if hit is not None), None)

    def reset(self) -> None:
        for spotter in self.spotters:
            spotter.reset()


def serving(phrase: str, neural: bool, streaming: StreamingEngine, dictation: bool) -> str:
    """Which path hears ``phrase`` (earpiece wake list), as WakeDecider builds it: ``neural`` as
    the config's wake.neural, ``dictation`` whether a dictation engine is configured."""
    model = bundled_model(phrase)
    if neural and model is not None and dictation:
        try:
            NeuralSpotter({phrase: 0.5})
            return f"microWakeWord model {model!r} (neural, trusted alone)"
        except ModelError as exc:
            log.warning("%s", exc)
    if not dictation:
        return f"{streaming.name} transcript of every utterance"
    unknown = streaming.unknown_words([phrase])
    if unknown:
        return f"Whisper reads the start of every idle utterance ({streaming.name} lacks {', '.join(unknown)})"
    return f"{streaming.name} keyphrase spotter, each hit checked by Whisper"
