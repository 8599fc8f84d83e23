"""Telling the assistant's own voice, coming back through the mic, from the user talking.

Barge-in means listening while speaking, so whatever of the reply leaks from the speaker into
the mic (an open-back headset, laptop speakers, a loopback) must not count as the user. The
gate knows what was played and when (audio time, as the sink reports it: capture backlog and
output latency included), learns how loud it comes back at each delay (least squares on frame
powers), and flags each mic frame that the echo explains. A frame clearly louder than the
predicted echo passes: that is someone talking. File sinks need none of this: nothing they
write comes back into the input file.

It is no echo canceller (nothing is subtracted); with loudspeakers in a reverberant room
PulseAudio's module-echo-cancel in front of the assistant does better.
"""

from __future__ import annotations

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE

MAX_LAG_FRAMES = 25
"""Delays considered, in 20 ms frames (0.5 s): what the sink's start time leaves out (device
buffers, a loopback, the room)."""

MARGIN = 4.0
"""A frame passes when its power is this many times (6 dB) above the predicted echo."""

LEARNED_AFTER = 10
"""Audible reply frames seen at a delay before what was learned there is trusted; until then
the gate assumes the echo at that delay is as loud as the reply, so a first reply cannot
interrupt itself."""

MEMORY = 0.998
"""Per-frame decay of what was learned (about 10 s), so a moved headset is re-learned."""

AUDIBLE = 1e-6
"""Frame power (of float samples in -1..1) below which a reply frame counts as silence."""


class EchoGate:
    def __init__(self) -> None:
        self._ref = np.zeros(0)  # power of each played frame, from frame index _ref_start on
        self._ref_start = 0
        self._mic_ref = np.zeros(MAX_LAG_FRAMES + 1)  # Σ mic·ref per delay
        self._ref_ref = np.zeros(MAX_LAG_FRAMES + 1)  # Σ ref² per delay
        self._seen = np.zeros(MAX_LAG_FRAMES + 1)  # audible reply frames learned from, per delay

    def played(self, pcm: np.ndarray, start: float) -> None:
        """``pcm`` (int16) starts playing at audio time ``start``."""
        count = len(pcm) // FRAME_SAMPLES
        powers = _powers(pcm[: count * FRAME_SAMPLES].reshape(count, FRAME_SAMPLES)) if count else np.zeros(0)
        first = round(start * SAMPLE_RATE / FRAME_SAMPLES)
        end = max(first + count, self._ref_start + len(self._ref))
        keep_from = max(self._ref_start, first - MAX_LAG_FRAMES * 2)
        merged = np.zeros(end - keep_from)
        old = self._ref[keep_from - self._ref_start :] if keep_from >= self._ref_start else self._ref
        merged[: len(old)] = old[: len(merged)]
        merged[first - keep_from : first - keep_from + count] = powers
        self._ref, self._ref_start = merged, keep_from

    def stopped(self, at: float) -> None:
        """Playback was cut at audio time ``at``: nothing after it will come back."""
        cut = round(at * SAMPLE_RATE / FRAME_SAMPLES) - self._ref_start
        if 0 <= cut < len(self._ref):
            self._ref = self._ref[:cut]

    @property
    def active(self) -> bool:
        return len(self._ref) > 0

    def is_echo(self, frame: np.ndarray, t: float) -> bool:
        """Whether ``frame``, heard at audio time ``t`` (its end), is only our own voice coming back."""
        if not self.active:
            return False
        index = round(t * SAMPLE_RATE / FRAME_SAMPLES) - 1
        if index - self._ref_start - MAX_LAG_FRAMES >= len(self._ref):
            self._ref = np.zeros(0)  # the last reply is over and its echo too
            return False
        lagged = self._lagged(index)
        mic = float(_powers(frame[None, :])[0])
        predicted = self._predict(lagged)
        if mic > MARGIN * predicted:
            return False  # louder than any echo of ours: someone is talking (it teaches nothing)
        if lagged.max() > AUDIBLE:
            self._learn(mic, lagged)
        return True

    def _lagged(self, index: int) -> np.ndarray:
        """Power of the reply frame played ``lag`` frames before ``index``, for each lag."""
        positions = index - self._ref_start - np.arange(MAX_LAG_FRAMES + 1)
        valid = (positions >= 0) & (positions < len(self._ref))
        out = np.zeros(MAX_LAG_FRAMES + 1)
        out[valid] = self._ref[positions[valid]]
        return out

    def _predict(self, lagged: np.ndarray) -> float:
        """The loudest echo any delay could bring now (learned gain, or 1 where unlearned)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            gains = np.where(self._ref_ref > 0, self._mic_ref / self._ref_ref, 1.0)
        gains = np.where(self._seen >= LEARNED_AFTER, np.clip(gains, 0.0, None), 1.0)
        return float(np.max(gains * lagged))

    def _learn(self, mic: float, lagged: np.ndarray) -> None:
        self._mic_ref = self._mic_ref * MEMORY + mic * lagged
        self._ref_ref = self._ref_ref * MEMORY + lagged * lagged
        self._seen += lagged > AUDIBLE


def _powers(frames: np.ndarray) -> np.ndarray:
    samples = frames.astype(np.float64) / 32768.0
    return np.mean(samples * samples, axis=-1)
