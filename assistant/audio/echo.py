"""Telling the assistant's own voice, coming back through the mic, from the user talking.

Barge-in means listening while speaking, so whatever of the reply leaks from the speaker into
the mic (an open-back headset, laptop speakers, a loopback) must not count as the user. The
gate knows what was played and when (audio time), learns how loud and how late it comes back
(least squares on frame powers, over a range of delays), and mutes each mic frame that the
echo explains. A frame clearly louder than the predicted echo passes: that is someone talking.

It is no echo canceller (nothing is subtracted); with loudspeakers in a reverberant room
PulseAudio's module-echo-cancel in front of the assistant does better.
"""

from __future__ import annotations

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE

MAX_LAG_FRAMES = 60
"""Delays considered, in 20 ms frames (1.2 s): output and input latency plus, in live mode, the
backlog of mic frames not yet processed when the reply was started."""

MARGIN = 4.0
"""A frame passes when its power is this many times (6 dB) above the predicted echo."""

LEARNED_AFTER = 25
"""Frames of audible reply before the learned echo path is trusted; until then the gate assumes
an echo as loud as the loudest recent reply frame, so a first reply cannot interrupt itself."""

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
        self._audible_frames = 0

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

    def gate(self, frame: np.ndarray, t: float) -> np.ndarray:
        """``frame`` as heard at audio time ``t`` (its end), or silence if it is only our echo."""
        if not self.active:
            return frame
        index = round(t * SAMPLE_RATE / FRAME_SAMPLES) - 1
        if index - self._ref_start - MAX_LAG_FRAMES >= len(self._ref):
            self._ref = np.zeros(0)  # the last reply is over and its echo too
            return frame
        lagged = self._lagged(index)
        mic = float(_powers(frame[None, :])[0])
        predicted = self._predict(lagged)
        if mic > MARGIN * predicted:
            return frame  # louder than any echo of ours: someone is talking (it teaches nothing)
        if lagged.max() > AUDIBLE:
            self._learn(mic, lagged)
        return np.zeros_like(frame)

    def _lagged(self, index: int) -> np.ndarray:
        """Power of the reply frame played ``lag`` frames before ``index``, for each lag."""
        positions = index - self._ref_start - np.arange(MAX_LAG_FRAMES + 1)
        valid = (positions >= 0) & (positions < len(self._ref))
        out = np.zeros(MAX_LAG_FRAMES + 1)
        out[valid] = self._ref[positions[valid]]
        return out

    def _predict(self, lagged: np.ndarray) -> float:
        if self._audible_frames < LEARNED_AFTER:
            return float(lagged.max())
        lag = self.lag_frames
        gain = self._mic_ref[lag] / self._ref_ref[lag] if self._ref_ref[lag] > 0 else 0.0
        return max(0.0, gain) * float(lagged[lag])

    @property
    def lag_frames(self) -> int:
        """The delay that best explains what came back (0 when nothing did)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(self._ref_ref > 0, self._mic_ref**2 / self._ref_ref, 0.0)
        return int(np.argmax(fit))

    def _learn(self, mic: float, lagged: np.ndarray) -> None:
        self._mic_ref = self._mic_ref * MEMORY + mic * lagged
        self._ref_ref = self._ref_ref * MEMORY + lagged * lagged
        self._audible_frames += 1


def _powers(frames: np.ndarray) -> np.ndarray:
    samples = frames.astype(np.float64) / 32768.0
    return np.mean(samples * samples, axis=-1)
