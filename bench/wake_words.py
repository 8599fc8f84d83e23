"""Wake words said by a real person: ../shared/speech/porcupine-keywords.wav.

One man in a noisy room with hum says 19 wake words of another product, one after another. Each
is configured as earpiece's only wake word in turn, and the recording is run through the real
file-mode pipeline: it must wake where that word is said and nowhere else. Then all 19 at once,
and a set of six: each must wake with the right word at its place, and never elsewhere. A real
speaker in a real room, unlike the synthetic benches: a change that helps here must also hold on
their held-back halves.

The baseline, measured in the same run: the dictation engine (Whisper tiny.en) reading each word's
span alone, as a transcriber would, and finding the word in its text.

Run: .venv/bin/python bench/wake_words.py   (writes "Wake words, real speaker" in docs/benchmarks.md)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from common import ROOT, Runner, write_section

from assistant.audio import SAMPLE_RATE  # noqa: E402
from assistant.audio.wavio import read_wav  # noqa: E402
from assistant.config import parse_text  # noqa: E402
from assistant.speech.engines import words_of  # noqa: E402

RECORDING = ROOT.parent / "shared" / "speech" / "porcupine-keywords.wav"

SPANS: dict[str, tuple[float, float]] = {
    "alexa": (0.5, 1.4), "americano": (2.4, 3.6), "avocado": (3.85, 5.6), "blueberry": (6.7, 7.6),
    "bumblebee": (8.2, 9.2), "caterpillar": (9.95, 11.0), "christina": (11.6, 12.6), "dragonfly": (13.2, 14.8),
    "flamingo": (15.25, 16.5), "francesca": (17.2, 18.1), "grapefruit": (18.95, 20.25), "grasshopper": (20.9, 22.0),
    "iguana": (22.8, 23.8), "picovoice": (24.5, 25.7), "pineapple": (26.3, 27.9), "porcupine": (28.1, 29.7),
    "raspberry": (29.8, 31.45), "terminator": (32.1, 33.35), "vancouver": (33.4, 34.9),
}
"""Where each word is said (seconds): the order the recording's source asserts, the edges from
its loudness and from reading each stretch with Whisper (done once, while writing this)."""

AFTER = 0.8
"""Seconds after a word's end in which its wake event still counts (the utterance's end)."""

SIX = ("christina", "francesca", "alexa", "terminator", "porcupine", "bumblebee")


def settings_for(words: tuple[str, ...]):  # type: ignore[no-untyped-def]
    listed = ", ".join(f'"{w}"' for w in words)
    return parse_text(f'[assistant]\nname = "{words[0].title()}"\n[wake]\nwords = [{listed}]\nfollow_up = 0.0\n',
                      Path("bench-wake-words.toml"))


def judge(events: list[dict], words: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Words found (a standing wake with that word within its span) and false wakes (any other)."""
    wakes = [e for e in events if e["type"] == "wake"]
    withdrawn = {round(e["t"], 2) for e in events if e["type"] == "wake_withdrawn"}
    found, false = [], []
    for wake in wakes:
        if round(wake["t"], 2) in withdrawn:
            continue
        at = [w for w, (start, end) in SPANS.items() if start <= wake["t"] <= end + AFTER]
        if at and at[0] in words and wake["word"] == at[0]:
            found.append(at[0])
        else:
            false.append(f"{wake['word']!r} at {wake['t']:.2f} s" + (f" (where {at[0]!r} is said)" if at else ""))
    return sorted(set(found)), false


def main() -> None:
    quick = "--quick" in sys.argv
    runner = Runner()
    audio = read_wav(RECORDING)
    started = time.monotonic()
    alone: dict[str, tuple[bool, list[str]]] = {}
    for word in list(SPANS)[: 4 if quick else None]:
        runner.settings = settings_for((word,))
        found, false = judge(runner.run(audio), (word,))
        alone[word] = (word in found, false)
    runner.settings = settings_for(tuple(SPANS))
    all_found, all_false = judge(runner.run(audio), tuple(SPANS))
    runner.settings = settings_for(SIX)
    six_found, six_false = judge(runner.run(audio), SIX)
    elapsed = time.monotonic() - started
    baseline = []
    for word, (start, end) in SPANS.items():
        text = runner.engines.dictation.transcribe(audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]).text
        baseline.append((word, word in " ".join(words_of(text)), text))
    alone_found = sum(hit for hit, _false in alone.values())
    alone_false = [f"{word}: {f}" for word, (_hit, false) in alone.items() for f in false]
    base_found = sum(hit for _word, hit, _text in baseline)
    rows = "\n".join(f"| {word} | {'yes' if hit else 'NO'} | {len(false)} | {'yes' if word in all_found else 'no'} "
                     f"| {'yes' if b else 'no'} ({text!r}) |"
                     for (word, (hit, false)), (_w, b, text) in zip(alone.items(), baseline))
    body = f"""Script: `bench/wake_words.py` (../shared/speech/porcupine-keywords.wav: one man, a noisy room with
hum, 19 wake words of another product; {elapsed:.0f} s on this machine).

| measure | result | goal |
|---|---|---|
| each word configured alone: found where said | {alone_found}/{len(alone)} | >= 17/19 |
| each word configured alone: wakes elsewhere in the recording | {len(alone_false)} | 0 |
| all 19 configured at once: found with the right word | {len(all_found)}/{len(SPANS)} | |
| all 19 at once: wrong or misplaced wakes | {len(all_false)} | 0 |
| six at once ({", ".join(SIX)}): found | {len(six_found)}/{len(SIX)} | |
| six at once: wrong or misplaced wakes | {len(six_false)} | 0 |
| baseline: Whisper tiny.en reading each word's span alone has the word | {base_found}/{len(baseline)} | |

| word | alone: found | alone: false wakes | all at once: found | baseline: Whisper alone |
|---|---|---|---|---|
{rows}

False wakes, alone: {"; ".join(alone_false) or "none"}.
All at once: {"; ".join(all_false) or "none"}. Six at once: {"; ".join(six_false) or "none"}.
"""
    print(body)
    if not quick:
        write_section("Wake words, real speaker", body)


if __name__ == "__main__":
    main()
