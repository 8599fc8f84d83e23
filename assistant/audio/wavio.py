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
from assistant.audio.resample import StreamResampler, float_to_int16, resample, to_mono_float
from assistant.errors import AudioError

log = logging.getLogger(__name__)


def read_wav(path: str | Path) -> np.ndarray:
    """Read an audio file (any WAV flavour libsndfile knows: PCM, float, extensible; also FLAC/OGG)
    as 16 kHz mono float32."""
    path = Path(path)
    with _opened(path) as audio:
        rate = audio.samplerate
        data = np.concatenate(list(_blocks(audio, path, 60.0)) or [np.zeros((0, 1), np.float32)])
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
    """Frames from an audio file, followed by ``tail`` seconds of silence so a final utterance ends.

    The file is read a second at a time (resampled as a stream), so an hour-long recording
    costs no more memory than a short one.
    """

    BLOCK_SECONDS = 1.0

    def __init__(self, path: str | Path, tail: float = 1.0) -> None:
        self.path = Path(path)
        self._tail = int(tail * SAMPLE_RATE)
        with _opened(self.path) as audio:  # fail now, with the file's name, not mid-run
            if audio.frames == 0:
                raise AudioError(f"{self.path}: the WAV file holds no audio")

    def frames(self) -> Iterator[np.ndarray]:
        pending = np.zeros(0, np.int16)
        with _opened(self.path) as audio:
            resampler = StreamResampler(audio.samplerate)
            for block in _blocks(audio, self.path, self.BLOCK_SECONDS):
                pending = np.concatenate([pending, float_to_int16(resampler(block))])
                usable = len(pending) - len(pending) % FRAME_SAMPLES
                for start in range(0, usable, FRAME_SAMPLES):
                    yield pending[start : start + FRAME_SAMPLES]
                pending = pending[usable:]
            rest = np.concatenate([pending, float_to_int16(resampler.flush()), np.zeros(self._tail, np.int16)])
        rest = np.concatenate([rest, np.zeros(-len(rest) % FRAME_SAMPLES, np.int16)])
        for start in range(0, len(rest), FRAME_SAMPLES):
            yield rest[start : start + FRAME_SAMPLES]

    def close(self) -> None:
        """Nothing to release (the file is open only while frames are read)."""


def _blocks(audio: soundfile.SoundFile, path: Path, seconds: float) -> Iterator[np.ndarray]:
    """The file's samples as float32 (frames x channels), ``seconds`` at a time; a file that
    breaks off partway is an AudioError naming it."""
    try:
        yield from audio.blocks(blocksize=max(1, int(audio.samplerate * seconds)), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"{path}: unreadable part of the file ({exc})") from None


def _opened(path: Path) -> soundfile.SoundFile:
    """The file opened for reading, or an AudioError saying what is wrong with it."""
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not a WAV file")
    try:
        return soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable PCM WAV file ({exc}); convert it with: sox '{path}' -b 16 out.wav") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from None


class WavSink:
    """Collects replies on an audio-time line and writes them as one WAV on close."""

    echo_free = True
    """What it writes never comes back into the input (the pipeline needs no echo gate)."""

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

    def stop(self, at: float | None = None) -> None:
        """Cut what is placed after audio time ``at`` (barge-in): the file holds what a listener heard."""
        if at is None:
            return
        cut = int(at * SAMPLE_RATE)
        self._pieces = [(start, pcm[: max(0, cut - start)]) for start, pcm in self._pieces if start < cut]
        self._end = max((start + len(pcm) for start, pcm in self._pieces), default=0)

    def close(self, length: float = 0.0) -> None:
        if self.path is None:
            return
        total = max(self._end, int(length * SAMPLE_RATE))
        out = np.zeros(total, np.int16)
        for start, pcm in self._pieces:
            out[start : start + len(pcm)] = pcm
        write_wav(self.path, out)
        log.info("wrote %s (%.1f s)", self.path, total / SAMPLE_RATE)
