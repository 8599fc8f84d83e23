"""Speech output: pyttsx3 (espeak-ng) rendered to PCM, never played by pyttsx3 itself.

pyttsx3's quirks stay in this module: its own playback shells out to aplay (no device
choice, no barge-in), only the last ``save_to_file`` before ``runAndWait`` is written,
and each save prints "Audio saved to ..." on stdout. So: one file per call, stdout
swallowed, and the PCM goes back to the pipeline to play through sounddevice.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path

import numpy as np

from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import read_wav
from assistant.config import VoiceSettings
from assistant.errors import SpeechError

log = logging.getLogger(__name__)


class Voice:
    """Turns reply text into 16 kHz mono int16 samples."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self._engine = None
        self._volume = settings.volume
        self._tmp = tempfile.TemporaryDirectory(prefix="earpiece-tts-")

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = min(1.0, max(0.0, value))

    def _init(self):  # type: ignore[no-untyped-def]
        if self._engine is None:
            try:
                import pyttsx3

                with contextlib.redirect_stdout(io.StringIO()):
                    engine = pyttsx3.init("espeak")
            except Exception as exc:  # pyttsx3 raises various errors when espeak-ng is missing
                raise SpeechError(f"speech output is unavailable ({exc}); install it with: apt-get install espeak-ng") from None
            engine.setProperty("rate", self.settings.rate)
            if self.settings.voice:
                try:
                    engine.setProperty("voice", self.settings.voice)
                except Exception as exc:
                    raise SpeechError(f'unknown voice "{self.settings.voice}" ({exc}); see: espeak-ng --voices=en') from None
            self._engine = engine
        return self._engine

    def render(self, text: str) -> np.ndarray:
        engine = self._init()
        path = Path(self._tmp.name) / "reply.wav"
        path.unlink(missing_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(text, str(path))
            engine.runAndWait()
        if not path.is_file() or path.stat().st_size <= 44:
            raise SpeechError(f"speech synthesis produced no audio for {text!r}")
        samples = read_wav(path) * self._volume
        return float_to_int16(samples)

    def close(self) -> None:
        self._tmp.cleanup()
