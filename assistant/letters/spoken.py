"""From dictated speech to letter text: spoken punctuation, capitals, spacing, numbers,
and the few commands that can be said while dictating.

Whisper writes its own punctuation and capitals. When the writer also says "comma", the
two must not double up: a spoken mark replaces whatever mark Whisper put next to it, and a
capital Whisper added only because it thought a sentence had ended is undone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.intents.numbers import cardinal

SPOKEN_MARKS: dict[str, str] = {
    "comma": ",",
    "full stop": ".",
    "period": ".",
    "question mark": "?",
    "exclamation mark": "!",
    "exclamation point": "!",
    "colon": ":",
    "semicolon": ";",
    "open quote": "\u201c",
    "close quote": "\u201d",
    "new line": "\n",
    "new paragraph": "\n\n",
}
"""What a writer says, and what goes into the letter."""

SENTENCE_END = ".?!"
KEEP_CAPITAL = {"i", "i'm", "i've", "i'll", "i'd"}
_MARK_PATTERN = re.compile(
    r"(?P<literal>\bliteral\s+)?\b(?P<word>" + "|".join(sorted((re.escape(w).replace(r"\ ", r"[\s,.-]+")
                                                                for w in SPOKEN_MARKS), key=len, reverse=True))
    + r")\b[\s,.;:!?]*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Command:
    name: str
    """scratch, read_back, read_paragraph, replace, sign, finish, save, send, cancel, new_paragraph."""

    args: tuple[str, ...] = ()
    """replace: (old, new); sign: (name,)."""


_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    # "scratch that" with its last word misheard ("scratch nut", "delete now") is still meant as one
    (re.compile(r"^(?:scratch|strike|delete) (?:that|this|it|\w+)$"), "scratch"),
    (re.compile(r"^read (?:it|that|the letter|everything) back$|^read back$|^read (?:me )?the letter$"), "read_back"),
    (re.compile(r"^read (?:me )?the last paragraph(?: back)?$"), "read_paragraph"),
    (re.compile(r"^replace (?P<a>.+?) with (?P<b>.+)$"), "replace"),
    (re.compile(r"^sign it(?: from| as)? (?P<a>.+)$"), "sign"),
    (re.compile(r"^(?:that's all|that is all|finish the letter|end the letter|i'm done|that's it)$"), "finish"),
    (re.compile(r"^(?:save it|save the letter|save)$"), "save"),
    (re.compile(r"^(?:send it|send the letter|send)$"), "send"),
    (re.compile(r"^cancel (?:the|this) letter$"), "cancel"),
    (re.compile(r"^new paragraph$"), "new_paragraph"),
]


COMMAND_PHRASES = (
    "scratch that", "delete that", "read it back", "read the letter back", "read the last paragraph",
    "that's all", "finish the letter", "save it", "send it", "cancel the letter", "new paragraph",
)
"""Fixed command sentences, for a grammar-restricted second reading of short utterances."""


def parse_command(text: str) -> Command | None:
    """A whole utterance that is a dictation command, or None for text to write."""
    clean = re.sub(r"[^\w' ]+", " ", text.casefold().replace("\u2019", "'"))
    clean = re.sub(r"^please |(?<! with) please$", "", " ".join(clean.split()))
    for pattern, name in _COMMANDS:
        found = pattern.match(clean)
        if found:
            return Command(name, tuple(v for v in (found.groupdict().get("a"), found.groupdict().get("b")) if v))
    return None


def apply_spoken_marks(text: str) -> str:
    """Replace spoken punctuation words with marks; "literal comma" writes the word itself."""
    out = ""
    previous_mark = ""
    whisper_ended_sentence = False
    position = 0
    for match in _MARK_PATTERN.finditer(text):
        out, previous_mark = _add_text(out, text[position : match.start()], previous_mark, whisper_ended_sentence)
        position = match.end()
        if match.group("literal"):
            out, previous_mark = _add_text(out, match.group("word"), previous_mark, False)
            continue
        mark = SPOKEN_MARKS[" ".join(re.findall(r"[a-z]+", match.group("word").casefold()))]
        tail = match.group(0)[len(match.group("word")) :]
        if mark in ",.;:!?\u201d":
            kept = out.rstrip(" ,.;:!?")
            whisper_ended_sentence = any(ch in SENTENCE_END for ch in out[len(kept) :] + tail)
            out = kept + mark
        else:
            whisper_ended_sentence = False
            out = out.rstrip(" ") + (" " if mark == "\u201c" and out and not out.endswith("\n") else "") + mark
        previous_mark = mark
    out, _ = _add_text(out, text[position:], previous_mark, whisper_ended_sentence)
    return out.strip(" ")


def _add_text(out: str, piece: str, previous_mark: str, whisper_ended_sentence: bool) -> tuple[str, str]:
    piece = piece.strip()
    if not piece:
        return out, previous_mark
    if previous_mark in (",", ";", ":", "\u201d") and whisper_ended_sentence:
        piece = _soften(piece)
    elif previous_mark and previous_mark in ".?!\n\n":
        piece = piece[0].upper() + piece[1:]
    if out and not out.endswith((" ", "\n", "\u201c")):
        out += " "
    return out + piece, ""


def _soften(piece: str) -> str:
    """Undo a capital Whisper gave a word because it thought the sentence ended."""
    first = piece.split(" ", 1)[0]
    if first.casefold().strip(".,!?") in KEEP_CAPITAL or not first[:1].isupper() or first[1:2].isupper():
        return piece
    return first[0].lower() + piece[1:]


MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
MONTH_NAMES = frozenset(MONTHS.split("|"))


def words_for_small_numbers(text: str) -> str:
    """Letter style: one to ten as words ("3 apples" -> "three apples"); dates ("3 May", "May 3"),
    times, years and larger numbers stay digits."""

    def spell(match: re.Match[str]) -> str:
        before = text[: match.start()].rstrip().rsplit(" ", 1)[-1].casefold()
        return match.group(0) if before in MONTH_NAMES else cardinal(int(match.group(1)))

    pattern = rf"(?<![\d:.,/-])\b([1-9]|10)\b(?![\d:.,/%-])(?! (?:{MONTHS})\b)(?!(?:st|nd|rd|th)\b)"
    return re.sub(pattern, spell, text, flags=re.IGNORECASE)


def join(before: str, addition: str) -> str:
    """Append a dictated phrase: one space, a capital after a sentence end or a new paragraph."""
    addition = addition.strip()
    if not addition:
        return before
    stripped = before.rstrip(" ")
    at_start = not stripped or stripped.endswith("\n") or stripped[-1] in SENTENCE_END or stripped.endswith(("!\u201d", ".\u201d", "?\u201d"))
    if at_start:
        addition = addition[0].upper() + addition[1:]
    elif addition[0] in ",.;:!?":
        return stripped + addition
    else:
        addition = _soften(addition)
    separator = "" if not stripped or stripped.endswith("\n") or addition[0] in ",.;:!?" else " "
    return stripped + separator + addition


def clean_dictation(text: str) -> str:
    """One utterance from the dictation engine, ready to append."""
    return words_for_small_numbers(apply_spoken_marks(text.strip()))
