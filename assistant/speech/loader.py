"""Choosing and loading engines from the settings (the contract's "Speech engines")."""

from __future__ import annotations

import logging

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.speech.engines import DictationEngine, StreamingEngine
from assistant.speech.models import find_vosk_model, missing_files, search_dirs
from assistant.wyoming.address import is_address

log = logging.getLogger(__name__)


def streaming_choice(settings: Settings) -> str:
    """What "auto" (or the configured engine) resolves to, without loading anything."""
    if settings.speech.engine == "pocketsphinx":
        return "pocketsphinx"
    if settings.speech.engine == "vosk" or find_vosk_model(settings.speech.model):
        return "vosk"
    return "pocketsphinx"


def load_streaming(settings: Settings, engine: str | None = None, open_vocabulary: bool | None = None) -> StreamingEngine:
    """The streaming engine. Open-vocabulary recognition is loaded only where it is used: when
    the streaming engine's text is final (``dictation = "stream"``) or when asked for."""
    choice = engine or streaming_choice(settings)
    if open_vocabulary is None:
        open_vocabulary = settings.speech.dictation == "stream"
    if choice == "vosk":
        from assistant.speech.vosk_engine import VoskEngine

        model = settings.speech.model
        path = find_vosk_model(model)
        if path is None:
            where = ", ".join(str(d) for d in search_dirs())
            raise ModelError(f'Vosk model "{model}" is not installed (looked in {where}); '
                             f"install it with: earpiece models install {model}")
        problems = missing_files(path)
        if problems:
            raise ModelError(f"Vosk model at {path} is incomplete: missing {', '.join(problems)}; "
                             f"reinstall it with: earpiece models install --force {model}")
        return VoskEngine(path)
    from assistant.speech.sphinx_engine import SphinxEngine

    return SphinxEngine(open_vocabulary)


def load_dictation(settings: Settings) -> DictationEngine | None:
    """The Whisper engine, or None when dictation is set to the streaming engine."""
    if settings.speech.dictation == "stream":
        return None
    from assistant.speech.whisper_dictation import WhisperDictation, find_whisper_model

    def local() -> WhisperDictation:
        return WhisperDictation(find_whisper_model(settings.speech.whisper_model, search_dirs()),
                                settings.speech.whisper_threads)

    if is_address(settings.speech.dictation):
        from assistant.wyoming.remote import RemoteDictation

        remote = RemoteDictation(settings.speech.dictation, local)
        remote.local()  # loaded now: it weighs near misses, and answers at once where the server fails
        return remote
    return local()
