"""Weighing readings against each other with the dictation engine's own ears.

Whisper's greedy reading of a short command is often a near miss ("repeat now", "some men
don't help"), and letter likeness alone cannot tell a near miss from talk that is no command.
So the sentences the templates allow near what was heard, and the name put where the reading
has something name-like, are scored by Whisper on the same audio (forced decoding: the
log-probability of each sentence's tokens). A sentence almost as likely as Whisper's own
reading is what was said; one far less likely is not, however alike it looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

COMMAND_MARGIN = 8.0
"""How much less likely (natural log) than Whisper's own reading a template sentence may be and
still be taken as what was said. On the 230 commands of bench/intents.py the right sentences
came within 7.8 of Whisper's reading ("what made it?" for "what day is it?"), the nearest
sentences to talk that is no command ("what is the weather in Paris tomorrow?", "play some
jazz music") no closer than 12.5."""

NAME_MARGIN = 5.0
"""The same for a reading with the name put in front (a wake word Whisper spelled otherwise):
stricter, since it decides whether idle speech is for the assistant at all. The wake clips of
bench/wake.py came within 4.9 ("come in." for "Samantha.")."""

LEFT_OUT_NAME_MARGIN = 10.0
"""How much less likely than Whisper's reading of a whole utterance that left out a doubtful name
that reading with the name put back (name_put_back) may be, for a wake on that name to stand
(WakeDecider.unfounded); also the margin of a reading with the name put in front where the
spotter heard the name and a glance found it plausible (WakeDecider.name_unsure). The en-us+f3
voice's "Samantha" before real recordings came back within 5.0 to 9.1 in bench/wake.py (Whisper
left it out of all of them); talk that was never a call ("Summer in Atlanta...", "Santa Ana
winds...") 8.5 to 20.9 short, most of it past 10. Used for name_unsure, misses of the held-back
voices in `bench/wake.py --quick` went from 23 to 13 of 102, with no false wake."""

NAME_SPAN = 3
"""Words at the start of a reading that may be a misspelled name ("some men don't" for Samantha)."""


@dataclass(frozen=True)
class Choice:
    text: str
    """The chosen reading, written as the dictation engine writes."""

    index: int
    """Which candidate it was."""

    margin: float
    """Its log-likelihood less that of the engine's own reading (0 or less, usually)."""


def written_like(sentence: str, heard: str, before: str = "") -> str:
    """A template sentence ("repeat that") written the way the engine wrote ``heard``, which
    followed ``before`` in its reading: a capital where a sentence starts, lower case after the
    name's comma, and the same closing punctuation, so only the words differ between the two."""
    sentence = sentence.strip()
    if not sentence:
        return sentence
    stripped = heard.strip()
    opens_sentence = not before.strip() or before.rstrip()[-1] in ".?!"
    if opens_sentence and stripped[:1].isupper():
        sentence = sentence[0].upper() + sentence[1:]
    closing = re.search(r"[.?!]+$", stripped)
    return sentence + (closing.group(0) if closing else "")


def with_name(heard: str, name: str, insert: bool = True) -> list[str]:
    """Readings of ``heard`` with the name in front: put before it (Whisper leaves a name out of
    a longer reading more often than it misspells it), or in place of its first one to NAME_SPAN
    words ("some men don't help." gives "Samantha, men don't help.", "Samantha, don't help."
    and "Samantha, help."); the engine's scores decide which, if any, was said. Without
    ``insert``, the reading is known to start with the name, spelled otherwise."""
    words = heard.split()
    if not words:
        return []
    readings = []
    for count in range(0 if insert else 1, min(NAME_SPAN, len(words) - 1) + 1):
        rest = " ".join(words[count:])
        if not re.match(r"I\b", rest):  # after the name's comma Whisper goes on in lower case
            rest = rest[0].lower() + rest[1:]
        readings.append(f"{name}, {rest}")
    if len(words) <= NAME_SPAN + 1:
        # all of it was the name ("come in, come in."), written as the reading ends: a glance
        # that stops where the name does often has no full stop ("come in"), and one forced on
        # the name cost it the margin (en-us+f4 and en-us+f1 in bench/wake.py)
        closing = re.search(r"[.?!,]*$", heard.strip())
        readings.append(name + (closing.group(0) if closing else ""))
    return readings


def name_put_back(heard: str, name: str) -> list[str]:
    """A reading that left the name out, with the name put back in front: as a call of its own
    ("Samantha. Mr. Quilter is...") and opening the sentence ("Samantha, mr. Quilter is...")."""
    if not heard.strip():
        return [f"{name}."]
    return [f"{name}. {heard.strip()}", with_name(heard, name)[0]]


def choose(heard_score: float, scores: Sequence[float], candidates: Sequence[str], margin: float) -> Choice | None:
    """The likeliest candidate, if it is at most ``margin`` less likely than the engine's own reading."""
    if not candidates:
        return None
    best = max(range(len(candidates)), key=lambda i: scores[i])
    difference = scores[best] - heard_score
    if difference < -margin or difference != difference:  # NaN: nothing could be scored
        return None
    return Choice(candidates[best], best, difference)


def choose_named(heard_score: float, scores: Sequence[float], readings: Sequence[str],
                 tiers: Sequence[int], margin: float = NAME_MARGIN) -> Choice | None:
    """The likeliest reading with the name in front, within ``margin``, from the first of the
    ``tiers`` (0, 1, ...: one a reading) that has one. A bare name ("Samantha.") belongs in a
    tier after every reading with a command: the scores leave out the end of text, so a
    shorter reading is favoured, and "Samantha." outscores "Samantha, help." on the audio of
    the latter."""
    for wanted in sorted(set(tiers)):
        group = [i for i in range(len(readings)) if tiers[i] == wanted]
        found = choose(heard_score, [scores[i] for i in group], [readings[i] for i in group], margin)
        if found is not None:
            return Choice(found.text, group[found.index], found.margin)
    return None
