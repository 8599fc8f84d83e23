"""Dictation: word accuracy of letters against each engine called directly on the same audio,
and the time from the end of a sentence to its line in the journal.

Letters of several paragraphs are spoken by several espeak-ng voices, plus the real
recordings in ../shared/speech dictated as letter text, and run through the real pipeline
in dictation mode. The same utterances (as the pipeline cut them) are also given to Whisper
and to PocketSphinx directly, in the same run: the pipeline must be at least as accurate.

Latency, as a live user would feel it: audio time from the end of the sentence to the
`letter append` event, plus the CPU time the pipeline spent on the frame that produced it.

Run: .venv/bin/python bench/letters.py   (writes the "Letters" section of docs/benchmarks.md)
"""

from __future__ import annotations

import re
import statistics
from dataclasses import replace
import sys
import time

import numpy as np
from common import HELD_BACK_VOICES, ROOT, VOICES, Runner, say, speech_end, write_section

sys.path.insert(0, str(ROOT / "tests"))
from speech import word_error_rate  # noqa: E402

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE  # noqa: E402
from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import read_wav  # noqa: E402

LETTERS = [
    ["I hope this letter finds you well.", "The garden is full of roses this year.",
     "Your mother sends her love.", "We walked by the river on Sunday.", "It rained all afternoon."],
    ["Thank you for the lovely present.", "The children played with it all day.",
     "We will visit you in the spring.", "Please give my regards to your family."],
    ["I have been thinking about our conversation.", "You were right about the house.",
     "We should sell it before the winter.", "Let me know what you decide."],
]
SHARED = ROOT.parent / "shared" / "speech"
SPLIT: list[tuple[float, float]] = []
"""(audio wait, compute) per appended sentence, for the report."""

REAL = ["librispeech-1272-128104-0000", "cmu-arctic-a0024", "librispeech-61-70968-0002", "cheetah-test-en", "jfk-inaugural"]


def run_letter(runner: Runner, sentences: list[np.ndarray]) -> tuple[list[str], list[float], list[np.ndarray]]:
    """Dictate: start a letter, then each sentence with a pause; returns appended texts, latencies, cut audio."""
    parts = [np.zeros(8000, np.float32), say("Samantha, take a letter to Tom.", VOICES[0]), np.zeros(56000, np.float32)]
    ends = []
    for audio in sentences:
        parts.append(audio)
        ends.append(sum(len(p) for p in parts[:-1]) / SAMPLE_RATE + speech_end(audio))
        parts.append(np.zeros(int(1.5 * SAMPLE_RATE), np.float32))
    pcm = float_to_int16(np.concatenate(parts))
    pipeline, log = runner.pipeline()
    emitted_wall: dict[int, float] = {}
    pipeline.bus.subscribe(lambda e: emitted_wall.setdefault(id(e), time.perf_counter()) if e.type == "letter" else None)
    from assistant.audio.wavio import WavSink

    pipeline.start(WavSink(None))
    measured: list[tuple[float, float]] = []
    cut: list[np.ndarray] = []
    original = pipeline._finish_utterance

    def keep_audio(ended: bool) -> None:
        if ended and pipeline.letter is not None:
            cut.append(pipeline._segmenter.utterance().copy())
        original(ended)

    pipeline._finish_utterance = keep_audio  # type: ignore[method-assign]
    for start in range(0, len(pcm) - FRAME_SAMPLES, FRAME_SAMPLES):
        began = time.perf_counter()
        count = len(log.events)
        pipeline.feed(pcm[start : start + FRAME_SAMPLES])
        for event in log.events[count:]:
            if event.type == "letter" and event.data["action"] == "append":
                measured.append((event.t, emitted_wall[id(event)] - began))
    pipeline.finish()
    appends = [e for e in log.events if e.type == "letter" and e.data["action"] == "append"]
    total = []
    for t, compute in measured:
        sentence_end = max((end for end in ends if end <= t), default=None)
        if sentence_end is not None:
            total.append(t - sentence_end + compute)
            SPLIT.append((t - sentence_end, compute))
    return [str(e.data["text"]) for e in appends], total, cut


def dictate_all(runner: Runner, cases: list[tuple[str, list[np.ndarray], str]], beam: int) -> tuple[list[tuple], list[float], list[tuple[float, float]]]:
    """Every letter dictated with ``beam`` for its sentences: rows (label, WER earpiece, WER
    Whisper directly, WER PocketSphinx directly), latencies, and their (audio, compute) split."""
    runner.settings = replace(runner.settings, speech=replace(runner.settings.speech, dictation_beam=beam))
    SPLIT.clear()
    rows, latencies = [], []
    for label, audio, reference in cases:
        texts, lat, cut = run_letter(runner, audio)
        latencies += lat
        written = " ".join(texts)
        whisper_direct = " ".join(runner.engines.dictation.transcribe(a).text for a in cut)  # type: ignore[union-attr]
        sphinx_direct = []
        for a in cut:
            recognizer = runner.engines.streaming.recognizer()
            for i in range(0, len(a), FRAME_SAMPLES):
                recognizer.accept(a[i : i + FRAME_SAMPLES])
            sphinx_direct.append(recognizer.finish().text)
        rows.append((label, word_error_rate(reference, _plain(written)), word_error_rate(reference, _plain(whisper_direct)),
                     word_error_rate(reference, " ".join(sphinx_direct))))
    return rows, latencies, list(SPLIT)


def main() -> None:
    runner = Runner(open_vocabulary=True)  # PocketSphinx's open recognition is compared directly
    started = time.monotonic()
    cases = [(f"{voice.name} letter {i + 1}", [say(s, voice) for s in sentences], " ".join(sentences))
             for voice in VOICES[:3] for i, sentences in enumerate(LETTERS)]
    if SHARED.is_dir():
        cases.append(("real recordings", [read_wav(SHARED / f"{name}.wav") for name in REAL],
                      " ".join((SHARED / f"{name}.txt").read_text().strip() for name in REAL)))
    held_back = [(f"{voice.name} letter {i + 1}", [say(s, voice) for s in sentences], " ".join(sentences))
                 for voice in HELD_BACK_VOICES[:4] for i, sentences in enumerate(LETTERS)]
    chosen = runner.settings.speech.dictation_beam
    other = 5 if chosen == 1 else 1
    rows, latencies, split = dictate_all(runner, cases, chosen)
    other_rows, other_latencies, other_split = dictate_all(runner, cases, other)
    held = {beam: dictate_all(runner, held_back, beam)[0] for beam in (chosen, other)}
    elapsed = time.monotonic() - started

    def held_mean(beam: int) -> str:
        return f"{100 * (1 - statistics.mean(r[1] for r in held[beam])):.1f} %"

    mean = [statistics.mean(r[i] for r in rows) for i in (1, 2, 3)]
    other_mean = statistics.mean(r[1] for r in other_rows)

    def p(values: list[float], q: float) -> float:
        return sorted(values)[int(q * (len(values) - 1))]

    table = "\n".join(f"| {r[0]} | {100 * (1 - r[1]):.1f} % | {100 * (1 - o[1]):.1f} % | {100 * (1 - r[2]):.1f} % | {100 * (1 - r[3]):.1f} % |"
                      for r, o in zip(rows, other_rows))
    body = f"""Script: `bench/letters.py` ({len(rows)} dictated letters, each dictated twice: with the configured beam
`speech.dictation_beam = {chosen}` and with {other}; {elapsed:.0f} s). Word accuracy (1 - WER, case and punctuation ignored;
numbers written as words by the letter style count as the spoken words):

| letter | earpiece dictation, beam {chosen} (as configured) | earpiece dictation, beam {other} | Whisper tiny.en directly | PocketSphinx directly |
|---|---|---|---|---|
{table}
| **mean** | **{100 * (1 - mean[0]):.1f} %** | {100 * (1 - other_mean):.1f} % | {100 * (1 - mean[1]):.1f} % | {100 * (1 - mean[2]):.1f} % |
| held back: the same letters by {", ".join(v.name for v in HELD_BACK_VOICES[:4])} (mean, not listed) | **{held_mean(chosen)}** | {held_mean(other)} | | |

End of sentence to its `letter append` event (journal written and fsynced first), audio time plus
the CPU time of the frame that produced it (goal p50 <= 800 ms):

| beam | p50 | p95 | waiting for the pause (audio), p50 | computing (Whisper + journal fsync), p50 |
|---|---|---|---|---|
| {chosen} (as configured) | {1000 * statistics.median(latencies):.0f} ms | {1000 * p(latencies, 0.95):.0f} ms | {1000 * statistics.median(a for a, _ in split):.0f} ms | {1000 * statistics.median(c for _, c in split):.0f} ms |
| {other} | {1000 * statistics.median(other_latencies):.0f} ms | {1000 * p(other_latencies, 0.95):.0f} ms | {1000 * statistics.median(a for a, _ in other_split):.0f} ms | {1000 * statistics.median(c for _, c in other_split):.0f} ms |
"""
    print(body)
    write_section("Letters", body)


def _plain(text: str) -> str:
    return re.sub(r"[\u201c\u201d]", "", text)


if __name__ == "__main__":
    main()
