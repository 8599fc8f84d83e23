"""Vosk (Kaldi): the streaming engine when a Vosk model is installed."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from assistant.errors import ModelError, SpeechError
from assistant.intents.grammar import Grammar
from assistant.speech.engines import StreamingEngine, StreamingRecognizer, Transcript, WakeSpotter, Word, words_of

log = logging.getLogger(__name__)

UNKNOWN = "[unk]"


class VoskRecognizer(StreamingRecognizer):
    def __init__(self, recognizer: Any) -> None:
        self._rec = recognizer
        self._rec.SetWords(True)
        self._rec.SetPartialWords(True)
        self._done: list[dict[str, Any]] = []
        self._partial = ""

    def accept(self, frame: np.ndarray) -> str | None:
        if self._rec.AcceptWaveform(frame.astype(np.int16).tobytes()):
            # Vosk found its own endpoint inside our utterance: keep that piece, go on.
            self._done.append(json.loads(self._rec.Result()))
            text = self._joined("")
        else:
            text = self._joined(json.loads(self._rec.PartialResult()).get("partial", ""))
        if text != self._partial:
            self._partial = text
            return text
        return None

    def _joined(self, tail: str) -> str:
        return " ".join(p for p in [*(r.get("text", "") for r in self._done), tail] if p)

    def finish(self) -> Transcript:
        self._done.append(json.loads(self._rec.FinalResult()))
        words = tuple(
            Word(w["word"], float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
            for result in self._done
            for w in result.get("result", [])
            if w.get("word") != UNKNOWN
        )
        text = " ".join(w.text for w in words) if words else self._joined("")
        return Transcript(text.replace(UNKNOWN, "").strip(), words, "vosk")


class VoskSpotter(WakeSpotter):
    """A grammar of the wake phrases plus garbage (the model's [unk]): whatever is not a wake
    phrase comes out as garbage. A lenient phrase (sensitivity >= 0.5) counts as soon as a
    partial shows it; a strict one waits for Vosk's segment result and needs word confidences of
    at least 1 - sensitivity. Each occurrence is reported once, however the partials evolve."""

    def __init__(self, make_recognizer, phrases: "Mapping[str, float]") -> None:  # type: ignore[no-untyped-def]
        self._make = make_recognizer
        self._phrases = dict(phrases)
        self.reset()

    def accept(self, frame: np.ndarray) -> str | None:
        if self._rec.AcceptWaveform(frame.astype(np.int16).tobytes()):
            self._final += json.loads(self._rec.Result()).get("result", [])
            partial = ""
        else:
            partial = json.loads(self._rec.PartialResult()).get("partial", "")
        found = None
        for phrase, sensitivity in self._phrases.items():
            seen = _occurrences(phrase, self._final, 1 - sensitivity)
            if sensitivity >= 0.5:
                seen += _occurrences(phrase, [{"word": w} for w in partial.split()], 0.0)
            if seen > self._reported[phrase] and found is None:
                found = phrase
            self._reported[phrase] = max(seen, self._reported[phrase])  # a flickering partial is one hit
        return found

    def reset(self) -> None:
        self._rec = self._make()
        self._final: list[dict[str, Any]] = []
        self._reported = dict.fromkeys(self._phrases, 0)


def _occurrences(phrase: str, words: list[dict[str, Any]], min_confidence: float) -> int:
    wanted = phrase.split()
    said = [w.get("word", "") for w in words]
    return sum(
        said[start : start + len(wanted)] == wanted
        and min(float(w.get("conf", 1.0)) for w in words[start : start + len(wanted)]) >= min_confidence
        for start in range(len(said) - len(wanted) + 1)
    )


class VoskEngine(StreamingEngine):
    name = "vosk"

    def __init__(self, model_path: Path) -> None:
        try:
            import vosk
        except ImportError as exc:
            raise ModelError(f"Vosk is not installed ({exc}); pip install vosk") from None
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.model_path = model_path
        try:
            self._model = vosk.Model(str(model_path))
        except Exception as exc:  # vosk raises a bare Exception on a broken model
            raise ModelError(
                f"Vosk could not load the model at {model_path} ({exc}); check it with 'earpiece models verify'"
            ) from None
        self._has_unknown_word = self.knows(UNKNOWN)

    def knows(self, word: str) -> bool:
        return self._model.vosk_model_find_word(word) >= 0

    def spotter(self, phrases: "Mapping[str, float]", garbage: Sequence[str] = ()) -> WakeSpotter | None:
        """``garbage``: words that compete with the phrases; by default the model's [unk].
        Without any, every sound would be forced into a wake phrase with confidence 1."""
        cleaned = {" ".join(words_of(p)): s for p, s in phrases.items() if words_of(p)}
        garbage = list(garbage) or ([UNKNOWN] if self._has_unknown_word else [])
        if not cleaned or not garbage or self.unknown_words([*cleaned, *(g for g in garbage if g != UNKNOWN)]):
            return None
        grammar = json.dumps([*sorted(cleaned), *garbage], ensure_ascii=False)

        def make() -> Any:
            rec = self._vosk.KaldiRecognizer(self._model, 16000, grammar)
            rec.SetWords(True)
            return rec

        return VoskSpotter(make, cleaned)

    def recognizer(self, grammar: "Sequence[str] | Grammar | None" = None) -> StreamingRecognizer:
        if grammar:
            source = grammar.phrases if isinstance(grammar, Grammar) else grammar
            phrases = sorted({" ".join(words_of(p)) for p in source if words_of(p)})
            missing = self.unknown_words(phrases)
            if missing:
                raise SpeechError(f"the Vosk model {self.model_path} has no words: {', '.join(missing)}")
            # [unk] lets the recognizer say "none of these" instead of forcing a phrase.
            garbage = [UNKNOWN] if self._has_unknown_word else []
            rec = self._vosk.KaldiRecognizer(self._model, 16000, json.dumps([*phrases, *garbage], ensure_ascii=False))
        else:
            rec = self._vosk.KaldiRecognizer(self._model, 16000)
        return VoskRecognizer(rec)
