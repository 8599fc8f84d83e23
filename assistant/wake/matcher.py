"""Deciding whether an utterance starts with a wake phrase, and what follows it.

This first version reads the wake phrase from the utterance's transcript (the
dictation engine is prompted with the wake words so it spells them right).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from assistant.speech.engines import words_of

LEAD_INS = ("hey", "hi", "hello", "oh", "ok", "okay", "yo", "so", "um", "uh", "excuse me", "listen")
"""Words people put before a name when calling someone ("hey Samantha"); anything else before
the name means the name was only mentioned ("I told Samantha"), which must not wake it."""


@dataclass(frozen=True)
class WakeHit:
    phrase: str
    """The configured wake phrase that was heard."""

    command: str
    """The rest of the utterance, as recognized (may be empty)."""

    set_apart: bool = True
    """Punctuation (or nothing) follows the phrase, as the transcriber writes a call: "Samantha,
    one, two, three." A phrase glued to the words after it ("Samantha mountains in Montana") is
    more likely a misreading of other words."""

    last: bool = False
    """The phrase closed the utterance ("What time is it, Samantha?"): the command came first."""


class WakeMatcher:
    def __init__(self, phrases: Sequence[str]) -> None:
        self.phrases = tuple(" ".join(words_of(p)) for p in phrases if words_of(p))
        self._patterns = [(p, _pattern(p)) for p in sorted(self.phrases, key=len, reverse=True)]
        self._last_patterns = [(p, _last_pattern(p)) for p in sorted(self.phrases, key=len, reverse=True)]

    def match(self, text: str) -> WakeHit | None:
        """The phrase opening ``text`` (after at most two lead-ins), and the command after it.
        A phrase repeated at the end of the command is dropped from it: Whisper, prompted with
        the name, sometimes echoes it there ("what's the time? Samantha")."""
        for phrase, pattern in self._patterns:
            found = pattern.match(text.strip())
            if found:
                rest = found.group("rest").strip()
                closing = self.match_last(rest) if rest else None
                command = closing.command if closing is not None else rest
                return WakeHit(phrase, command, set_apart=not rest or bool(found.group("gap").strip()))
        return None

    def match_last(self, text: str) -> WakeHit | None:
        """The phrase closing ``text``, set apart by punctuation from the words before it ("What
        time is it, Samantha?", "Read the first one. Samantha,"): a call with the name last.
        Glued on ("I told Samantha.") it is a mention, not a call."""
        for phrase, pattern in self._last_patterns:
            found = pattern.match(text.strip())
            if found:
                before, gap, after = found.group("before").strip(), found.group("gap"), found.group("after")
                ending = next((ch for ch in gap + after if ch in ".?!"), "")
                return WakeHit(phrase, before + ending, last=True)
        return None

    def opens_otherwise(self, text: str) -> bool:
        """Does ``text`` (a reading from the start of an utterance, without a wake phrase) hold
        words other than lead-ins? Then no wake phrase later in the utterance opens it as a call."""
        return bool(_LEAD_IN_WORDS.sub(" ", " ".join(words_of(text))).strip())

    def strip(self, text: str) -> str:
        """Drop a leading wake phrase if there is one (follow-ups often repeat the name)."""
        hit = self.match(text)
        return hit.command if hit else text.strip()

    def prompt(self, name: str) -> str:
        """A hint for the dictation engine so it writes the name as configured.

        Just the assistant's own name: a list of several phrases made tiny.en hear "Ada" as
        "Hey", and a whole example command was sometimes echoed back as what was said
        (both measured while building this).
        """
        spoken = name if name.casefold() in self.phrases else (self.phrases[0].title() if self.phrases else name)
        return f"{spoken},"


_LEAD_IN = "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\W+") for w in LEAD_INS) + ")"
"""Any one lead-in, its words apart by anything but letters ("excuse me", "excuse, me")."""

_LEAD_IN_WORDS = re.compile(rf"\b{_LEAD_IN}\b")


def _pattern(phrase: str) -> re.Pattern[str]:
    """Up to two lead-in words, the phrase's words with any punctuation between, then the rest."""
    body = r"\W+".join(map(re.escape, phrase.split()))
    lead = rf"(?:{_LEAD_IN}\W+){{0,2}}"
    return re.compile(rf"^\W*{lead}{body}(?:'s)?\b(?P<gap>\W*)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def _last_pattern(phrase: str) -> re.Pattern[str]:
    """Words, punctuation (a pause as the transcriber writes it), an optional lead-in, the phrase
    and nothing but punctuation after it."""
    body = r"\W+".join(map(re.escape, phrase.split()))
    return re.compile(rf"^(?P<before>.*?\w.*?)(?P<gap>[,.!?;:]+\W*)(?:{_LEAD_IN}\W+)?{body}(?P<after>\W*)$",
                      re.IGNORECASE | re.DOTALL)
