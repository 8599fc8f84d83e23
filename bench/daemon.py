"""Daemon footprint: idle CPU and RSS on the virtual headset, and a file-mode soak.

1. Idle: the real daemon listens to a silent virtual mic for --idle-seconds (default 600);
   its CPU share of one core and RSS are compared with a plain sounddevice capture loop
   (the least any listener can cost) measured in the same run.
2. Soak: --soak-minutes (default 60) of mixed audio - commands with the wake word, real
   recordings without it, and silence - through `earpiece run --input`, as fast as the CPU
   allows; real-time factor, RSS growth after warm-up and error events are reported.

Run: .venv/bin/python bench/daemon.py [--idle-seconds N] [--soak-minutes N]
(writes the "Daemon" section of docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, VOICES, say, write_section

sys.path.insert(0, str(ROOT / "tests"))
from vheadset import VirtualHeadset  # noqa: E402

from assistant.audio import SAMPLE_RATE  # noqa: E402
from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import read_wav, write_wav  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
SHARED = ROOT.parent / "shared" / "speech"

CAPTURE_LOOP = """
import sounddevice as sd, time, sys
with sd.InputStream(device="pulse", samplerate=16000, channels=1, dtype="int16", blocksize=320,
                    callback=lambda *a: None):
    time.sleep(float(sys.argv[1]))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_idle(seconds: float, env: dict[str, str], config: Path) -> dict[str, float]:
    daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "daemon", "start",
                               "--foreground"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runtime = Path(env["XDG_RUNTIME_DIR"]) / "earpiece" / "control.sock"
    while not runtime.exists():
        assert daemon.poll() is None, "daemon died"
        time.sleep(0.1)
    time.sleep(5)  # let start-up work settle
    baseline = subprocess.Popen([sys.executable, "-c", CAPTURE_LOOP, str(seconds + 10)], env=env)
    time.sleep(3)
    d0, b0, t0 = cpu_seconds(daemon.pid), cpu_seconds(baseline.pid), time.monotonic()
    peak = 0.0
    while time.monotonic() - t0 < seconds:
        time.sleep(1)
        peak = max(peak, rss_mb(daemon.pid))
    elapsed = time.monotonic() - t0
    result = {
        "seconds": elapsed,
        "daemon_cpu": 100 * (cpu_seconds(daemon.pid) - d0) / elapsed,
        "baseline_cpu": 100 * (cpu_seconds(baseline.pid) - b0) / elapsed,
        "daemon_rss": rss_mb(daemon.pid), "daemon_rss_peak": peak, "baseline_rss": rss_mb(baseline.pid),
    }
    daemon.terminate()
    daemon.wait(30)
    baseline.kill()
    baseline.wait()
    return result


def soak_audio(minutes: float, path: Path) -> tuple[float, int]:
    commands = ["what time is it?", "what's the date?", "set a timer for ten seconds.", "what's your name?",
                "speak softer.", "turn the volume up.", "help."]
    recordings = [read_wav(p) for p in sorted(SHARED.glob("*.wav"))] if SHARED.is_dir() else []
    pieces, total, i = [], 0, 0
    target = int(minutes * 60 * SAMPLE_RATE)
    while total < target:
        voice = VOICES[i % len(VOICES)]
        block = [np.zeros(SAMPLE_RATE, np.float32), say(f"Samantha, {commands[i % len(commands)]}", voice),
                 np.zeros(10 * SAMPLE_RATE, np.float32)]
        if recordings:
            block += [recordings[i % len(recordings)], np.zeros(3 * SAMPLE_RATE, np.float32)]
        block.append(np.zeros(30 * SAMPLE_RATE, np.float32))
        for piece in block:
            pieces.append(piece)
            total += len(piece)
        i += 1
    write_wav(path, float_to_int16(np.concatenate(pieces)[:target]))
    return target / SAMPLE_RATE, i


def measure_soak(minutes: float, env: dict[str, str], work: Path) -> dict[str, float]:
    wav = work / "soak.wav"
    duration, commands = soak_audio(minutes, wav)
    events = work / "soak.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--input", str(wav), "--events", str(events)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    samples: list[tuple[float, float]] = []
    while proc.poll() is None:
        try:
            samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
        except FileNotFoundError:
            break
        time.sleep(0.5)
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr.read()  # type: ignore[union-attr]
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    warm = [rss for t, rss in samples if t >= 0.3 * wall] or [0.0]
    return {
        "audio_seconds": duration, "wall_seconds": wall, "realtime_factor": duration / wall, "commands": commands,
        "intents": sum(e["type"] == "intent" for e in lines), "errors": sum(e["type"] == "error" for e in lines),
        "rss_after_warmup": warm[0], "rss_end": warm[-1], "rss_growth": warm[-1] - warm[0],
        "rss_peak": max(r for _, r in samples) if samples else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=600)
    parser.add_argument("--soak-minutes", type=float, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ep-bench-", dir="/tmp"))
    headset = VirtualHeadset().start()
    env = dict(os.environ, **headset.client_env, XDG_RUNTIME_DIR=str(work / "run"),
               XDG_STATE_HOME=str(work / "state"), XDG_CONFIG_HOME=str(work / "config"))
    config = work / "config.toml"
    config.write_text('[audio]\ninput_device = "mic"\noutput_device = "spk"\n')
    try:
        idle = measure_idle(args.idle_seconds, env, config)
        soak = measure_soak(args.soak_minutes, env, work)
    finally:
        headset.stop()
    body = f"""Script: `bench/daemon.py --idle-seconds {args.idle_seconds:.0f} --soak-minutes {args.soak_minutes:.0f}`.

Idle on the virtual headset (silent mic, {idle['seconds']:.0f} s), percent of one core:

| process | CPU | RSS |
|---|---|---|
| earpiece daemon | {idle['daemon_cpu']:.2f} % | {idle['daemon_rss']:.0f} MB (peak {idle['daemon_rss_peak']:.0f} MB) |
| baseline: plain sounddevice capture loop, 20 ms blocks | {idle['baseline_cpu']:.2f} % | {idle['baseline_rss']:.0f} MB |
| ratio | {idle['daemon_cpu'] / max(idle['baseline_cpu'], 0.01):.1f}x | |

Soak: {soak['audio_seconds'] / 60:.0f} min of audio ({soak['commands']} commands with the wake word, real recordings
without it, silence) in {soak['wall_seconds']:.0f} s: **{soak['realtime_factor']:.1f}x real time**;
{soak['intents']} intents, {soak['errors']} error events; RSS {soak['rss_after_warmup']:.0f} MB after warm-up,
{soak['rss_end']:.0f} MB at the end (growth {soak['rss_growth']:+.1f} MB, peak {soak['rss_peak']:.0f} MB).

Goals: idle CPU <= 3 % of a core, RSS <= 250 MB, soak >= 20x real time, RSS growth < 10 MB.
"""
    print(body)
    write_section("Daemon", body)


if __name__ == "__main__":
    main()
