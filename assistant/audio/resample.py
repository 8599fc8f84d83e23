"""Sample-rate and channel conversion with soxr (a real band-limited resampler)."""

from __future__ import annotations

import numpy as np
import soxr

from assistant.audio import SAMPLE_RATE


def to_mono_float(samples: np.ndarray) -> np.ndarray:
    """Any int/float PCM array (frames x channels or 1-D) to mono float32 in [-1, 1]."""
    data = np.asarray(samples)
    if data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        scale = float(max(abs(info.min), info.max + 1))
        offset = 0.0 if data.dtype.kind == "i" else scale / 2
        data = (data.astype(np.float32) - offset) / (scale if data.dtype.kind == "i" else scale / 2)
    else:
        data = data.astype(np.float32)
    if data.ndim == 2:
        # one channel (the capture callback's case, ten times a second) needs no averaging
        data = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    return data


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def resample(samples: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 at ``rate_in`` to mono float32 at ``rate_out``."""
    if rate_in == rate_out:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, rate_in, rate_out, quality="HQ").astype(np.float32)


class StreamResampler:
    """Chunk-by-chunk conversion for live capture at a device's native rate."""

    def __init__(self, rate_in: int, rate_out: int = SAMPLE_RATE) -> None:
        self._passthrough = rate_in == rate_out
        self._stream = None if self._passthrough else soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32")

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        mono = to_mono_float(chunk)
        if self._stream is None:
            return mono
        return self._stream.resample_chunk(mono)

    def flush(self) -> np.ndarray:
        """The resampler's last samples, at the end of the input."""
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
