"""Grammars as minimal word graphs: the same sentences, the same best scores, far fewer states."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from assistant.audio.wavio import read_wav
from assistant.intents.grammar import build_grammar
from assistant.intents.router import Router
from assistant.speech import word_graph
from assistant.speech.word_graph import WordGraph


def compiled(jsgf: str) -> WordGraph:
    """PocketSphinx's own FSG for ``jsgf``, as written (every rule reference a copy, null transitions)."""
    from pocketsphinx import LogMath

    from assistant.speech.sphinx_engine import jsgf_graph

    return jsgf_graph(jsgf, LogMath(), 6.5)


def walk(graph: WordGraph, rng: random.Random) -> list[str]:
    """A random sentence of ``graph``: a walk from its start to its final state."""
    state, said = graph.start, []
    while state != graph.final:
        choices = [(word, target) for word, target, _ in graph.words.get(state, ())]
        choices += [(None, target) for target, _ in graph.nulls.get(state, ())]
        word, state = rng.choice(choices)
        if word:
            said.append(word)
    return said


@pytest.fixture(scope="module")
def command_graph(sphinx) -> WordGraph:  # type: ignore[no-untyped-def]
    grammar = build_grammar(Router.for_config_dir(None).intents, ["samantha"], sphinx.knows)
    return compiled(grammar.jsgf)


def test_the_command_grammar_keeps_every_sentence_and_its_score_in_a_fraction_of_the_states(command_graph) -> None:  # type: ignore[no-untyped-def]
    minimal = command_graph.minimal()
    assert minimal.states * 10 < command_graph.states
    assert minimal.word_transitions() < command_graph.word_transitions()
    rng = random.Random(7)
    for graph in (command_graph, minimal):  # sentences of each are sentences of the other
        for _ in range(150):
            sentence = walk(graph, rng)
            assert minimal.score(sentence) == pytest.approx(command_graph.score(sentence), abs=1e-3), sentence
    for said in ("samantha what time is it", "what time is it", "samantha cancel the timer"):
        assert minimal.score(said.split()) is not None
    for unsaid in ("samantha book a table for two", "samantha what time", "time is it"):
        assert command_graph.score(unsaid.split()) is None and minimal.score(unsaid.split()) is None


def test_a_minimal_graph_decodes_each_word_once_per_place(command_graph) -> None:  # type: ignore[no-untyped-def]
    minimal = command_graph.minimal()
    for state, arcs in minimal.words.items():
        words = [word for word, _, _ in arcs]
        assert len(words) == len(set(words)), state  # deterministic: one way on per word
    assert all(target == minimal.final for arcs in minimal.nulls.values() for target, _ in arcs)


def test_shared_starts_and_ends_are_merged() -> None:
    jsgf = ("#JSGF V1.0;\ngrammar g;\n<day> = monday | tuesday ;\n"
            "public <s> = ( what time is it ) | ( what day is it ) | ( is it <day> ) ;\n")
    graph = compiled(jsgf)
    minimal = graph.minimal()
    # what -> {time | day} -> is -> it -> end and is -> it -> {monday | tuesday} -> end: 9 word
    # transitions between 7 states, and the final one
    assert minimal.word_transitions() == 9 and minimal.states == 8
    assert (graph.word_transitions(), graph.states) == (12, 22)  # as written
    for sentence in ("what time is it", "what day is it", "is it monday", "is it tuesday"):
        assert minimal.score(sentence.split()) == pytest.approx(graph.score(sentence.split()), abs=1e-3)
    assert minimal.score("what is it".split()) is None
    again = WordGraph.parse(minimal.text())  # the FSG text PocketSphinx reads
    assert again.score("is it tuesday".split()) == pytest.approx(minimal.score("is it tuesday".split()), abs=1e-5)


def test_a_grammar_too_large_to_determinize_is_compiled_as_written(monkeypatch, real_speech: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.speech.sphinx_engine import SphinxEngine
    from test_engines import stream

    from assistant.intents.grammar import Grammar

    monkeypatch.setattr(word_graph, "MOST_STATES", 2)
    engine = SphinxEngine(open_vocabulary=False)
    jsgf = "#JSGF V1.0;\ngrammar g;\npublic <s> = ( one two three ) | ( four five six ) | yes ;\n"
    words = frozenset("one two three four five six yes".split())
    _, final = stream(engine, read_wav(real_speech / "sr-one-two-three.wav"), Grammar(jsgf, (), words))  # type: ignore[arg-type]
    assert final.text == "one two three"
