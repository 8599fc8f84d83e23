"""Recognition grammars built from the same hassil templates the router matches.

Short commands are recognized best by an engine restricted to what can be said. The
templates are compiled, not enumerated (the timer templates alone expand to millions of
sentences): to JSGF for PocketSphinx, and to a phrase list for Vosk. Templates with
wildcards ("your name is {name}") cannot be restricted and are left to open recognition.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from hassil import Intents
from hassil.expression import Alternative, Expression, ListReference, Permutation, RuleReference, Sentence, TextChunk
from hassil.expression import Sequence as HassilSequence
from hassil.intents import RangeSlotList, TextSlotList
from hassil.sample import sample_intents

from assistant.intents.numbers import cardinal
from assistant.speech.engines import words_of

log = logging.getLogger(__name__)

MAX_PHRASES = 4000
"""Cap for the enumerated phrase list (Vosk), sampled evenly across intents."""


@dataclass(frozen=True)
class Grammar:
    jsgf: str
    """The whole grammar in JSGF, for PocketSphinx."""

    phrases: tuple[str, ...]
    """Example phrases plus every number word, for engines that take phrase lists (Vosk)."""

    words: frozenset[str]
    """Every word the grammar can produce, for dictionary checks."""


class _Compiler:
    def __init__(self, intents: Intents, known: Callable[[str], bool]) -> None:
        self.intents = intents
        self.known = known
        self.rules: dict[str, str] = {}
        self.words: set[str] = set()
        self.skipped: list[str] = []

    def sentence(self, sentence: Sentence) -> str | None:
        return self.expression(sentence.expression)

    def expression(self, expr: Expression) -> str | None:
        """JSGF for one hassil expression; None when it cannot be restricted (wildcards, unknown words)."""
        if isinstance(expr, TextChunk):
            words = words_of(expr.text)
            if not all(self.known(w) for w in words):
                return None
            self.words.update(words)
            return " ".join(words)
        if isinstance(expr, Permutation):
            orders = itertools.islice(itertools.permutations(expr.items), 24)
            return self._alternatives([HassilSequence(items=list(order)) for order in orders], False)
        if isinstance(expr, Alternative):
            return self._alternatives(expr.items, expr.is_optional)
        if isinstance(expr, HassilSequence):
            parts = [self.expression(item) for item in expr.items]
            if any(p is None for p in parts):
                return None
            joined = " ".join(p for p in parts if p)
            return joined
        if isinstance(expr, RuleReference):
            return self._rule(expr.rule_name)
        if isinstance(expr, ListReference):
            return self._list(expr.list_name)
        return None

    def _alternatives(self, items: Sequence[Expression], optional: bool) -> str | None:
        compiled = [self.expression(item) for item in items]
        usable = [c for c in compiled if c is not None]
        if not usable:
            return None
        empty = optional or any(c == "" for c in usable)
        body = " | ".join(f"( {c} )" for c in dict.fromkeys(usable) if c)
        if not body:
            return ""
        return f"[ {body} ]" if empty else f"( {body} )"

    def _rule(self, name: str) -> str | None:
        rule_id = "rule_" + re.sub(r"\W", "_", name)
        if rule_id not in self.rules:
            rule = self.intents.expansion_rules.get(name)
            body = self.expression(rule.expression) if rule else None
            if body is None:
                return None
            self.rules[rule_id] = body or "<NULL>"
        return f"<{rule_id}>"

    def _list(self, name: str) -> str | None:
        rule_id = "list_" + re.sub(r"\W", "_", name)
        if rule_id in self.rules:
            return f"<{rule_id}>"
        slot_list = self.intents.slot_lists.get(name)
        values: list[str] = []
        if isinstance(slot_list, RangeSlotList):
            numbers = [int(n) for n in slot_list.get_numbers()]
            compact = _numbers_jsgf(numbers)
            if compact is not None and all(self.known(w) for w in compact[1]):
                self.words.update(compact[1])
                self.rules[rule_id] = compact[0]
                return f"<{rule_id}>"
            values = [" ".join(words_of(cardinal(n))) for n in numbers]
        elif isinstance(slot_list, TextSlotList):
            for value in slot_list.values:
                text = value.text_in.text if isinstance(value.text_in, TextChunk) else None
                if text:
                    values.append(" ".join(words_of(text)))
        values = [v for v in values if v and all(self.known(w) for w in v.split())]
        if not values:
            return None
        for v in values:
            self.words.update(v.split())
        self.rules[rule_id] = " | ".join(dict.fromkeys(values))
        return f"<{rule_id}>"


def build_grammar(intents: Intents, wake_phrases: Iterable[str], known: Callable[[str], bool] = lambda w: True) -> Grammar:
    """Compile every restrictable template, optionally preceded by a wake phrase."""
    compiler = _Compiler(intents, known)
    commands: list[str] = []
    for name, intent in sorted(intents.intents.items()):
        for block in intent.data:
            for sentence in block.sentences:
                compiled = compiler.sentence(sentence)
                if compiled:
                    commands.append(compiled)
                else:
                    compiler.skipped.append(f"{name}: {sentence.text}")
    wake = [" ".join(words_of(p)) for p in wake_phrases if words_of(p) and all(known(w) for w in words_of(p))]
    compiler.words.update(w for p in wake for w in p.split())
    lines = ["#JSGF V1.0;", "grammar earpiece;"]
    for rule_id, body in compiler.rules.items():
        lines.append(f"<{rule_id}> = {body} ;")
    lines.append("<command> = " + " | ".join(f"( {c} )" for c in dict.fromkeys(commands)) + " ;")
    if wake:
        lines.append("<wake> = " + " | ".join(f"( {w} )" for w in wake) + " ;")
        # <command> named once: PocketSphinx copies a rule's network at every reference
        lines.append("public <utterance> = ( [ <wake> ] <command> ) | <wake> ;")
    else:
        lines.append("public <utterance> = <command> ;")
    jsgf = "\n".join(lines) + "\n"
    if compiler.skipped:
        log.debug("templates left to open recognition: %s", "; ".join(compiler.skipped))
    phrases = _phrases(intents, wake, compiler.words)
    return Grammar(jsgf, phrases, frozenset(compiler.words))


def _numbers_jsgf(numbers: Sequence[int]) -> tuple[str, set[str]] | None:
    """The numbers (all under 100) as JSGF that says each tens word once ("twenty [ one | two
    ]" for 20-22), with the words it uses; None for other numbers. The same sentences as listing
    them ("twenty one | twenty two | ..."), but PocketSphinx builds its search network from the
    JSGF as written and copies it at every reference: listed, the command grammar took 58 MB
    and 0.36 s to compile, and every number was a race of parallel "twenty"s while decoding."""
    wanted = sorted(set(numbers))
    if not wanted or wanted[0] < 0 or wanted[-1] > 99:
        return None
    alternatives: list[str] = [" ".join(words_of(cardinal(n))) for n in wanted if n < 20]
    for tens in sorted({n // 10 for n in wanted if n >= 20}):
        units = [n % 10 for n in wanted if n // 10 == tens]
        word = " ".join(words_of(cardinal(tens * 10)))
        after = " | ".join(" ".join(words_of(cardinal(u))) for u in units if u)
        if not after:
            alternatives.append(word)
        else:
            alternatives.append(f"{word} [ {after} ]" if 0 in units else f"{word} ( {after} )")
    words = {w for n in wanted for w in words_of(cardinal(n))}
    return " | ".join(f"( {a} )" for a in alternatives), words


def _phrases(intents: Intents, wake: list[str], words: set[str]) -> tuple[str, ...]:
    """Sampled sentences (number words spelled out), the wake phrases and every single word."""
    per_intent = max(1, MAX_PHRASES // max(1, len(intents.intents)))
    sampled = {
        " ".join(words_of(text))
        for _name, text in sample_intents(intents, max_sentences_per_intent=per_intent, language="en")
    }
    return tuple(sorted(set(wake) | {s for s in sampled if s} | words))
