"""Shared pieces for the benchmarks: synthetic speech and running the real pipeline in file mode."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio import SAMPLE_RATE  # noqa: E402
from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import WavSink, WavSource, read_wav, write_wav  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.events import EventBus, EventLog  # noqa: E402
from assistant.intents.router import Router  # noqa: E402
from assistant.pipeline import Engines, Pipeline  # noqa: E402
from assistant.speech.loader import load_dictation, load_streaming  # noqa: E402
from assistant.speech.voice import Voice as Tts  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "earpiece-bench-speech"


@dataclass(frozen=True)
class Voice:
    name: str
    rate: int
    pitch: int


VOICES = (Voice("en-us", 160, 50), Voice("en-us+f3", 150, 60), Voice("en-gb", 175, 40),
          Voice("en-us+m3", 185, 45), Voice("en-gb-x-rp", 140, 55))


def say(text: str, voice: Voice) -> np.ndarray:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / (hashlib.sha1(f"{text}|{voice}".encode()).hexdigest()[:16] + ".wav")
    if not path.exists():
        subprocess.run(["espeak-ng", "-v", voice.name, "-s", str(voice.rate), "-p", str(voice.pitch), "-w", str(path), text],
                       check=True, capture_output=True)
    return read_wav(path)


def speech_end(audio: np.ndarray, threshold: float = 0.01) -> float:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return (loud[-1] + 1) / SAMPLE_RATE if loud.size else 0.0


def with_noise(audio: np.ndarray, rms: float, seed: int) -> np.ndarray:
    if not rms:
        return audio
    return audio + np.random.default_rng(seed).normal(0, rms, len(audio)).astype(np.float32)


class Runner:
    """One set of loaded engines; each run is a fresh pipeline on one WAV, as `earpiece run --input` does."""

    def __init__(self, use_grammar: bool = True, open_vocabulary: bool | None = None) -> None:
        settings = Settings()
        self.settings = settings
        self.engines = Engines(load_streaming(settings, open_vocabulary=open_vocabulary), load_dictation(settings))
        self.router = Router.for_config_dir(None)
        self.tts = Tts(settings.voice)
        self.use_grammar = use_grammar
        self.tmp = Path(tempfile.mkdtemp(prefix="earpiece-bench-"))

    def run(self, audio: np.ndarray, start: datetime = datetime(2026, 11, 25, 15, 10)) -> list[dict[str, Any]]:
        wav = self.tmp / "in.wav"
        write_wav(wav, float_to_int16(audio))
        log = EventLog()
        bus = EventBus()
        bus.subscribe(log)
        Pipeline(self.settings, self.engines, self.router, self.tts, bus, start, use_grammar=self.use_grammar).run(
            WavSource(wav), WavSink(None))
        return [e.to_dict() for e in log.events]


def write_section(title: str, body: str) -> None:
    """Replace (or add) one '## title' section of docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    text = path.read_text() if path.exists() else "# Benchmarks\n\nEach section is written by the script named in it; rerun it to refresh.\n"
    marker = f"\n## {title}\n"
    if marker in text:
        before, rest = text.split(marker, 1)
        after = rest[rest.find("\n## ") :] if "\n## " in rest else "\n"
        text = before + marker + body.strip() + "\n" + after
    else:
        text = text.rstrip("\n") + "\n" + marker + body.strip() + "\n"
    path.write_text(text)
