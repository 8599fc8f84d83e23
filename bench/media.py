"""Ducking: from the wake to the music's volume being lowered, with a real mpv playing into the
virtual headset on a private session D-Bus and `earpiece run` live on the headset.

Measured from outside the process, on the wall clock: one thread tails the events file (the
`wake` line is written, flushed, as the wake is decided), another asks mpv for its volume over
MPRIS every 2 ms. Latency = first lowered volume seen after a wake - that wake line seen. The
baseline, same run: one bare D-Bus Set(Volume) round trip from this process (the floor any
ducking has). What a listener hears comes later by the player's own output buffer (mpv's, not
earpiece's), which this does not include.

Run: .venv/bin/python bench/media.py [--questions 10]   (writes "Media ducking" in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import ROOT, write_section

sys.path.insert(0, str(ROOT / "tests"))
from mediaplayer import PLAYER, Mpv, SessionBus  # noqa: E402
from speech import SpeechMaker, Voice  # noqa: E402
from vheadset import VirtualHeadset  # noqa: E402

from jeepney import Properties  # noqa: E402
from jeepney.io.blocking import open_dbus_connection  # noqa: E402

VOICES = (Voice("en-us", 160, 50), Voice("en-gb", 175, 40), Voice("en-us+m3", 185, 45))
QUESTIONS = ("Samantha, what time is it?", "Samantha, what's the date today?", "Samantha, what's your name?")
GAP = 4.0
"""Seconds after each question: its reply, then the (shortened) follow-up window, then the music back."""


class Watch:
    """Wall-clock times of the wake lines in the events file and of the volume going down."""

    def __init__(self, events: Path, bus_address: str) -> None:
        self.wakes: list[float] = []
        self.lowered: list[float] = []
        self._events, self._bus = events, bus_address
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._tail, daemon=True),
                         threading.Thread(target=self._poll, daemon=True)]

    def __enter__(self) -> "Watch":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _tail(self) -> None:
        offset = 0
        while not self._stop.is_set():
            if self._events.exists():
                text = self._events.read_text()
                lines = text[offset:].split("\n")
                complete, offset = lines[:-1], offset + len(text[offset:]) - len(lines[-1])
                now = time.monotonic()
                self.wakes += [now for line in complete if json.loads(line)["type"] == "wake"]
            time.sleep(0.001)

    def _poll(self) -> None:
        connection = open_dbus_connection(self._bus)
        was = 1.0
        while not self._stop.is_set():
            volume = float(connection.send_and_get_reply(Properties(PLAYER).get("Volume"), timeout=2).body[0][1])
            if volume < was - 0.05:
                self.lowered.append(time.monotonic())
            was = volume
            time.sleep(0.002)
        connection.close()


def bare_round_trip(bus_address: str, count: int = 50) -> float:
    connection = open_dbus_connection(bus_address)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.send_and_get_reply(Properties(PLAYER).set("Volume", "d", 1.0), timeout=2)
        times.append(time.perf_counter() - started)
    connection.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earpiece-media-bench-") as tmp_name:
        tmp = Path(tmp_name)
        speech = SpeechMaker(tmp / "speech")
        headset = VirtualHeadset().start()
        bus = SessionBus()
        tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(16000 * 5) / 16000)
        music = speech.write(tone.astype(np.float32), "music.wav")
        player = Mpv(bus, music, "A tone", env=headset.env(), audio_out="pulse")
        env = dict(headset.env(), DBUS_SESSION_BUS_ADDRESS=bus.address, XDG_STATE_HOME=str(tmp / "state"),
                   XDG_CONFIG_HOME=str(tmp / "config"), HOME=str(tmp))
        config = tmp / "live.toml"
        config.write_text('[audio]\ninput_device = "mic"\noutput_device = "spk"\n[wake]\nfollow_up = 1.0\n'
                          '[voice]\nengine = "espeak"\n')
        events = tmp / "events.jsonl"
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "run", "--events",
                                 str(events)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not (events.exists() and '"listening"' in events.read_text()):
                assert proc.poll() is None and time.monotonic() < deadline, "earpiece run did not start"
                time.sleep(0.1)
            time.sleep(2.0)
            baseline = bare_round_trip(bus.address)
            with Watch(events, bus.address) as watch:
                for index in range(args.questions):
                    question = QUESTIONS[index % len(QUESTIONS)]
                    voice = VOICES[index // len(QUESTIONS) % len(VOICES)]
                    wav = speech.write(speech.scene(0.3, question, 0.2, voice=voice), f"q{index}.wav")
                    subprocess.run(["paplay", "--device=micfeed", str(wav)], env=headset.env(), check=True)
                    time.sleep(GAP)
        finally:
            proc.terminate()
            proc.wait(30)
            player.stop()
            bus.stop()
            headset.stop()
        latencies = []
        for wake in watch.wakes:
            after = [t for t in watch.lowered if t >= wake - 0.001]
            if after and after[0] - wake < 2.0:
                latencies.append(after[0] - wake)
    print("latencies (ms):", [round(1000 * x, 1) for x in latencies])
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    body = f"""Script: `bench/media.py --questions {args.questions}` (one run). A real mpv (MPRIS plugin) playing a tone
into the virtual headset on a private session D-Bus; `earpiece run` live on the headset (espeak-ng voice,
follow-up 1 s); questions played into the mic by {len(VOICES)} espeak-ng voices.

| | p50 | p95 | wakes measured |
|---|---|---|---|
| wake line written -> mpv reports the lowered volume | {1000 * p50:.1f} ms | {1000 * p95:.1f} ms | {len(latencies)} of {len(watch.wakes)} wakes, {args.questions} questions |
| baseline: one bare D-Bus Set(Volume) round trip (same run) | {1000 * baseline:.2f} ms | | |

Ratio to the baseline, p50: {p50 / baseline:.1f}x (ducking asks the bus for its players, each player for
its state, then sets the volume: three round trips and the polling's 2 ms). Goal: <= 150 ms from the wake.
The sound itself changes after mpv's own output buffer, which is the player's and not counted here.
"""
    print(body)
    write_section("Media ducking", body)


if __name__ == "__main__":
    main()
