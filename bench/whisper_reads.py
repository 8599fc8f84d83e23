"""What one Whisper tiny.en read costs, with numpy's BLAS held to one thread (as the engine
runs) against BLAS left at its default, one thread a core (the baseline), in the same run; and
with CTranslate2 on one thread (speech.whisper_threads, the default) against one a core.

Whisper's features are a numpy matrix product; OpenBLAS's idle threads then spin on the cores
CTranslate2 wants for the encoder. The three kinds of read are those the assistant makes:
a glance (6 s window, the wake check), a plain read (15 s window, commands) and a careful one
(10 s window, the second opinion on talk that may hold the name).

Run: .venv/bin/python bench/whisper_reads.py [--rounds N]   (writes "Whisper reads" in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from common import ROOT, VOICES, read_wav, say, write_section
from assistant.speech.loader import load_dictation
from assistant.config import Settings

KINDS = {"glance": {"glance": True}, "plain": {}, "careful": {"careful": True}}
PROMPT = "Samantha"
SHARED = ROOT.parent / "shared" / "speech"


def clips() -> list[np.ndarray]:
    """Short utterances as the assistant reads them: 3 s of each real recording, and commands."""
    real = [audio[: 3 * 16000] for audio in map(read_wav, sorted(SHARED.glob("*.wav")))]
    spoken = [say(text, voice) for text, voice in (("Samantha, what time is it?", VOICES[0]),
                                                   ("Samantha, set a timer for ten minutes.", VOICES[1]),
                                                   ("Samantha, read my mail.", VOICES[2]))]
    return real + spoken


def measure(read: Callable[..., object], audio: np.ndarray, options: dict[str, bool], nudge: float) -> tuple[float, float]:
    """Wall clock and CPU time of one read (the audio nudged so no cached encoding is reused)."""
    audio = audio + np.float32(nudge)
    wall, cpu = time.perf_counter(), time.process_time()
    read(audio, prompt=PROMPT, **options)
    return time.perf_counter() - wall, time.process_time() - cpu


def table(results: dict[tuple[str, str], list[tuple[float, float]]], baseline: str) -> str:
    """Rows comparing the reads as run ("one") with ``baseline``'s, per kind of read."""
    rows = []
    for kind in KINDS:
        wall1, cpu1 = (1000 * statistics.median(m[i] for m in results[(kind, "one")]) for i in (0, 1))
        wall0, cpu0 = (1000 * statistics.median(m[i] for m in results[(kind, baseline)]) for i in (0, 1))
        rows.append(f"| {kind} | {wall1:.0f} ms / {cpu1:.0f} ms | {wall0:.0f} ms / {cpu0:.0f} ms "
                    f"| {wall1 / wall0:.2f}x / {cpu1 / cpu0:.2f}x |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = load_dictation(Settings())
    assert engine is not None, "no Whisper model"
    cores = min(4, os.cpu_count() or 1)
    per_core = load_dictation(replace(Settings(), speech=replace(Settings().speech, whisper_threads=cores)))
    assert per_core is not None
    audio = clips()
    engine.transcribe(audio[0], prompt=PROMPT)  # warm up
    unlimited = lambda samples, prompt, glance=False, careful=False: engine._transcribe(  # noqa: E731
        samples, prompt, False, careful, glance)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    nudge = 0.0
    for _ in range(args.rounds):
        for clip in audio:
            for kind, options in KINDS.items():
                reads = (("one", engine.transcribe), ("default", unlimited), ("per_core", per_core.transcribe))
                for label, read in reads:  # interleaved
                    nudge += 1e-6
                    results.setdefault((kind, label), []).append(measure(read, clip, options, nudge))
    body = f"""Script: `bench/whisper_reads.py` ({len(audio)} clips x {args.rounds} rounds, each read three ways
in turn; {os.cpu_count()} cores). Medians per read, wall clock / CPU time of the process.

| read | BLAS on one thread (as run) | BLAS default (baseline) | ratio |
|---|---|---|---|
{table(results, "default")}

| read | CTranslate2 on one thread (as run) | {cores} threads (baseline) | ratio |
|---|---|---|---|
{table(results, "per_core")}"""
    print(body)
    write_section("Whisper reads", body)


if __name__ == "__main__":
    main()
