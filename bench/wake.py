"""Wake word: misses, false wakes, idle CPU and latency, on a tuning half and a held-back half.

Every figure is measured twice: on the voices the wake decision was tuned on (VOICES in
bench/common.py) and on a held-back half (HELD_BACK_VOICES: other espeak-ng variants and
accents, and the neural Piper voice) that is never traced while tuning. A change counts only
where the held-back column gains too.

1. Misses: "Samantha" then a command, in one breath (0.05 s) or after a pause (0.8 s), from each
   half's voices at two rates, clean and with noise, plus the real recordings in
   ../shared/speech with the name spoken before them. One long file-mode run per voice, as a
   daemon would hear them (the spotter adapts to the voice over the first seconds of speech);
   replies have no follow-up window, so every clip must wake the assistant by itself.
2. False wakes: the real recordings and long synthesized passages full of near-misses
   ("Amanda", "Samuel", "semantic", "Atlanta", "I told Samantha"), none starting with the name;
   then the passages and a few more near-misses again, each voice faster and slower, at another
   pitch, over a little background noise (12 more minutes).
   A wake taken at a spotter hit and withdrawn when the utterance ends (nothing said or played)
   is counted apart, and is no hit in part 1 either.
3. Idle CPU: the real daemon on the virtual headset listening to silence, then to one whole
   pass of the real recordings and of the near-miss passages, each played into the mic in a
   loop, against a plain sounddevice capture loop measured at the same time (the least any
   listener can cost).
4. Latency: end of the name (known, since the clip is built from it) to the `wake` event, on a
   simulated live clock (frames arrive every 20 ms and queue behind slow ones), and in audio time.

Run: .venv/bin/python bench/wake.py [--quick] [--cpu-seconds N] [--talk-seconds N]   (writes "Wake word" in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from common import HELD_BACK_VOICES, ROOT, VOICES, Runner, Voice, say, speech_end, with_noise, write_section

sys.path.insert(0, str(ROOT / "tests"))
from daemon import CAPTURE_LOOP, SHARED, cpu_seconds  # noqa: E402
from vheadset import VirtualHeadset  # noqa: E402

from assistant.audio import SAMPLE_RATE  # noqa: E402
from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import read_wav, write_wav  # noqa: E402
from assistant.config import parse_text  # noqa: E402

COMMANDS = ("what time is it?", "what's the date today?", "set a timer for ten minutes.", "read my email.")
GAPS = (0.05, 0.8)  # one breath; a pause after the name
NOISE = (0.0, 0.01)
SPACING = 7.0  # seconds of silence after each clip: reply, guard, and back to idle
PASSAGES = (
    "Amanda said the semantic web was a fine idea, but nobody in Atlanta believed her.",
    "I told Samantha about the meeting yesterday, and she laughed at the whole thing.",
    "Samuel and his mother walked to the market, where the bananas were cheap and the mangoes were not.",
    "The manager asked for a summary of the quarterly numbers before the end of the week.",
    "Some of the mountains in Montana are covered in snow until the middle of summer.",
    "We spent the evening talking about music, about books, and about the time we missed the train.",
    "Please remember to water the plants and to feed the cat while I am away in Santa Monica.",
    "The semantics of that sentence are unclear, said the teacher, and the students agreed with her.",
)
MORE_PASSAGES = (
    "Samuel Adams was a brewer, or so the label on the bottle told me.",
    "Some of them came early and some of them came late, but all of them were hungry.",
    "The semester ended on a Monday, and the manager of the canteen closed it at once.",
    "Santa Ana winds blew across the valley all afternoon.",
    "I said to Amanda that the sandwich was the best thing on the menu.",
    "Summer in Atlanta is humid, so we stayed inside with the fan on.",
)


def bench_settings():  # type: ignore[no-untyped-def]
    return parse_text("[wake]\nfollow_up = 0.0\n", Path("bench-wake.toml"))


def wake_clips(voice: Voice, noise: float, seed: int) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """One file of wake clips for a voice; returns it and (name end, clip end, label) per clip."""
    pieces: list[np.ndarray] = [np.zeros(SAMPLE_RATE // 2, np.float32)]
    marks: list[tuple[float, float, str]] = []
    for rate in (voice.rate, voice.rate + 40):
        spoken = Voice(voice.name, rate, voice.pitch)
        name = say("Samantha", spoken)
        name = name[: int(speech_end(name) * SAMPLE_RATE)]
        for gap in GAPS:
            for command in COMMANDS:
                at = sum(len(p) for p in pieces) / SAMPLE_RATE
                clip = np.concatenate([name, np.zeros(int(gap * SAMPLE_RATE), np.float32), say(command, spoken)])
                pieces += [clip, np.zeros(int(SPACING * SAMPLE_RATE), np.float32)]
                marks.append((at + len(name) / SAMPLE_RATE, at + len(clip) / SAMPLE_RATE, f"{rate} wpm, gap {gap}"))
    audio = np.concatenate(pieces)
    return with_noise(audio, noise, seed), marks


def real_clips(voice: Voice) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The real recordings, each after the name (the name is synthesized: no recording of it exists here)."""
    name = say("Samantha", voice)
    name = name[: int(speech_end(name) * SAMPLE_RATE)]
    pieces: list[np.ndarray] = [np.zeros(SAMPLE_RATE // 2, np.float32)]
    marks = []
    for path in sorted(SHARED.glob("*.wav")):
        recording = read_wav(path)[: 6 * SAMPLE_RATE]
        scale = 0.3 / max(1e-3, float(np.abs(recording).max()))
        at = sum(len(p) for p in pieces) / SAMPLE_RATE
        clip = np.concatenate([name * (0.3 / max(1e-3, float(np.abs(name).max()))), np.zeros(1600, np.float32),
                               recording * scale])
        pieces += [clip, np.zeros(int(SPACING * SAMPLE_RATE), np.float32)]
        marks.append((at + len(name) / SAMPLE_RATE, at + len(clip) / SAMPLE_RATE, path.stem))
    return np.concatenate(pieces), marks


def standing_wakes(events: list[dict]) -> list[dict]:
    """The ``wake`` events not withdrawn when their utterance ended (the pipeline's
    ``wake_withdrawn``: nothing was said or played, so they count neither as hits nor as false wakes)."""
    kept: list[dict] = []
    for event in events:
        if event["type"] == "wake":
            kept.append(event)
        elif event["type"] == "wake_withdrawn" and kept:
            kept.pop()
    return kept


def score(events: list[dict], marks: list[tuple[float, float, str]]) -> tuple[list[str], list[float], list[float]]:
    """Missed clips; and, for each hit, end of the name to ``wake`` in audio time and on the live clock."""
    wakes = [(e["t"], e["wall"]) for e in standing_wakes(events)]
    missed, latencies, walls = [], [], []
    for name_end, clip_end, label in marks:
        hits = [(t, wall) for t, wall in wakes if name_end - 0.3 <= t <= clip_end + 1.5]
        if hits:
            latencies.append(hits[0][0] - name_end)
            walls.append(hits[0][1] - name_end)
        else:
            missed.append(label)
    return missed, latencies, walls


def recorded_talk() -> np.ndarray:
    """The real recordings, one after another: natural speech without the name."""
    pieces = []
    for path in sorted(SHARED.glob("*.wav")):
        pieces += [read_wav(path), np.zeros(SAMPLE_RATE, np.float32)]
    return np.concatenate(pieces)


def read_out(passages: tuple[str, ...], voices: list[Voice] | tuple[Voice, ...], pause: float) -> np.ndarray:
    """Each of ``passages`` in each voice, one after another, ``pause`` seconds apart."""
    pieces = []
    for voice in voices:
        for passage in passages:
            pieces += [say(passage, voice), np.zeros(int(pause * SAMPLE_RATE), np.float32)]
    return np.concatenate(pieces)


def near_miss_talk(voices: tuple[Voice, ...]) -> np.ndarray:
    """The passages full of near-misses, in every voice: talk made to tempt the spotter."""
    return read_out(PASSAGES, voices, 0.7)


def varied_speech(voices: tuple[Voice, ...]) -> np.ndarray:
    """The passages again, each voice faster and lower, then slower and higher, over a little noise."""
    variants = [variant for voice in voices
                for variant in (Voice(voice.name, voice.rate + 30, voice.pitch - 10), Voice(voice.name, voice.rate - 15, voice.pitch + 10))]
    return with_noise(read_out(PASSAGES + MORE_PASSAGES, variants, 0.6), 0.004, 7)


def measure_cpu(seconds: float, talks: dict[str, np.ndarray], talk_seconds: float = 0.0) -> dict[str, float]:
    """Percent of a core for the daemon and the plain capture loop: ``seconds`` of silence, then
    each of ``talks`` played into the mic in a loop, measured over one whole pass of it (or
    ``talk_seconds``) after 10 s of warm-up."""
    headset = VirtualHeadset().start()
    env = headset.env()
    work = Path(tempfile.mkdtemp(prefix="earpiece-wake-"))
    env["XDG_RUNTIME_DIR"] = str(work / "run")
    for name in ("CONFIG", "STATE", "DATA"):
        env[f"XDG_{name}_HOME"] = str(work / name.lower())
    config = work / "config.toml"
    config.write_text('[audio]\ninput_device = "mic"\noutput_device = "spk"\n')
    waves = {}
    for label, audio in talks.items():
        waves[label] = work / f"{label}.wav"
        write_wav(waves[label], float_to_int16(audio))
    measured = {label: talk_seconds or len(audio) / SAMPLE_RATE for label, audio in talks.items()}
    daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "daemon", "start",
                               "--foreground"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict[str, float] = {}
    try:
        while not (work / "run" / "earpiece" / "control.sock").exists():
            assert daemon.poll() is None, "daemon died"
            time.sleep(0.1)
        time.sleep(5)
        baseline = subprocess.Popen([sys.executable, "-c", CAPTURE_LOOP, str(seconds + sum(measured.values()) + 20 * len(talks) + 20)], env=env)
        time.sleep(3)
        for label in ("silence", *talks):
            player = None
            if label != "silence":  # the spotter warms up on the first seconds, as it would on a real day
                player = subprocess.Popen(["bash", "-c", f"while true; do paplay --device=micfeed {waves[label]}; done"], env=env)
                time.sleep(10)
            d0, b0, t0 = cpu_seconds(daemon.pid), cpu_seconds(baseline.pid), time.monotonic()
            time.sleep(measured.get(label, seconds))
            elapsed = time.monotonic() - t0
            result[f"{label}_seconds"] = elapsed
            result[f"{label}_daemon"] = 100 * (cpu_seconds(daemon.pid) - d0) / elapsed
            result[f"{label}_baseline"] = 100 * (cpu_seconds(baseline.pid) - b0) / elapsed
            if player is not None:
                subprocess.run(["pkill", "-P", str(player.pid)])
                player.kill()
        baseline.kill()
    finally:
        daemon.terminate()
        daemon.wait(30)
        headset.stop()
    return result


class StageClock:
    """Process CPU seconds by pipeline stage during a file-mode run: the spotter, and Whisper's
    glances (the wake check), careful 30 s reads, plain reads and scoring (weighing readings).
    What the talk costs, and where; the engines are wrapped, the pipeline is untouched."""

    def __init__(self, runner: Runner) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.active = False
        dictation = runner.engines.dictation
        transcribe, weigh = dictation.transcribe, dictation.score

        def timed_transcribe(*a, **k):  # type: ignore[no-untyped-def]
            stage = "Whisper glances" if k.get("glance") else "Whisper careful reads" if k.get("careful") else "Whisper plain reads"
            return self._clocked(stage, transcribe, *a, **k)

        def timed_score(*a, **k):  # type: ignore[no-untyped-def]
            return self._clocked("Whisper weighing", weigh, *a, **k)

        dictation.transcribe = timed_transcribe  # type: ignore[method-assign]
        dictation.score = timed_score  # type: ignore[method-assign]
        streaming = runner.engines.streaming
        make_spotter = streaming.spotter

        def clocked_spotter(*a, **k):  # type: ignore[no-untyped-def]
            spotter = make_spotter(*a, **k)
            if spotter is not None:
                accept = spotter.accept
                spotter.accept = lambda frame: self._clocked("PocketSphinx spotter", accept, frame)  # type: ignore[method-assign]
            return spotter

        streaming.spotter = clocked_spotter  # type: ignore[method-assign]

    def _clocked(self, stage: str, call, *a, **k):  # type: ignore[no-untyped-def]
        if not self.active:
            return call(*a, **k)
        started = time.process_time()
        try:
            return call(*a, **k)
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.process_time() - started
            self.counts[stage] = self.counts.get(stage, 0) + 1

    def table(self, total: float, audio_seconds: float) -> str:
        rows = [f"| all of it (file mode, no capture) | {100 * total / audio_seconds:.2f} % | |"]
        for stage, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            rows.append(f"| {stage} | {100 * seconds / audio_seconds:.2f} % | {self.counts[stage]} |")
        rest = total - sum(self.seconds.values())
        rows.append(f"| the rest (VAD, segmenting, routing, events) | {100 * rest / audio_seconds:.2f} % | |")
        return "| stage | share of a core | calls |\n|---|---|---|\n" + "\n".join(rows)


def synthetic_clip_misses(runner: Runner, voices: tuple[Voice, ...]
                          ) -> tuple[int, list[tuple[str, str]], list[float], list[float]]:
    """Wake clips of ``voices`` at each noise level, live: clips, misses (voice, clip), latencies,
    wall latencies."""
    total, missed, latencies, walls = 0, [], [], []
    for index, voice in enumerate(voices):
        for noise in NOISE:
            audio, marks = wake_clips(voice, noise, seed=index)
            miss, lat, wall = score(runner.run_live(audio), marks)
            total += len(marks)
            missed += [(voice.name, f"noise {noise}, {m}") for m in miss]
            latencies += lat
            walls += wall
    return total, missed, latencies, walls


@dataclass
class Half:
    """One half's figures: wake clips (misses, latencies) and talk without the name."""

    clips: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)
    """(voice, which clip) of each clip that did not wake it."""
    latencies: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    false_wakes: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    talk_seconds: float = 0.0
    talk_cpu: float = 0.0
    varied_seconds: float = 0.0
    varied_cpu: float = 0.0

    def by_voice(self) -> list[tuple[str, int]]:
        return Counter(voice for voice, _clip in self.missed).most_common()

    def miss_rate(self) -> str:
        return f"{len(self.missed)}/{self.clips} = {100 * len(self.missed) / max(1, self.clips):.1f} %"

    def latency(self, wall: bool) -> str:
        values = sorted(self.walls if wall else self.latencies)
        if not values:
            return "-"
        return f"p50 {1000 * statistics.median(values):.0f} ms, p95 {1000 * values[int(0.95 * (len(values) - 1))]:.0f} ms"

    def false_rate(self) -> str:
        hours = (self.talk_seconds + self.varied_seconds) / 3600
        return f"{len(self.false_wakes)} on {hours * 60:.1f} min ({len(self.false_wakes) / max(hours, 1e-9):.1f} per hour)"


def measure_half(runner: Runner, voices: tuple[Voice, ...], talk: np.ndarray | None = None,
                 stages: "StageClock | None" = None) -> Half:
    """Wake clips (and the name before the real recordings, in the first two voices), then the
    near-miss passages (after ``talk``, if given) and the varied talk, in ``voices``."""
    half = Half()
    half.clips, half.missed, half.latencies, half.walls = synthetic_clip_misses(runner, voices)
    for voice in voices[:2]:
        audio, marks = real_clips(voice)
        miss, lat, wall = score(runner.run_live(audio), marks)
        half.clips += len(marks)
        half.missed += [(voice.name, f"name + real recording {m}") for m in miss]
        half.latencies += lat
        half.walls += wall
    spoken = near_miss_talk(voices) if talk is None else np.concatenate([talk, near_miss_talk(voices)])
    cpu0 = time.process_time()
    if stages is not None:
        stages.active = True
    talk_events = runner.run(spoken)
    if stages is not None:
        stages.active = False
    half.talk_cpu, half.talk_seconds = time.process_time() - cpu0, len(spoken) / SAMPLE_RATE
    varied = varied_speech(voices)
    cpu0 = time.process_time()
    varied_events = runner.run(varied)
    half.varied_cpu, half.varied_seconds = time.process_time() - cpu0, len(varied) / SAMPLE_RATE
    for part, events in (("talk", talk_events), ("varied talk", varied_events)):
        half.false_wakes += [f"{e.get('word')!r} at {e['t']} s of the {part}" for e in standing_wakes(events)]
        half.withdrawn += [f"{e.get('heard')!r} at {e['t']} s of the {part}" for e in events if e["type"] == "wake_withdrawn"]
    return half


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="two voices of each half, no live CPU; nothing written")
    parser.add_argument("--cpu-seconds", type=float, default=60.0, help="seconds of silence measured")
    parser.add_argument("--talk-seconds", type=float, default=0.0,
                        help="seconds of each talk measured (default: one whole pass of it)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the live CPU part (nothing written)")
    args = parser.parse_args()
    tuning, held_back = (VOICES[:2], HELD_BACK_VOICES[:2]) if args.quick else (VOICES, HELD_BACK_VOICES)
    runner = Runner()
    runner.settings = bench_settings()
    reads: list[float] = []
    transcribe = runner.engines.dictation.transcribe

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return transcribe(*a, **k)
        finally:
            reads.append(time.perf_counter() - started)

    runner.engines.dictation.transcribe = timed  # type: ignore[method-assign]
    stages = StageClock(runner)
    started = time.monotonic()
    recorded = recorded_talk()
    tune = measure_half(runner, tuning, recorded, stages)
    held = measure_half(runner, held_back)
    elapsed = time.monotonic() - started
    read_ms = statistics.median(reads) * 1000 if reads else 0.0
    live = not (args.quick or args.no_cpu)
    cpu = measure_cpu(args.cpu_seconds, {"recorded": recorded, "near_misses": near_miss_talk(tuning),
                                         "held_back": near_miss_talk(held_back)}, args.talk_seconds) if live else {}

    def share(label: str) -> str:
        if not cpu:
            return "-"
        return (f"{cpu[f'{label}_daemon']:.2f} % (capture loop alone {cpu[f'{label}_baseline']:.2f} %, "
                f"{cpu[f'{label}_daemon'] / max(0.01, cpu[f'{label}_baseline']):.1f}x; {cpu[f'{label}_seconds']:.0f} s)")

    def names(voices: tuple[Voice, ...]) -> str:
        return ", ".join(f"{v.name} {v.rate}" for v in voices)

    body = f"""Script: `bench/wake.py` (each half: its voices x 2 rates x 2 noise levels x {len(GAPS)} pauses x
{len(COMMANDS)} commands, plus the name before each of the {len(list(SHARED.glob('*.wav')))} real recordings in its first 2
voices; then the near-miss passages and the varied talk over noise in its voices; {elapsed:.0f} s for the
file-mode parts on this machine).

- Tuning half: {names(tuning)}.
- Held-back half (never traced while tuning): {names(held_back)}.

| measure | tuning half | held-back half | goal (held-back) |
|---|---|---|---|
| wake misses | {tune.miss_rate()} | {held.miss_rate()} | <= 3 % |
| false wakes on speech without the name (the tuning half also has the real recordings) | {tune.false_rate()} | {held.false_rate()} | 0 |
| wakes withdrawn on that speech (taken at a spotter hit, nothing said) | {len(tune.withdrawn)} | {len(held.withdrawn)} | |
| end of the name to `wake`, live clock | {tune.latency(wall=True)} | {held.latency(wall=True)} | p50 <= 250 ms |
| the same in audio time (when the event is stamped) | {tune.latency(wall=False)} | {held.latency(wall=False)} | |
| CPU in file mode: near-miss talk / varied talk over noise | {100 * tune.talk_cpu / tune.talk_seconds:.2f} % / {100 * tune.varied_cpu / tune.varied_seconds:.2f} % | {100 * held.talk_cpu / held.talk_seconds:.2f} % / {100 * held.varied_cpu / held.varied_seconds:.2f} % | |
| idle CPU, live daemon on the virtual headset: near-miss passages in that half's voices | {share("near_misses")} | {share("held_back")} | <= 3 % |

Idle CPU, live, of voice-independent input: silence ({args.cpu_seconds:.0f} s) {share("silence")}; non-stop natural
speech without the name (the real recordings) {share("recorded")}. Goal <= 3 % of a core each.
A Whisper tiny.en read in the wake parts (wall; the double-check is one): p50 {read_ms:.0f} ms.

The live clock: the clips are fed frame by frame as they would arrive from the mic, and a frame
waits for the ones before it (`feed_live` in bench/common.py), so a Whisper read delays the
`wake` event by its own time and that of any read still queued before it. The event is stamped
when it is emitted inside its frame, as a monitor on the bus gets it: until this run it was
stamped at the end of that frame, which also counted the command grammar catching up on the
words since the name (about 9 ms per 20 ms of audio, after the event).

False wakes, tuning half: {"; ".join(tune.false_wakes) or "none"}. Held-back half: {"; ".join(held.false_wakes) or "none"}.
Withdrawn, tuning half: {"; ".join(tune.withdrawn) or "none"}. Held-back half: {"; ".join(held.withdrawn) or "none"}.

Where the CPU goes on the tuning half's talk (file mode, {tune.talk_seconds:.0f} s of audio, the real recordings and the
near-miss passages):

{stages.table(tune.talk_cpu, tune.talk_seconds)}

Misses, tuning half:
""" + ("\n".join(f"- {voice}, {clip}" for voice, clip in tune.missed[:30]) or "- none") + """

Misses, held-back half, by voice (counted only: its clips are not listed, so that nobody tunes on them):
""" + (", ".join(f"{name} {count}" for name, count in held.by_voice()) or "none")
    print(body)
    if live:
        write_section("Wake word", body)


if __name__ == "__main__":
    main()
