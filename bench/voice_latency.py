"""End of speech to the first reply sample, as a user hears it, per voice engine; and the daemon's
RSS and idle CPU with each.

Measured from outside the process: the real daemon on the virtual headset, questions played
into its mic, and the mic feed and the speaker both recorded in one stereo file (left: what
goes into the mic, right: what comes out of the speaker; two loopbacks of equal latency into
one sink, so both sides share a clock). Latency = from the last voiced 10 ms frame of each
question to the first sounding frame of the reply. espeak-ng runs in the same run as the
baseline.

Run: .venv/bin/python bench/voice_latency.py [--repeats 3] [--engine piper]   (without --engine, writes "Voice latency" in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from common import ROOT, write_section
from daemon import cpu_seconds, rss_mb

sys.path.insert(0, str(ROOT / "tests"))
from speech import SpeechMaker  # noqa: E402
from vheadset import VirtualHeadset  # noqa: E402

QUESTIONS = ["Samantha, what time is it?", "Samantha, what's the date today?", "Samantha, what's your name?",
             "Samantha, set a timer for ten minutes.", "Samantha, do I have any new email?"]
GAP = 7.0
"""Seconds after each question for the reply to be said, before the next."""
FRAME = 160
"""10 ms at 16 kHz."""
VOICED = 0.02
"""Frame RMS above which a frame sounds (the virtual devices carry no noise)."""
IDLE_SECONDS = 60.0

RECORDING = [
    ("module-null-sink", "sink_name=rec", "rate=16000", "channels=2", "channel_map=front-left,front-right", "norewinds=1"),
    ("module-remap-sink", "sink_name=toleft", "master=rec", "channels=1", "master_channel_map=front-left", "channel_map=mono", "remix=no"),
    ("module-remap-sink", "sink_name=toright", "master=rec", "channels=1", "master_channel_map=front-right", "channel_map=mono", "remix=no"),
    ("module-loopback", "source=micfeed.monitor", "sink=toleft", "latency_msec=20"),
    ("module-loopback", "source=spk.monitor", "sink=toright", "latency_msec=20"),
]


def sounding(channel: np.ndarray) -> np.ndarray:
    frames = channel[: len(channel) // FRAME * FRAME].reshape(-1, FRAME)
    return np.sqrt((frames ** 2).mean(axis=1)) > VOICED


def latencies(recording: Path, questions: int) -> list[float]:
    """For each question: from its last voiced frame to the first sounding frame of the reply."""
    audio, rate = soundfile.read(str(recording))
    mic, spk = sounding(audio[:, 0]), sounding(audio[:, 1])
    found = []
    voiced = np.flatnonzero(mic)
    # the questions are the mic's voiced runs separated by more than 2 s
    breaks = np.flatnonzero(np.diff(voiced) > 200)
    ends = [voiced[b] for b in breaks] + ([voiced[-1]] if voiced.size else [])
    for end in ends[:questions]:
        after = np.flatnonzero(spk[end + 1 :])
        if after.size and after[0] < 600:  # a reply within 6 s
            found.append((after[0] + 1) * FRAME / rate)
    return found


def measure(engine: str, repeats: int, speech: SpeechMaker, tmp: Path) -> dict[str, object]:
    headset = VirtualHeadset().start()
    home = tmp / engine
    for name in ("config", "data", "state", "runtime"):
        (home / name).mkdir(parents=True, exist_ok=True)
    os.chmod(home / "runtime", 0o700)
    env = dict(headset.env(), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               XDG_STATE_HOME=str(home / "state"), XDG_RUNTIME_DIR=str(home / "runtime"), HOME=str(home))
    env.pop("EARPIECE_CONFIG", None)
    config = home / "config.toml"
    config.write_text(f'[audio]\ninput_device = "mic"\noutput_device = "spk"\n[voice]\nengine = "{engine}"\n')
    for module in RECORDING:
        assert headset.pactl("load-module", *module).returncode == 0, module
    daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "daemon", "start", "--foreground"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    recording = home / "both.wav"
    recorder = None
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([sys.executable, "-m", "assistant", "daemon", "status"], env=env,
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and daemon.poll() is None, "the daemon did not start"
            time.sleep(0.5)
        time.sleep(2.0)
        before = cpu_seconds(daemon.pid)
        time.sleep(IDLE_SECONDS)
        idle_cpu = 100 * (cpu_seconds(daemon.pid) - before) / IDLE_SECONDS
        idle_rss = rss_mb(daemon.pid)
        recorder = subprocess.Popen(["parecord", "--device=rec.monitor", "--file-format=wav", "--rate=16000",
                                     "--channels=2", "--format=s16le", str(recording)], env=headset.env())
        time.sleep(1.0)
        count = 0
        for _ in range(repeats):
            for question in QUESTIONS:
                wav = speech.write(speech.scene(0.3, question, 0.2), f"q{count}.wav")
                subprocess.run(["paplay", "--device=micfeed", str(wav)], env=headset.env(), check=True)
                time.sleep(GAP)
                count += 1
        rss_after = rss_mb(daemon.pid)
    finally:
        if recorder is not None:
            recorder.terminate()
            recorder.wait(10)
        subprocess.run([sys.executable, "-m", "assistant", "daemon", "stop"], env=env, capture_output=True)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        headset.stop()
    found = latencies(recording, count)
    return {"latencies": found, "asked": count, "idle_cpu": idle_cpu, "idle_rss": idle_rss, "rss_after": rss_after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=("espeak", "piper"),
                        help="measure one engine only and print it (docs/benchmarks.md is not written)")
    args = parser.parse_args()
    if args.engine:
        with tempfile.TemporaryDirectory(prefix="earpiece-voice-latency-") as tmp:
            result = measure(args.engine, args.repeats, SpeechMaker(Path(tmp) / "speech"), Path(tmp))
        values = sorted(result["latencies"])  # type: ignore[arg-type]
        print(f"{args.engine}: p50 {1000 * statistics.median(values):.0f} ms, "
              f"p95 {1000 * values[int(0.95 * (len(values) - 1))]:.0f} ms, {len(values)} of {result['asked']}, "
              f"idle CPU {result['idle_cpu']:.2f} %, idle RSS {result['idle_rss']:.0f} MB; "
              f"all: {[round(1000 * v) for v in values]}")
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="earpiece-voice-latency-") as tmp:
        speech = SpeechMaker(Path(tmp) / "speech")
        results = {engine: measure(engine, args.repeats, speech, Path(tmp)) for engine in ("espeak", "piper")}
    elapsed = time.monotonic() - started

    def row(engine: str) -> str:
        r = results[engine]
        values: list[float] = r["latencies"]  # type: ignore[assignment]
        p50 = statistics.median(values) if values else float("nan")
        p95 = sorted(values)[int(0.95 * (len(values) - 1))] if values else float("nan")
        return (f"| {engine} | {1000 * p50:.0f} ms | {1000 * p95:.0f} ms | {len(values)} of {r['asked']} | "
                f"{r['idle_cpu']:.2f} % | {r['idle_rss']:.0f} MB | {r['rss_after']:.0f} MB |")

    base = statistics.median(results["espeak"]["latencies"])  # type: ignore[arg-type]
    piper = statistics.median(results["piper"]["latencies"])  # type: ignore[arg-type]
    body = f"""Script: `bench/voice_latency.py --repeats {args.repeats}` ({len(QUESTIONS)} questions x {args.repeats} per engine, {elapsed:.0f} s).
The real daemon on the virtual headset; the mic feed and the speaker recorded in one stereo file; from
the last voiced 10 ms of each question to the first sound of its reply, as a user hears it:

| engine | end of speech to first reply sample, p50 | p95 | replies heard | idle CPU ({IDLE_SECONDS:.0f} s, one core) | idle RSS | RSS after the questions |
|---|---|---|---|---|---|---|
{row("espeak")}
{row("piper")}

Piper against espeak-ng (the baseline, same run): p50 {piper / base:.2f}x. Goals with Piper: p50 <= 450 ms, p95 <= 700 ms;
idle RSS <= 250 MB, idle CPU <= 3 %.

Idle RSS with Piper: its weights (63 MB, float32) and onnxruntime are resident from the start,
about 100 MB over espeak-ng. Taken off this stop (Dec 7, evening): the command grammar is compiled
to its minimal word graph (assistant/speech/word_graph.py): PocketSphinx built a lexical tree at
each of the 6,334 states of the grammar as written (null transitions, a copy per rule reference),
42 MB; the same sentences with the same scores fit in 339 states, 4 MB, and decode at about a
ninth of the CPU; and the calendar libraries are imported where a calendar is read (4 MB). The
run before: 304 MB idle, 487 MB after the questions. Taken off the stop before: the whole
pronouncing dictionary in each PocketSphinx decoder (22 MB apiece; assistant/speech/pronouncing.py)
and PyAV (17 MB, imported on first use). Tried before: onnxruntime without its memory arena (60 MB
less after the first replies) and without memory patterns (46 MB less after ten replies of
different lengths), both kept; onnxruntime without weight prepacking, at the basic graph
optimization level, or loading the model from bytes: no less (83 MB for the voice each way). What
the C library's heap keeps after it is freed goes back to the system (glibc's malloc_trim,
assistant/memory.py) after loading and whenever the assistant is idle again. Where the rest goes
(loaded one by one, in-process, trimmed): Python, numpy and the assistant's imports about 47 MB,
PocketSphinx with its wake spotter and the compiled grammar about 20 MB, Whisper tiny.en with
CTranslate2 75 MB (its int8 weights 46 MB, CTranslate2's library 13 MB, and faster-whisper's
tokenizer 10.5 MB: the Hugging Face BPE of Whisper's 50,257 tokens, which a hand-written tokenizer
could hold in about 1 MB: not done, as it would re-implement a library we use), onnxruntime and the
Piper voice about 120 MB (onnxruntime's library alone 20 MB of resident code). The ALSA plugins
that PortAudio loads while listing devices bring FFmpeg's codec library in (libavcodec and its
dependencies, a few MB): the system's ALSA configuration, left alone. After its first read
CTranslate2 keeps about 20 MB of buffers of its own (native: nothing of it is Python's), part of
the figure after the questions. Tried and dropped: the voice quantized to 8 bits (onnxruntime's
dynamic quantization: 18 MB of weights instead of 63, the first sentence rendered in 83 ms instead
of 106, but 84.0 % of reply words understood against 86.0 %, three rounds of bench/voice.py's
texts); rendering the answer ahead while Whisper reads the command (from the command grammar's
reading: p50 580 ms against 570 without, as Piper and Whisper then share the 2 cores). Not done:
unloading the voice when idle (the issue asks for it loaded once per process; loaded again at a
wake it would be ready before most commands end, 0.4 s of CPU each time).

Where the time goes (Dec 7, the Piper daemon probed on this rig, 10 questions): the last block
of the question reaches the daemon 0-100 ms after the voice stops (100 ms capture blocks);
Whisper's read of the command takes 170-200 ms; Piper renders the first sentence in 80-180 ms
(about 25 ms plus 50 ms a second of speech); the first sound is heard 40-140 ms after it is
written (a soft onset, and the rig). Taken off by the last two stops: the read starts on the
pause's first quiet frame where the command grammar already hears a whole command (was at 60 ms
of pause); no read at the comma pause after a bare name; the grammar is not given the rest of the
pause; a long first sentence plays its first phrase first ("It's Monday," then "the seventh of
December."); and the grammar decodes the command at about a ninth of the CPU (its minimal word
graph), so the frames it is behind on when the command ends are caught up on sooner (the run
before: p50 500 ms, p95 750).
"""
    print(body)
    write_section("Voice latency", body)


if __name__ == "__main__":
    main()
