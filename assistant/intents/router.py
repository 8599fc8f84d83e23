"""Routes a transcript to an intent with hassil, the Home Assistant template matcher."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml
from hassil import Intents, recognize
from hassil.sample import sample_intents

from assistant.errors import IntentError

log = logging.getLogger(__name__)

UNKNOWN = "Unknown"

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
        """The slot-less command closest to ``text`` letter by letter, for mishearings like "repeat not".

        Only intents without slots qualify: a near miss on "twenty five" must not become a guess.
        """
        clean = normalize(text)
        if not clean:
            return IntentMatch(UNKNOWN, {}, "")
        best_ratio, best = 0.0, None
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(clean)
        for name, sample in self._slotless_samples():
            matcher.set_seq1(sample)
            if matcher.real_quick_ratio() > best_ratio and matcher.quick_ratio() > best_ratio:
                ratio = matcher.ratio()
                if ratio > best_ratio:
                    best_ratio, best = ratio, (name, sample)
        if best is None or best_ratio < minimum:
            return IntentMatch(UNKNOWN, {}, clean)
        return IntentMatch(best[0], {}, best[1], f"~{best[1]} ({best_ratio:.2f})")

    def _slotless_samples(self) -> list[tuple[str, str]]:
        if self._samples is None:
            self._samples = []
            for name, sentence in sample_intents(self.intents, max_sentences_per_intent=300, language="en"):
                clean = normalize(sentence)
                result = recognize(clean, self.intents)
                if result is not None and not result.entities and result.intent.name == name:
                    self._samples.append((name, clean))
        return self._samples

    def intent_names(self) -> list[str]:
        return sorted(self.intents.intents)

    def examples(self, per_intent: int = 1) -> dict[str, list[str]]:
        """Example sentences per intent, generated from the templates (for Help)."""
        out: dict[str, list[str]] = {}
        for name, sentence in sample_intents(self.intents, max_sentences_per_intent=per_intent, language="en"):
            out.setdefault(name, []).append(sentence)
        return out


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
