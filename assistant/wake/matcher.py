"""Deciding whether an utterance starts (or ends) with a wake phrase, and what follows it.

The wake phrase is read from the utterance's transcript. The dictation engine is prompted with
the name so it mostly spells it as configured; where it does not ("Pumble Bee." for bumblebee,
"4Q pine" for porcupine), the words in the name's place are compared with it by sound
(assistant.wake.phonetics), not by a list of known misspellings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from assistant.speech.engines import WORD, words_of
from assistant.speech.phonetics import Phonetics, phone_distance

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

    by_sound: bool = False
    """The reading spelled the phrase otherwise, and words that sound like it stood in its place."""


SOUND_TOLERANCE = 0.2
"""How unlike the phrase (phone edit cost per phone of the phrase, assistant.wake.phonetics) the
words in its place may sound and still be taken for it. On porcupine-keywords.wav Whisper's
misspellings of the words said came within 0.17 ("Pumble Bee" 0.07, "4Q pine" 0.12, "Eco Voice"
0.14, "American" 0.17), while the nearest words opening talk without the name were 0.29 away
("Amanda" for samantha) and other names further ("Santa" 0.36, "Justina" for christina 0.31)."""

SOUND_SPAN = 2
"""Words more than the phrase has that may stand in its place ("drag and fly" for dragonfly)."""

CUT_SHORT_SHARE = 0.6
"""The least share of a phrase's phones that a reading cut short at the spotter's hit must sound
like ("Pumble" for bumblebee: 5 of 7), for a glance to take it as the phrase: less is too often
a word of talk ("Sam" is 3 of Samantha's 7)."""


class WakeMatcher:
    """Finds a configured wake phrase opening or closing a transcript: by its letters, or,
    given ``phonetics``, by its sound where the letters differ."""

    def __init__(self, phrases: Sequence[str], phonetics: Phonetics | None = None) -> None:
        self.phrases = tuple(" ".join(words_of(p)) for p in phrases if words_of(p))
        self.phonetics = phonetics
        self._patterns = [(p, _pattern(p)) for p in sorted(self.phrases, key=len, reverse=True)]
        self._last_patterns = [(p, _last_pattern(p)) for p in sorted(self.phrases, key=len, reverse=True)]
        self._glued_patterns = [(p, _last_pattern(p, glued=True)) for p in sorted(self.phrases, key=len, reverse=True)]

    def match(self, text: str, by_sound: bool = True) -> WakeHit | None:
        """The phrase opening ``text`` (after at most two lead-ins), and the command after it.
        A phrase repeated at the end of the command is dropped from it: Whisper, prompted with
        the name, sometimes echoes it there ("what's the time? Samantha"). Without ``by_sound``
        only the phrase as written counts."""
        for phrase, pattern in self._patterns:
            found = pattern.match(text.strip())
            if found:
                rest = found.group("rest").strip()
                closing = self.match_last(rest, by_sound) if rest else None
                command = closing.command if closing is not None else rest
                return WakeHit(phrase, command, set_apart=not rest or bool(found.group("gap").strip()))
        return self._opening_by_sound(text) if by_sound else None

    def match_last(self, text: str, by_sound: bool = True, glued: bool = False) -> WakeHit | None:
        """The phrase closing ``text``, set apart by punctuation from the words before it ("What
        time is it, Samantha?", "Read the first one. Samantha,"): a call with the name last.
        Glued on ("I told Samantha.") it is mostly a mention, not a call; with ``glued`` such a
        hit is returned too (``set_apart`` false), for the caller to judge the words before it
        (Whisper leaves the comma out of some calls: "speak after Samantha.")."""
        for phrase, pattern in self._last_patterns:
            found = pattern.match(text.strip())
            if found:
                before, gap, after = found.group("before").strip(), found.group("gap"), found.group("after")
                ending = next((ch for ch in gap + after if ch in ".?!"), "")
                return WakeHit(phrase, before + ending, last=True)
        hit = self._closing_by_sound(text) if by_sound else None
        if hit is not None or not glued:
            return hit
        for phrase, pattern in self._glued_patterns:
            found = pattern.match(text.strip())
            if found:
                ending = next((ch for ch in found.group("after") if ch in ".?!"), "")
                return WakeHit(phrase, found.group("before").strip() + ending, set_apart=False, last=True)
        return None

    def sounds_like(self, words: str) -> str | None:
        """The phrase that ``words`` sound like (within SOUND_TOLERANCE), if any: the nearest."""
        if self.phonetics is None or not words_of(words):
            return None
        distances = [(self.phonetics.distance(words, phrase), phrase) for phrase in self.phrases]
        distance, phrase = min(distances, default=(1.0, ""))
        return phrase if distance <= SOUND_TOLERANCE else None

    def cut_short(self, text: str, phrase: str) -> bool:
        """Is ``text``, after any lead-ins, nothing but the opening of ``phrase`` by its sound? A
        glance ends where the spotter heard the phrase, sometimes before its last sounds
        ("Pumble" for bumblebee)."""
        if self.phonetics is None or phrase not in self.phrases:
            return False
        words = words_of(text)
        while words and not self.opens_otherwise(words[0]):
            words = words[1:]
        heard, target = self.phonetics.phones(" ".join(words)), self.phonetics.phones(phrase)
        if not heard:
            return False
        shortest = max(1, math.ceil(CUT_SHORT_SHARE * len(target)))
        return any(phone_distance(heard, target[:size]) / size <= SOUND_TOLERANCE
                   for size in range(shortest, len(target)))

    def _opening_by_sound(self, text: str) -> WakeHit | None:
        """The phrase spelled otherwise, opening ``text`` after at most two lead-ins, and set apart
        by punctuation from what follows (a call; glued on, near-sounding words are just words)."""
        if self.phonetics is None:
            return None
        tokens = list(WORD.finditer(text))
        for start in range(3):
            if start and self.opens_otherwise(" ".join(t.group(0) for t in tokens[:start])):
                break
            for end in range(start + 1, min(len(tokens), start + self._most_words()) + 1):
                phrase = self.sounds_like(" ".join(t.group(0) for t in tokens[start:end]))
                if phrase is None:
                    continue
                after = text[tokens[end - 1].end():]
                gap = after[: len(after) - len(after.lstrip(" ,.!?;:-"))]
                if not after.strip() or gap.strip():
                    rest = re.sub(r"^\W+", "", after).strip()
                    closing = self.match_last(rest) if rest else None
                    return WakeHit(phrase, closing.command if closing else rest, by_sound=True)
        return None

    def _closing_by_sound(self, text: str) -> WakeHit | None:
        """The phrase spelled otherwise, closing ``text`` after punctuation ("..., Mycroft.")."""
        if self.phonetics is None:
            return None
        tokens = list(WORD.finditer(text))
        for count in range(1, min(len(tokens) - 1, self._most_words()) + 1):
            first = tokens[len(tokens) - count]
            before, after = text[: first.start()], text[tokens[-1].end():]
            if not re.search(r"[,.!?;:]\W*$", before) or after.strip(" .,!?"):
                continue
            phrase = self.sounds_like(text[first.start(): tokens[-1].end()])
            if phrase is not None:
                words = before.rstrip(" ,.!?;:")
                ending = next((ch for ch in before[len(words):] + after if ch in ".?!"), "")
                return WakeHit(phrase, words + ending, last=True, by_sound=True)
        return None

    def _most_words(self) -> int:
        return max((len(p.split()) for p in self.phrases), default=0) + SOUND_SPAN

    def after_lead_ins(self, text: str) -> int:
        """Where ``text`` goes on after its lead-ins (up to two: "Hey, okay, ..."); 0 if it opens
        otherwise."""
        tokens = list(WORD.finditer(text))
        end = 0
        for count in range(1, min(2, len(tokens) - 1) + 1):
            if self.opens_otherwise(" ".join(t.group(0) for t in tokens[:count])):
                break
            end = tokens[count].start()
        return end

    def mentions(self, text: str) -> bool:
        """Does ``text`` hold a wake phrase as written, anywhere?"""
        spoken = f" {' '.join(words_of(text))} "
        return any(f" {phrase} " in spoken for phrase in self.phrases)

    def opens_otherwise(self, text: str) -> bool:
        """Does ``text`` (a reading from the start of an utterance, without a wake phrase) hold
        words other than lead-ins? Then no wake phrase later in the utterance opens it as a call."""
        return bool(_LEAD_IN_WORDS.sub(" ", " ".join(words_of(text))).strip())

    def strip(self, text: str, by_sound: bool = True) -> str:
        """Drop a leading wake phrase if there is one (follow-ups often repeat the name). Without
        ``by_sound`` only the phrase as written counts: a dictated "Ida, ..." keeps its first word
        when the name is Ada."""
        hit = self.match(text, by_sound)
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
    """Up to two lead-in words, the phrase's words with any punctuation between (once, or again
    and again: "Samantha, Samantha, what time is it?"), then the rest."""
    body = r"\W+".join(map(re.escape, phrase.split()))
    lead = rf"(?:{_LEAD_IN}\W+){{0,2}}"
    return re.compile(rf"^\W*{lead}(?:{body}\W+)*{body}(?:'s)?\b(?P<gap>\W*)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def _last_pattern(phrase: str, glued: bool = False) -> re.Pattern[str]:
    """Words, punctuation (a pause as the transcriber writes it; with ``glued``, just a space), an
    optional lead-in, the phrase (once, or again and again: "What time is it? Samantha,
    Samantha!", Whisper going round on the name its prompt holds) and nothing but punctuation
    after it."""
    body = r"\W+".join(map(re.escape, phrase.split()))
    gap = r"\s+" if glued else r"[,.!?;:]+\W*"
    return re.compile(rf"^(?P<before>.*?\w.*?)(?P<gap>{gap})(?:{_LEAD_IN}\W+)?\b(?:{body}\W+)*{body}(?P<after>\W*)$",
                      re.IGNORECASE | re.DOTALL)
