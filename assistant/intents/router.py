"""Routes a transcript to an intent with hassil, the Home Assistant template matcher."""

from __future__ import annotations

import difflib
import functools
import itertools
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml
from hassil import Intents, recognize
from hassil.intents import RangeSlotList
from hassil.sample import sample_intents, sample_sentence

from assistant.errors import IntentError
from assistant.intents.numbers import cardinal

log = logging.getLogger(__name__)

UNKNOWN = "Unknown"

NEAREST_SAMPLES = 400
"""Sentences sampled per template for ``nearest`` (optional words multiply quickly)."""

NUMBER = "n"
"""Stands for any number when comparing sentence shapes."""

NEAREST_MIN = 0.8
"""Word-sequence similarity a misheard command needs to count as the nearest template."""

DURATION_UNITS = {"hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(frozen=True)
class IntentMatch:
    name: str
    """Intent name as in the contract, e.g. "GetTime"; "Unknown" when nothing matched."""

    slots: dict[str, Any] = field(default_factory=dict)
    """Slot values as plain JSON (numbers as numbers)."""

    text: str = ""
    """The normalized text that was matched."""

    template: str = ""
    """Which sentence template matched, for `intents test`."""


def normalize(text: str) -> str:
    """Lower case, no punctuation but apostrophes, single spaces: how templates are written."""
    text = text.casefold().replace("’", "'")
    text = re.sub(r"[^\w' ]+", " ", text)
    text = re.sub(r"\bat (1[0-2]|[1-9])([0-5]\d)\b", r"at \1 \2", text)  # Whisper's "at 1030" is "at 10:30"
    text = re.sub(r"\b(\d{1,2})(am|pm)\b", r"\1 \2", text)  # and "7pm" "7 pm"
    return " ".join(text.split())


def package_sentence_files(language: str = "en") -> list[Path]:
    folder = resources.files("assistant._config").joinpath("sentences", language)
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith((".yaml", ".yml")))


class Router:
    def __init__(self, files: Iterable[Path]) -> None:
        self.files = list(files)
        merged: dict[str, Any] = {}
        for path in self.files:
            data = _load_yaml(path)
            _validate(path, data)
            _merge(merged, data)
        self.intents = Intents.from_dict(merged)
        self._samples: list[tuple[str, str]] | None = None
        """Lazily built (shape, sentence) pairs for ``nearest``."""
        self._index: ShapeIndex | None = None
        """The same, with what the quick likeness bound needs counted (built with them)."""

    @classmethod
    def for_config_dir(cls, config_dir: Path | None, language: str = "en") -> "Router":
        files = package_sentence_files(language)
        if config_dir is not None:
            user = config_dir / "sentences"
            if user.is_dir():
                files += sorted(p for p in user.glob("*.y*ml"))
        return cls(files)

    def route(self, text: str) -> IntentMatch:
        clean = normalize(text)
        if not clean:
            return IntentMatch(UNKNOWN, {}, clean)
        result = recognize(clean, self.intents)
        if result is None:
            return IntentMatch(UNKNOWN, {}, clean)
        slots = _plain_slots(result.intent.name, {name: entity.value for name, entity in result.entities.items()})
        return IntentMatch(result.intent.name, slots, clean, result.intent_sentence.text or "")

    def nearest(self, text: str, minimum: float = NEAREST_MIN) -> IntentMatch:
        """The template sentence closest to ``text`` letter by letter, for mishearings like
        "repeat not" or "Santa timer for 10 seconds".

        Numbers are set aside before comparing and put back into the chosen sentence, so a
        near miss can fix the words around a number but never invents the number itself.
        """
        ranked = self.nearest_sentences(text, 1, floor=minimum)
        if not ranked or ranked[0][1] < minimum:
            return IntentMatch(UNKNOWN, {}, digits_for_number_words(normalize(text)))
        sentence, ratio, template = ranked[0]
        match = self.route(sentence)
        return IntentMatch(match.name, match.slots, match.text, f"~{template} ({ratio:.2f})")

    def nearest_sentences(self, text: str, count: int, floor: float = 0.0) -> list[tuple[str, float, str]]:
        """Up to ``count`` template sentences closest to ``text`` letter by letter, best first,
        as (sentence with the heard numbers put back, likeness 0..1, template sample); only
        those with a likeness over ``floor`` (which lets the quick bounds skip most sentences)."""
        clean = digits_for_number_words(normalize(text))
        if not clean:
            return []
        numbers = re.findall(r"\d+", clean)
        shape = re.sub(r"\d+", NUMBER, clean)
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(shape)
        # Every sentence's quick bound at once (letters in common, order ignored: difflib's
        # quick_ratio), then, in the order of those bounds, the longest common subsequence as a
        # tighter bound and the exact ratio only where that bound still reaches the count-th best
        # (a plain scan compared ~500 of ~7,000 sentences, about 100 ms a call; this about 8 ms,
        # same result). Ties go to the earlier template sentence, as in a plain scan.
        index = self._shape_index()
        eligible = np.flatnonzero(index.numbers == len(numbers))
        bounds = index.quick_ratios(shape)[eligible]
        kept = bounds > floor
        eligible, bounds = eligible[kept], bounds[kept]
        order = np.lexsort((eligible, -bounds))
        positions = letter_positions(shape)
        best: list[tuple[float, int, str]] = []  # (ratio, index, sample), at most count, best first
        for position in order:
            at, bound = int(eligible[position]), float(bounds[position])
            least = best[-1][0] if len(best) == count else floor
            if bound < least:
                break
            sample_shape, sample = index.pairs[at]
            if 2.0 * common_subsequence(sample_shape, positions, len(shape)) / (len(sample_shape) + len(shape)) < least:
                continue  # a tighter bound, in order (difflib's matches are a common subsequence)
            matcher.set_seq1(sample_shape)
            ratio = matcher.ratio()
            if ratio > floor and (len(best) < count or (ratio, -at) > (least, -best[-1][1])):
                best.append((ratio, at, sample))
                best.sort(key=lambda item: (-item[0], item[1]))
                del best[count:]
        ranked = []
        for ratio, _index, sample in best:
            pieces = iter(numbers)
            ranked.append((re.sub(r"\{[^}]+\}", lambda _m: next(pieces), sample).strip(), ratio, sample))
        return ranked

    def could_be_command(self, text: str, exact: bool = False) -> bool:
        """Nothing (a bare name), or a command as heard (``exact``) or nearly (letter likeness,
        no weighing): what may follow a wake phrase in a call."""
        if not any(ch.isalnum() for ch in text):
            return True
        return any(self.route(variant).name != UNKNOWN or (not exact and self.nearest(variant).name != UNKNOWN)
                   for variant in misheard_numbers(text))

    def one_word_sentences(self) -> list[str]:
        """The sentences of one word the templates allow ("help", "stop", "next")."""
        return [sample.strip() for shape, sample in self._sample_shapes() if len(shape.split()) == 1 and NUMBER not in shape]

    def _sample_shapes(self) -> list[tuple[str, str]]:
        """(shape with NUMBER for each number, sentence with {slot} placeholders) for every template."""
        if self._samples is None:
            shapes: dict[str, str] = {}
            for intent in self.intents.intents.values():
                for block in intent.data:
                    for sentence in block.sentences:
                        # its optional words left out first: the shortest way to say it is the
                        # commonest, and a template's first NEAREST_SAMPLES all had its first
                        # optional part ("am I free today at ..." but never "am I free at 3")
                        bare = sample_sentence(sentence, self.intents.slot_lists, self.intents.expansion_rules,
                                               expand_ranges=False, skip_optionals=True)
                        samples = sample_sentence(sentence, self.intents.slot_lists, self.intents.expansion_rules,
                                                  expand_ranges=False)
                        for sample in itertools.chain(itertools.islice(bare, NEAREST_SAMPLES),
                                                      itertools.islice(samples, NEAREST_SAMPLES)):
                            if any(not isinstance(self.intents.slot_lists.get(n), RangeSlotList)
                                   for n in re.findall(r"\{([^}]+)\}", sample)):
                                continue  # wildcards and text lists cannot be repaired from a shape
                            shapes.setdefault(normalize(re.sub(r"\{[^}]+\}", NUMBER, sample)), sample)
            self._samples = [(shape, sample) for shape, sample in shapes.items()]
        return self._samples

    def _shape_index(self) -> ShapeIndex:
        if self._index is None:
            self._index = ShapeIndex(self._sample_shapes())
        return self._index

    def intent_names(self) -> list[str]:
        return sorted(self.intents.intents)

    def examples(self, per_intent: int = 1) -> dict[str, list[str]]:
        """Example sentences per intent, generated from the templates (for Help)."""
        out: dict[str, list[str]] = {}
        for name, sentence in sample_intents(self.intents, max_sentences_per_intent=per_intent, language="en"):
            out.setdefault(name, []).append(sentence)
        return out


class ShapeIndex:
    """The template sentences' shapes with their letters counted, so difflib's quick_ratio
    against one heard shape is a few array operations for all of them instead of a loop."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        """(shape, sentence with {slot} placeholders), as Router._sample_shapes gives them."""
        self.numbers = np.array([shape.split().count(NUMBER) for shape, _ in pairs], dtype=np.int32)
        """How many numbers each shape holds."""
        self.lengths = np.array([len(shape) for shape, _ in pairs], dtype=np.int64)
        self.letters = {letter: i for i, letter in enumerate(sorted({ch for shape, _ in pairs for ch in shape}))}
        self.counts = np.zeros((len(pairs), len(self.letters)), np.uint8)
        """Occurrences of each letter (the columns, ``letters``) in each shape (the rows)."""
        for row, (shape, _) in enumerate(pairs):
            for ch in shape:
                self.counts[row, self.letters[ch]] += 1

    def quick_ratios(self, shape: str) -> np.ndarray:
        """difflib's quick_ratio of each shape against ``shape``: the same numbers, as floats."""
        wanted = np.zeros(len(self.letters), np.int64)
        for ch in shape:
            if ch in self.letters:
                wanted[self.letters[ch]] += 1
        common = np.minimum(self.counts, np.minimum(wanted, 255).astype(np.uint8)).sum(axis=1, dtype=np.int64)
        return 2.0 * common / (self.lengths + len(shape))


def letter_positions(text: str) -> dict[str, int]:
    """For common_subsequence: each letter's positions in ``text`` as the bits of an int."""
    positions: dict[str, int] = {}
    for at, ch in enumerate(text):
        positions[ch] = positions.get(ch, 0) | (1 << at)
    return positions


def common_subsequence(text: str, positions: dict[str, int], length: int) -> int:
    """The length of the longest common subsequence of ``text`` and the text of ``length``
    letters whose ``positions`` are given, computed a row at a time on the bits of an int
    (Hyyrö's bit-parallel form of the dynamic programme)."""
    row = (1 << length) - 1
    for ch in text:
        matched = row & positions.get(ch, 0)
        row = (row + matched) | (row - matched)
    return length - bin(row & ((1 << length) - 1)).count("1")


def digits_for_number_words(text: str) -> str:
    """ "one hour and fifteen minutes" -> "1 hour and 15 minutes", so shapes compare alike."""
    return _NUMBER_WORDS.sub(lambda m: str(_number_values()[m.group(0)]), text)


_FUSED_FOR = re.compile(r"\b(?:four|4)\s+(?=\d)|\b4(?=\d\d\b)", re.IGNORECASE)

_FOR_TEN = re.compile(r"\b(?:fourteen|14)\b", re.IGNORECASE)

_WORD_FOR_ONE = re.compile(r"\b(?!an?\b|the\b|and\b|\d)[\w-]+?(?:-|\s+)(?=(?:hour|hower|minute|second)s?\b)", re.IGNORECASE)


def read_as_one(text: str, position: int) -> bool:
    """Is the word at ``position`` one that ``misheard_numbers`` reads as "1" (a word right before
    a unit)? That reading is already weighed; no other number is tried in its place."""
    return _WORD_FOR_ONE.match(text, position) is not None


def unfused_for(text: str) -> str:
    """ "a timer of 425 minutes" -> "a timer of for 25 minutes": Whisper often writes "for"
    before a number as a four, alone ("four 90") or fused with it ("425", and "14" for "for ten")."""
    return _FOR_TEN.sub("for 10", _FUSED_FOR.sub("for ", text))


def misheard_numbers(text: str) -> list[str]:
    """``text`` with the numbers Whisper often mishears read back as numbers: a "for" written
    as a four undone, and a word right before a unit ("for well hour and 15 minutes") taken as
    "1", so the nearest template sentences include the likely ones for weighing."""
    variants = [text, unfused_for(text)]
    variants += [_WORD_FOR_ONE.sub("1 ", variant) for variant in variants]
    return list(dict.fromkeys(variants))


@functools.lru_cache(maxsize=1)
def _number_values() -> dict[str, int]:
    values: dict[str, int] = {}
    for n in range(100, -1, -1):
        words = " ".join(re.findall(r"[a-z]+", cardinal(n)))
        values[words] = n
    return values


_NUMBER_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted((re.escape(w) for w in _number_values()), key=len, reverse=True)) + r")\b"
)


def _plain_slots(intent: str, slots: dict[str, Any]) -> dict[str, Any]:
    """Numbers as ints where whole; a duration's parts summed into ``seconds`` (the contract's slot)."""
    plain = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in slots.items()}
    if intent == "SetTimer":
        total = sum(int(plain.pop(unit, 0)) * factor for unit, factor in DURATION_UNITS.items() if unit != "seconds")
        total += int(plain.pop("seconds", 0))
        plain["seconds"] = total
    return plain


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else "?"
        raise IntentError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise IntentError(f"{path}: cannot read sentences: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise IntentError(f"{path}:1: a sentence file needs 'language: en' and an 'intents:' mapping")
    return data


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    """User files add sentences to an intent (hassil's own merge appends lists)."""
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        else:
            into[key] = value


def _validate(path: Path, data: dict[str, Any]) -> None:
    """Parse every template of one file now (hassil parses lazily), so errors name their file and intent."""
    try:
        intents = Intents.from_dict(data)
    except Exception as exc:  # hassil raises assorted errors for malformed structure
        raise IntentError(f"{path}: invalid sentence file: {exc}") from None
    for name, intent in intents.intents.items():
        for block in intent.data:
            try:
                block.sentences  # noqa: B018 - the property parses the templates
            except Exception as exc:
                raise IntentError(f"{path}: intent {name}: invalid template: {exc}") from None
