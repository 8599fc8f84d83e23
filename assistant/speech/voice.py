"""Speech output: espeak-ng rendered to PCM, never played by the synthesizer itself.

The espeak-ng command renders each reply to a file: complete and the same every time.
pyttsx3 (the same espeak-ng library in-process) is the fallback where the command is
missing. Its quirks stay in this module: its own playback shells out to aplay (no device
choice, no barge-in), only the last ``save_to_file`` before ``runAndWait`` is written, each
save prints "Audio saved to ..." on stdout, and 2.99 writes the file before the last chunk
of samples arrives, so reply endings varied in length, and once in live mode (Whisper busy
on both cores) a whole reply came out empty.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import read_wav
from assistant.config import VoiceSettings
from assistant.errors import SpeechError
from assistant.speech.spoken_text import for_speech

log = logging.getLogger(__name__)


class Voice:
    """Turns reply text into 16 kHz mono int16 samples."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self._engine = None
        self._volume = settings.volume
        self._tmp = tempfile.TemporaryDirectory(prefix="earpiece-tts-")
        self._voice_checked = False

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
                _check_voice(self.settings.voice)
                engine.setProperty("voice", self.settings.voice)
            self._engine = engine
        return self._engine

    def render(self, text: str) -> np.ndarray:
        """``text`` as speech; numbers, times, addresses and links are first written out the way a
        person says them (``for_speech``), whatever the engine."""
        text = for_speech(text)
        path = Path(self._tmp.name) / "reply.wav"
        path.unlink(missing_ok=True)
        if shutil.which("espeak-ng"):
            self._render_with_espeak(text, path)
        else:
            engine = self._init()
            with contextlib.redirect_stdout(io.StringIO()):
                engine.save_to_file(text, str(path))
                engine.runAndWait()
        if not path.is_file() or path.stat().st_size <= 44:
            raise SpeechError(f"speech synthesis produced no audio for {text!r}")
        samples = read_wav(path) * self._volume
        return float_to_int16(samples)

    def _render_with_espeak(self, text: str, path: Path) -> None:
        if self.settings.voice and not self._voice_checked:
            _check_voice(self.settings.voice)
            self._voice_checked = True
        command = ["espeak-ng", "-s", str(self.settings.rate), "-w", str(path), "--stdin"]
        if self.settings.voice:
            command[1:1] = ["-v", self.settings.voice]
        try:
            subprocess.run(command, input=text, text=True, capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SpeechError(f"espeak-ng could not speak {text!r}: {exc}") from None

    def close(self) -> None:
        self._tmp.cleanup()


def _espeak_names(kind: str) -> set[str]:
    """Language codes, voice names and files that ``espeak-ng --voices[=variant]`` lists."""
    out = subprocess.run(["espeak-ng", f"--voices{kind}"], capture_output=True, text=True, timeout=10).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            names.update(c.casefold() for c in (columns[1], columns[3], columns[4], columns[4].split("/")[-1]))
    return names


def _check_voice(voice: str) -> None:
    """pyttsx3 ignores an unknown voice silently (espeak falls back); tell the user instead."""
    if not shutil.which("espeak-ng"):
        return  # the library works without the CLI; nothing to check against
    base, _, variant = voice.casefold().partition("+")
    if base not in _espeak_names("") or (variant and variant not in _espeak_names("=variant")):
        raise SpeechError(f'unknown voice "{voice}"; choose one from: espeak-ng --voices=en (variants: espeak-ng --voices=variant)')
