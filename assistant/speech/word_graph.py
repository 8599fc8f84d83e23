"""A recognition grammar as the smallest deterministic word graph that scores every sentence alike.

PocketSphinx compiles JSGF into a finite-state grammar the way it is written: every alternative
and every rule reference becomes states of its own, joined by null transitions. The command
grammar came out as 6,334 states and 33,207 null transitions for 2,348 word transitions, and the
FSG search builds a lexical tree (with cross-word triphone fan-out) at every state a word leaves
from: 42 MB, and about 9 ms of CPU per 20 ms of audio. The same sentences, with the same best-path
score each, fit in 339 states: remove the null transitions, determinize (one transition per word
out of a state, so "what" is decoded once, not once per sentence that starts with it) and merge
states whose futures are the same (so "is it" and the number words are decoded once, not once per
sentence that ends with them). That graph took 4 MB, and a ninth of the CPU at the same beams
(bench/intents.py's tuning commands, decoded alone: 20 s against 187).

Scores are log probabilities combined as the Viterbi search combines them (the best path wins),
so each sentence keeps its best score exactly; weights are pushed toward the start, which only
moves where the search learns of them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

QUANTUM = 1e-4
"""Log-probability resolution at which two graph states count as the same (far finer than the
FSG file's six decimals of probability)."""

MOST_STATES = 200_000
"""Determinizing can multiply states (exponentially, in theory); past this many the graph is
given up on, and the grammar is compiled as written."""


class GraphTooLarge(Exception):
    """Determinizing this graph would take more states than MOST_STATES."""


@dataclass
class WordGraph:
    """A finite-state grammar: word transitions and null (empty) transitions, scored in log
    probability, one start and one final state (PocketSphinx's FSG text format)."""

    name: str
    start: int
    final: int
    states: int
    words: dict[int, list[tuple[str, int, float]]] = field(default_factory=lambda: defaultdict(list))
    """Per state: (word, next state, log probability)."""
    nulls: dict[int, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    """Per state: (next state, log probability) of the transitions that read no word."""

    @classmethod
    def parse(cls, text: str) -> "WordGraph":
        """Read PocketSphinx's FSG text format (as ``FsgModel.writefile`` writes it)."""
        name, start, final, states = "grammar", 0, 0, 0
        words: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
        nulls: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for line in text.splitlines():
            parts = line.split()
            if not parts:
                continue
            key = parts[0]
            if key == "FSG_BEGIN" and len(parts) > 1:
                name = parts[1]
            elif key in ("NUM_STATES", "N"):
                states = int(parts[1])
            elif key in ("START_STATE", "S"):
                start = int(parts[1])
            elif key in ("FINAL_STATE", "F"):
                final = int(parts[1])
            elif key in ("TRANSITION", "T"):
                source, target, probability = int(parts[1]), int(parts[2]), float(parts[3])
                if probability <= 0.0:
                    continue
                if len(parts) > 4:
                    words[source].append((parts[4], target, math.log(probability)))
                else:
                    nulls[source].append((target, math.log(probability)))
        return cls(name, start, final, states, words, nulls)

    def text(self) -> str:
        """This graph in PocketSphinx's FSG text format."""
        lines = [f"FSG_BEGIN {self.name}", f"NUM_STATES {self.states}",
                 f"START_STATE {self.start}", f"FINAL_STATE {self.final}"]
        for source in sorted(set(self.words) | set(self.nulls)):
            for word, target, logp in self.words.get(source, ()):
                lines.append(f"TRANSITION {source} {target} {math.exp(logp):.6f} {word}")
            for target, logp in self.nulls.get(source, ()):
                lines.append(f"TRANSITION {source} {target} {math.exp(logp):.6f}")
        lines.append("FSG_END")
        return "\n".join(lines) + "\n"

    def score(self, sentence: list[str]) -> float | None:
        """The best log probability of ``sentence`` through the graph; None where it cannot be said."""
        current = self._closure({self.start: 0.0})
        for word in sentence:
            following: dict[int, float] = {}
            for state, logp in current.items():
                for label, target, step in self.words.get(state, ()):
                    if label == word and logp + step > following.get(target, -math.inf):
                        following[target] = logp + step
            current = self._closure(following)
        return current.get(self.final)

    def word_transitions(self) -> int:
        return sum(len(arcs) for arcs in self.words.values())

    def minimal(self) -> "WordGraph":
        """The smallest deterministic graph with no null transitions but into the final state
        that gives every sentence the same best score."""
        arcs, ends = self._determinized()
        group = _merge_alike(arcs, ends)
        final = max(group) + 1
        words: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
        nulls: dict[int, list[tuple[int, float]]] = defaultdict(list)
        done: set[int] = set()
        for state, out in enumerate(arcs):
            if group[state] in done:
                continue
            done.add(group[state])
            words[group[state]] = [(word, group[target], logp) for word, target, logp in out]
            if state in ends:
                nulls[group[state]].append((final, ends[state]))
        return WordGraph(self.name, group[0], final, final + 1, words, nulls)

    def _closure(self, reached: dict[int, float]) -> dict[int, float]:
        """``reached`` and every state its null transitions lead to, each at its best score."""
        best = dict(reached)
        pending = list(reached)
        while pending:
            state = pending.pop()
            for target, logp in self.nulls.get(state, ()):
                score = best[state] + logp
                if score > best.get(target, -math.inf) + 1e-12:
                    best[target] = score
                    pending.append(target)
        return best

    def _determinized(self) -> tuple[list[list[tuple[str, int, float]]], dict[int, float]]:
        """Subset construction in the max-plus (Viterbi) semiring: each new state is a set of old
        states with what each still owes of the best score so far (all <= 0, one at 0). Returns
        the transitions per new state (0 is the start) and the final score of those that may end."""
        first = self._closure({self.start: 0.0})
        index = {_key(first): 0}
        subsets = [first]
        arcs: list[list[tuple[str, int, float]]] = []
        ends: dict[int, float] = {}
        while len(arcs) < len(subsets):
            number = len(arcs)
            subset = subsets[number]
            if self.final in subset:
                ends[number] = subset[self.final]
            by_word: dict[str, dict[int, float]] = defaultdict(dict)
            for state, owed in subset.items():
                for word, target, logp in self.words.get(state, ()):
                    reached = by_word[word]
                    if owed + logp > reached.get(target, -math.inf):
                        reached[target] = owed + logp
            out: list[tuple[str, int, float]] = []
            for word, reached in sorted(by_word.items()):
                closed = self._closure(reached)
                best = max(closed.values())
                rest = {state: score - best for state, score in closed.items()}
                key = _key(rest)
                if key not in index:
                    if len(subsets) >= MOST_STATES:
                        raise GraphTooLarge(f"{self.name}: more than {MOST_STATES} states when determinized")
                    index[key] = len(subsets)
                    subsets.append(rest)
                out.append((word, index[key], best))
            arcs.append(out)
        return arcs, ends


def _key(subset: dict[int, float]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((state, round(score / QUANTUM)) for state, score in subset.items()))


def _merge_alike(arcs: list[list[tuple[str, int, float]]], ends: dict[int, float]) -> list[int]:
    """A group number per state, states in one group having the same futures (Moore's partition
    refinement: split groups by final score, then by where each word leads, until stable)."""
    groups: dict[object, int] = {}
    group = [groups.setdefault(round(ends[s] / QUANTUM) if s in ends else None, len(groups)) for s in range(len(arcs))]
    while True:
        signatures: dict[object, int] = {}
        refined = [
            signatures.setdefault(
                (group[s], tuple((word, group[target], round(logp / QUANTUM)) for word, target, logp in arcs[s])),
                len(signatures))
            for s in range(len(arcs))
        ]
        if len(signatures) == len(groups):
            return refined
        groups, group = signatures, refined  # type: ignore[assignment]
