"""WAV file source and sink: the headless ends of the same pipeline.

The source yields exactly the frames a microphone would (16 kHz mono int16, 20 ms);
the sink places each reply at the audio time it was spoken, so the output lines up
with the input and can be checked by ear or by a recognizer.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.resample import float_to_int16, resample, to_mono_float
from assistant.errors import AudioError

log = logging.getLogger(__name__)


def read_wav(path: str | Path) -> np.ndarray:
    """Read an audio file (any WAV flavour libsndfile knows: PCM, float, extensible; also FLAC/OGG)
    as 16 kHz mono float32."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not a WAV file")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable PCM WAV file ({exc}); convert it with: sox '{path}' -b 16 out.wav") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data.size == 0:
        raise AudioError(f"{path}: the WAV file holds no audio")
    return resample(to_mono_float(data), rate, SAMPLE_RATE)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write mono int16 (or float, converted) samples."""
    pcm = samples if samples.dtype == np.int16 else float_to_int16(samples)
    try:
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm.tobytes())
    except OSError as exc:
        raise AudioError(f"{path}: cannot write: {exc.strerror or exc}") from None


class WavSource:
    """Frames from a WAV file, followed by ``tail`` seconds of silence so a final utterance ends."""

    def __init__(self, path: str | Path, tail: float = 1.0) -> None:
        self.path = Path(path)
        self._audio = float_to_int16(read_wav(self.path))
        self._tail = int(tail * SAMPLE_RATE)

    def frames(self) -> Iterator[np.ndarray]:
        audio = np.concatenate([self._audio, np.zeros(self._tail, np.int16)])
        padded = -len(audio) % FRAME_SAMPLES
        audio = np.concatenate([audio, np.zeros(padded, np.int16)])
        for start in range(0, len(audio), FRAME_SAMPLES):
            yield audio[start : start + FRAME_SAMPLES]

    def close(self) -> None:
        """Nothing to release; here so sources share one shape."""


class WavSink:
    """Collects replies on an audio-time line and writes them as one WAV on close."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._pieces: list[tuple[int, np.ndarray]] = []
        self._end = 0

    def play(self, pcm: np.ndarray, at: float) -> float:
        """Place ``pcm`` at audio time ``at`` (or right after the previous reply); return its start."""
        start = max(int(at * SAMPLE_RATE), self._end)
        self._pieces.append((start, pcm))
        self._end = start + len(pcm)
        return start / SAMPLE_RATE

    def stop(self) -> None:
        """Playback to a file is instant; nothing to interrupt."""

    def close(self, length: float = 0.0) -> None:
        if self.path is None:
            return
        total = max(self._end, int(length * SAMPLE_RATE))
        out = np.zeros(total, np.int16)
        for start, pcm in self._pieces:
            out[start : start + len(pcm)] = pcm
        write_wav(self.path, out)
        log.info("wrote %s (%.1f s)", self.path, total / SAMPLE_RATE)
