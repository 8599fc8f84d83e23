"""Short generated tones that mark what the user cannot otherwise hear: "I'm listening" after a
bare wake word, and "I stopped listening" when nobody spoke in time."""

from __future__ import annotations

import numpy as np

from assistant.audio import SAMPLE_RATE

TONE_SECONDS = 0.07


def _tone(freq: float, volume: float) -> np.ndarray:
    t = np.arange(int(TONE_SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.minimum(1.0, np.minimum(t, TONE_SECONDS - t) / 0.01)  # 10 ms fades: no clicks
    return (0.25 * volume * envelope * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def earcon(kind: str, volume: float = 1.0) -> np.ndarray:
    """"wake": rising 660 -> 880 Hz; "end": falling 880 -> 660 Hz; int16 at 16 kHz."""
    low, high = _tone(660, volume), _tone(880, volume)
    pair = (low, high) if kind == "wake" else (high, low)
    return (np.concatenate(pair) * 32767).astype(np.int16)
