"""Every sentence template, spoken: each one routes to its intent with the right slots.

One sentence per template is generated from the templates themselves (numbers and names
filled in), spoken by espeak-ng after the wake word, and run through the file-mode pipeline.
"""

from __future__ import annotations

import re
from typing import Iterator

import pytest
from hassil.sample import sample_sentence

from assistant.intents.router import Router

FILLERS = {"hours": "two", "minutes": "twenty five", "seconds": "thirty", "name": "Ada", "recipient": "Tom",
           "sender": "his father", "index": "two", "task": "call my mother", "hour": "five", "minute": "thirty", "title": "lunch with Anna",
           "what": "jazz music"}


WRITTEN = [
    # a title is free words before a time: the templates offer the day and "to my calendar" on
    # either side, and their first sample takes both sides at once, which nobody says
    ("AddEvent", "schedule dinner with Tom tomorrow at seven pm"),
    ("AddEvent", "add lunch with Anna tomorrow at noon"),
]
"""Sentences written out where a template's first sample is no sentence a person would say."""


def spoken_templates() -> Iterator[tuple[str, str]]:
    router = Router.for_config_dir(None)
    written = {name for name, _ in WRITTEN}
    for name, intent in sorted(router.intents.intents.items()):
        if name in written:
            continue
        for block in intent.data:
            for sentence in block.sentences:
                first = next(iter(sample_sentence(sentence, router.intents.slot_lists, router.intents.expansion_rules,
                                                  expand_ranges=False)))
                yield name, re.sub(r"\{(\w+)\}", lambda m: FILLERS[m.group(1)], first)
    yield from WRITTEN


CASES = list(spoken_templates())

# Measured misses of the pipeline on espeak-ng's en-us voice (tiny.en's reading of it): each is a
# limit of the recognizer on synthetic speech, listed here with what it was heard as, not a
# routing bug. They run like the others: the written sentence must route right, and a spoken
# one heard right fails the test, so a fix shows up (strict xfail).
KNOWN_MISHEARD: dict[str, str] = {
    "do I have any reminders": "the utterance ends after 'Samantha.' and the question after it is lost",
    "please remind me in an hour to call my mother": "tiny.en reads 'remind me of how it's all my mother'",
    "play me jazz music": "tiny.en reads 'play me just music' (the words of a free slot are kept as read)",
    "add lunch with Anna tomorrow at noon": "tiny.en reads 'Adlunch, we landed tomorrow at noon' (at 140 wpm it is heard)",
}


@pytest.mark.parametrize("intent,sentence", CASES, ids=[s for _, s in CASES])
def test_template_spoken_routes_right(run_file, router, speech, intent: str, sentence: str) -> None:
    expected = router.route(sentence)
    assert expected.name == intent  # the written sentence itself routes right
    events, _ = run_file(speech.scene(0.5, f"Samantha, {sentence}.", 7.0), text_only=True)
    got = [(e["name"], e["slots"]) for e in events if e["type"] == "intent"]
    heard = [e["text"] for e in events if e["type"] == "transcript"]
    right = got[:1] == [(intent, expected.slots)]
    if sentence in KNOWN_MISHEARD:
        assert not right, f"{sentence!r} is heard right now: take it out of KNOWN_MISHEARD (and docs/benchmarks.md)"
        pytest.xfail(f"heard as {heard} ({KNOWN_MISHEARD[sentence]})")
    assert right, heard
