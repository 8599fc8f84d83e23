"""How well each voice is understood, and how fast it renders.

44 reply texts the skills really say (times, dates, timers, mail listings with names, letter
questions and read-backs, errors), each rendered by every engine and transcribed back by
Whisper tiny.en (greedy, as a stand-in listener): word accuracy, with numbers written out the
same way on both sides (``for_speech``), so "20" against "twenty" is no error. Also the render
time of the first sentence and the real-time factor of whole replies.

Run: .venv/bin/python bench/voice.py   (writes the "Voice" section of docs/benchmarks.md)
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from datetime import datetime

import numpy as np
from common import ROOT, write_section

sys.path.insert(0, str(ROOT / "tests"))
from speech import word_error_rate  # noqa: E402

from assistant.audio import SAMPLE_RATE  # noqa: E402
from assistant.config import Settings, VoiceSettings  # noqa: E402
from assistant.intents.numbers import spoken_date, spoken_duration, spoken_time  # noqa: E402
from assistant.speech.loader import load_dictation  # noqa: E402
from assistant.speech.spoken_text import for_speech  # noqa: E402
from assistant.speech.voice import Voice  # noqa: E402

MOMENTS = [datetime(2026, 11, 25, 15, 10), datetime(2026, 12, 6, 9, 45), datetime(2026, 1, 1, 0, 5), datetime(2026, 7, 14, 18, 42)]
NAMES = ["Anna Field", "Jürgen Müller", "Paul Okafor", "Catherine", "Shop", "Reports"]
SUBJECTS = ["Lunch on Friday", "Grüße aus Köln", "Invoice for November", "Order shipped", "Weekly report", "Tickets for Saturday"]


def replies() -> list[str]:
    """What the skills say (their own sentence shapes, filled with varied names and numbers)."""
    said: list[str] = []
    for moment in MOMENTS:
        said.append(f"It's {spoken_time(moment)}.")
        said.append(f"It's {spoken_date(moment)}.")
    for seconds in (10, 90, 300, 1500, 1800, 5400):
        said.append(f"Timer set for {spoken_duration(seconds)}.")
        said.append(f"Your {spoken_duration(seconds)} timer is done.")
    said += [
        "You have no new email.",
        f"You have three new messages. One, from {NAMES[0]}: {SUBJECTS[0]}. Two, from {NAMES[1]}: {SUBJECTS[1]}. "
        f"Three, from {NAMES[2]}: {SUBJECTS[2]}.",
        f"You have 12 new messages. One, from {NAMES[4]}: {SUBJECTS[3]}. Two, from {NAMES[5]}: {SUBJECTS[4]}. "
        f"Three, from {NAMES[3]}: {SUBJECTS[5]}. Shall I go on?",
        f"New message from {NAMES[0]}: {SUBJECTS[0]}.",
        f"Message two, from {NAMES[2]}: {SUBJECTS[2]}. The invoice is attached. Please pay by the 15th.",
        "It's from Anna Field, anna.field@example.org.",
        f"Delete the message from {NAMES[2]} about {SUBJECTS[2]}? Say yes or no.",
        "Deleted.", "Marked as read.", "Archived.",
        "Replying to Anna. Go ahead; say that's all when you're done.",
        "Writing to Tom. Go ahead.",
        "That's the letter to Catherine. Shall I save it or send it?",
        "Send the letter to Tom at tom@example.org?",
        "Sent to Tom.", "Saved the letter to Catherine.",
        "Dear Tom, I hope you are well. We walked by the river on Sunday. Please write back soon. With love, Dad.",
        "Your letter to Catherine is unfinished. Shall I continue it?",
        "My name is Samantha.", "You'd like to call me Maya? Say yes or no.", "Maya it is. I'll answer to Maya from now on.",
        "Say Samantha, then ask me for the time, the date, a timer, your email, a letter, or my name.",
        "I can't reach the mail server right now.", "Sorry, I didn't catch that.",
        "I can't write to my journal: the disk is full. I have every word in memory.",
        "There's no timer running.", "I cancelled all three timers.",
    ]
    return said


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", for_speech(text).lower().replace("-", " ")))


def main() -> None:
    texts = replies()
    whisper = load_dictation(Settings())
    assert whisper is not None
    rows = []
    started = time.monotonic()
    for engine in ("piper", "espeak", "pyttsx3"):
        voice = Voice(VoiceSettings(engine=engine))
        began = time.perf_counter()
        voice.load()
        load_seconds = time.perf_counter() - began
        errors, first, factors = [], [], []
        for text in texts:
            began = time.perf_counter()
            pieces = voice.sentences(text)
            head = next(pieces)
            first.append(time.perf_counter() - began)
            audio = [head, *pieces]
            spent = time.perf_counter() - began
            samples = sum(len(p) for p in audio)
            factors.append(spent / (samples / SAMPLE_RATE))
            heard = whisper.transcribe(np.concatenate(audio)).text
            errors.append(word_error_rate(words(text), words(heard)))
        rows.append((engine, 1 - statistics.mean(errors), statistics.median(first), sorted(first)[int(0.95 * (len(first) - 1))],
                     statistics.median(factors), load_seconds))
    elapsed = time.monotonic() - started
    table = "\n".join(f"| {e} | {100 * acc:.1f} % | {1000 * p50:.0f} ms | {1000 * p95:.0f} ms | {rtf:.3f} | {load:.2f} s |"
                      for e, acc, p50, p95, rtf, load in rows)
    base = next(r for r in rows if r[0] == "espeak")
    piper = next(r for r in rows if r[0] == "piper")
    body = f"""Script: `bench/voice.py` ({len(texts)} reply texts the skills say, each rendered by every engine and
transcribed back by Whisper tiny.en; numbers written out the same way on both sides; {elapsed:.0f} s, 2 cores).

| engine | words understood | first sentence rendered, p50 | p95 | real-time factor, p50 | load |
|---|---|---|---|---|---|
{table}

Piper against espeak-ng (the baseline, same run): {100 * piper[1]:.1f} % against {100 * base[1]:.1f} % of words understood;
first sentence {piper[2] / base[2]:.1f}x the render time. Piper's own noise makes its figure move by a few points between
runs (88.1 % in a run beside the test suite). End of speech to the first reply sample, from outside the process, and the
daemon's RSS and idle CPU with each engine: "Voice latency" (bench/voice_latency.py).
"""
    print(body)
    write_section("Voice", body)


if __name__ == "__main__":
    main()
