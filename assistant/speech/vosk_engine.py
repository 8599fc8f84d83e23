"""Vosk (Kaldi): the streaming engine when a Vosk model is installed."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.errors import ModelError, SpeechError
from assistant.intents.grammar import Grammar
from assistant.speech.engines import StreamingEngine, StreamingRecognizer, Transcript, Word, words_of

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
