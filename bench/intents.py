"""Intent + slot accuracy and end-of-speech-to-intent latency, on synthesized commands.

Every command is spoken by several espeak-ng voices and rates, clean and with white noise,
prefixed with the wake word, and run through the real file-mode pipeline. The baseline,
measured on the same utterances in the same run, is open-vocabulary recognition only:
the dictation engine's text routed by the templates, with no repair and no grammar.

Run: .venv/bin/python bench/intents.py   (writes the "Intents" section of docs/benchmarks.md)
"""

from __future__ import annotations

import statistics
import sys
import time

from common import VOICES, Runner, say, speech_end, with_noise, write_section

import numpy as np

COMMANDS: list[tuple[str, str, dict]] = [
    ("what time is it?", "GetTime", {}),
    ("what's the time?", "GetTime", {}),
    ("what's the date today?", "GetDate", {}),
    ("what day is it?", "GetDate", {}),
    ("what's your name?", "GetName", {}),
    ("who are you?", "GetName", {}),
    ("help.", "Help", {}),
    ("what can you do?", "Help", {}),
    ("repeat that.", "Repeat", {}),
    ("say that again.", "Repeat", {}),
    ("stop.", "Stop", {}),
    ("go to sleep.", "Sleep", {}),
    ("turn the volume up.", "VolumeUp", {}),
    ("speak softer.", "VolumeDown", {}),
    ("set a timer for twenty five minutes.", "SetTimer", {"seconds": 1500}),
    ("set a timer for ten seconds.", "SetTimer", {"seconds": 10}),
    ("set a timer for an hour and a half.", "SetTimer", {"seconds": 5400}),
    ("set a timer for three minutes.", "SetTimer", {"seconds": 180}),
    ("start a timer for ninety seconds.", "SetTimer", {"seconds": 90}),
    ("set a timer for one hour and fifteen minutes.", "SetTimer", {"seconds": 4500}),
    ("cancel the timer.", "CancelTimer", {}),
    ("what is the weather in Paris tomorrow?", "Unknown", {}),
    ("play some jazz music.", "Unknown", {}),
]
NOISE = (0.0, 0.01)


def main() -> None:
    quick = "--quick" in sys.argv
    voices = VOICES[:2] if quick else VOICES
    runner = Runner()
    rows = []
    started = time.monotonic()
    for v_index, voice in enumerate(voices):
        for noise in NOISE:
            for c_index, (text, intent, slots) in enumerate(COMMANDS):
                speech = say(f"Samantha, {text}", voice)
                audio = with_noise(np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(48000, np.float32)]),
                                   noise, seed=v_index * 100 + c_index)
                end = 0.5 + speech_end(speech)
                events = runner.run(audio)
                got = [(e["name"], e["slots"], e["t"]) for e in events if e["type"] == "intent"]
                heard = [e["text"] for e in events if e["type"] == "transcript"]
                baseline = runner.router.route(heard[0]) if heard else None
                rows.append({
                    "voice": voice.name, "noise": noise, "text": text,
                    "ok": bool(got) and (got[0][0], got[0][1]) == (intent, slots),
                    "baseline_ok": baseline is not None and (baseline.name, baseline.slots) == (intent, slots),
                    "latency": got[0][2] - end if got else None, "heard": heard[0] if heard else "",
                    "got": got[0][:2] if got else None,
                })
    elapsed = time.monotonic() - started
    n = len(rows)
    ok = sum(r["ok"] for r in rows)
    base = sum(r["baseline_ok"] for r in rows)
    latencies = sorted(r["latency"] for r in rows if r["latency"] is not None)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    misses = [r for r in rows if not r["ok"]]
    body = f"""Script: `bench/intents.py` ({len(voices)} espeak-ng voices x {len(NOISE)} noise levels x {len(COMMANDS)} commands
= {n} utterances, each "Samantha, <command>" through the file-mode pipeline; {elapsed:.0f} s on this machine).

| measure | earpiece | baseline: open recognition + templates only |
|---|---|---|
| intent + slots exact | {ok}/{n} = {100 * ok / n:.2f} % | {base}/{n} = {100 * base / n:.2f} % |
| ratio to baseline | {ok / max(1, base):.2f}x | 1.00x |

End of speech to `intent` event, audio time: p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms (goal p50 <= 300 ms).

Misses (voice, noise, said -> heard -> routed):
""" + "\n".join(f"- {r['voice']}, {r['noise']}: \"{r['text']}\" -> \"{r['heard']}\" -> {r['got']}" for r in misses[:40])
    print(body)
    if not quick:
        write_section("Intents", body)


if __name__ == "__main__":
    main()
