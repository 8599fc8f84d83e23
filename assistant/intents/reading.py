"""Reading a command out of what was heard: templates first, then the dictation engine's own ears.

Whisper's greedy reading of a short command is often a near miss ("repeat now", "some men
don't help"). The sentences the templates allow near it are weighed on the same audio
(rescore), and where nothing can be weighed, the command grammar's reading and letter likeness
decide. The same object re-reads short dictation commands ("Crash Matt." for "scratch that").
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Sequence

import numpy as np

from assistant.errors import EarpieceError
from assistant.intents.grammar import Grammar, build_grammar
from assistant.intents.numbers import cardinal
from assistant.intents.rescore import COMMAND_MARGIN, choose, written_like
from assistant.intents.router import (UNKNOWN, IntentMatch, Router, digits_for_number_words, misheard_numbers, normalize,
                                      read_as_one)
from assistant.letters.spoken import COMMAND_PHRASES, parse_command
from assistant.speech.engines import Engines, words_of
from assistant.speech.phonetics import Phonetics
from assistant.wake.matcher import WakeMatcher

log = logging.getLogger(__name__)

AGREEMENT_MIN = 0.7
"""How closely the grammar's reading must resemble the dictation text to overrule "Unknown"."""

DICTATION_COMMAND_AGREEMENT = 0.6
"""A misheard short dictation command needs at least this likeness to the grammar's reading."""

SOUND_GATE = 0.7
"""How unlike the words heard (Phonetics.unlikeness) a template sentence may sound and still be
weighed as what was said: Whisper's near misses sound like the command ("speak after" 0.17 from
"speak softer", "what made it" 0.33 from "what day is it", "failed" 0.62 from "help"), while the
short sentences that weighing favours (its scores leave out the end of the text) came from
readings that sound nothing like them ("let's see her." taken as "I need help", 0.94)."""

NEAREST_CANDIDATES = 8
"""Template sentences nearest a misheard command that the dictation engine weighs (a few ms each)."""

NUMBER_SOUND_TOLERANCE = 0.2
"""How unlike a number word (phone edit cost per phone of the number, Phonetics.distance) a word
may sound and still be weighed as that number: "free" for "three" (0.17, /f/ for /θ/ costs
half), "won" for "one" (0), where "at" is 0.25 from "eight" and "then" 0.33 from "ten"."""

NUMBER_WORDS = {cardinal(n): n for n in (*range(1, 21), *range(30, 100, 10))}
"""The numbers said as one word, that a recognizer may write as another word that sounds alike."""

MOST_NUMBER_GUESSES = 3
"""Words of one reading that are tried, one at a time, as the number they sound like."""


class CommandReader:
    """The intent in a transcript, repaired on the utterance's audio where it is a near miss."""

    def __init__(self, router: Router, engines: Engines, matcher: WakeMatcher, use_grammar: bool = True) -> None:
        self.router = router
        self.engines = engines
        self.matcher = matcher
        self.grammar = self._build_grammar() if use_grammar else None
        """The templates as a recognition grammar for the streaming engine (partials, re-readings)."""

    def _build_grammar(self) -> Grammar | None:
        engine = self.engines.streaming
        unknown = engine.unknown_words(self.matcher.phrases)
        if unknown:
            log.warning("the %s engine's dictionary lacks %s: the wake phrase is left to the dictation engine; "
                        "a Vosk model with that word, or a different wake word, makes it cheaper to spot",
                        engine.name, ", ".join(unknown))
        try:
            grammar = build_grammar(self.router.intents, self.matcher.phrases, engine.knows)
            engine.prepare(grammar)
        except Exception as exc:  # a grammar is an optimisation: without it, dictation still works
            log.warning("no command grammar for %s: %s", engine.name, exc)
            return None
        return grammar

    def understand(self, command: str, heard: str, audio: np.ndarray, prompt: str,
                   grammar_text: str | None = None) -> IntentMatch:
        """The intent of ``command`` (the part of the reading ``heard`` after the name), from
        the utterance ``audio`` that the dictation engine read with ``prompt``; ``grammar_text``:
        the command grammar's reading of that audio where it was decoded while spoken.

        Templates first; then the sentences they allow near what was heard, weighed by the
        dictation engine on the audio; where it cannot weigh, the nearest template sentence
        and the command grammar's reading, by likeness."""
        intent = self.router.route(command)
        if intent.name != UNKNOWN:
            return intent
        # read once: weighed as a candidate, or (where nothing can be weighed) checked for agreement
        reading = None
        if self.grammar is not None and self.engines.dictation is not None:
            reading = (self.router.route(self.matcher.strip(grammar_text)) if grammar_text is not None
                       else self._grammar_reading(audio))
        weighed = self._weighed(command, heard, reading, audio, prompt)
        if weighed is not None:
            return weighed
        nearest = self.router.nearest(command)
        if nearest.name != UNKNOWN:
            log.info("heard %r, taking it as %r", command, nearest.text)
            return nearest
        # Only slot-less readings: a number the dictation engine did not hear is never guessed.
        if reading and reading.name != UNKNOWN and not reading.slots:
            agreement = self.likeness(command, reading.text)
            if agreement >= AGREEMENT_MIN:
                log.info("heard %r; the command grammar read %r (agreement %.2f)", command, reading.text, agreement)
                return reading
        return intent

    def _weighed(self, command: str, heard: str, grammar_reading: IntentMatch | None, audio: np.ndarray,
                 prompt: str) -> IntentMatch | None:
        """The template sentence (near ``command``, or the command grammar's reading) that the
        dictation engine finds almost as likely as its own reading ``heard``; Unknown when none
        is; None when the engine cannot weigh sentences (then likeness decides)."""
        if self.engines.dictation is None or not heard.strip():
            return None
        variants = [*misheard_numbers(command), *numbers_by_sound(command, self.engines.phonetics)]
        sentences = [sentence for variant in dict.fromkeys(variants)
                     for sentence, _likeness, _template in self.router.nearest_sentences(variant, NEAREST_CANDIDATES)]
        sentences += numbers_in_place(command, self.router)
        if len(words_of(command)) == 1:
            # one word shares too few letters with the word said ("killed" for "help"): weigh them all
            sentences += self.router.one_word_sentences()
        if grammar_reading is not None and grammar_reading.name != UNKNOWN:
            sentences.append(digits_for_number_words(grammar_reading.text))
        sentences = [s for s in dict.fromkeys(sentences)
                     if s and self.engines.phonetics.unlikeness(command, s) <= SOUND_GATE]
        if not sentences:
            return IntentMatch(UNKNOWN, {}, normalize(command))
        prefix = heard[: len(heard) - len(command)] if command and heard.endswith(command) else ""
        candidates = [prefix + written_like(sentence, command or heard, prefix) for sentence in sentences]
        try:
            scores = self.engines.dictation.score(audio, [heard, *candidates], prompt)
        except Exception:  # likeness decides instead
            log.exception("the dictation engine could not weigh the readings")
            return None
        if scores is None or scores[0] == float("-inf"):
            return None
        choice = choose(scores[0], scores[1:], candidates, COMMAND_MARGIN)
        if choice is None:
            log.info("heard %r; no command is near enough", command)
            return IntentMatch(UNKNOWN, {}, normalize(command))
        match = self.router.route(sentences[choice.index])
        log.info("heard %r, taking it as %r (log-likelihood %+.1f against it)", command, sentences[choice.index], choice.margin)
        return match

    def _grammar_reading(self, audio: np.ndarray) -> IntentMatch | None:
        """Decode the utterance again, restricted to what the templates allow."""
        assert self.grammar is not None
        text = self.reread(self.grammar, audio)
        return self.router.route(self.matcher.strip(text)) if text is not None else None

    def reread(self, grammar: "Grammar | Sequence[str]", audio: np.ndarray) -> str | None:
        """``audio`` decoded again by the streaming engine, restricted to ``grammar``."""
        try:
            return self.engines.streaming.recognizer(grammar).read(audio).text
        except EarpieceError as exc:
            log.warning("grammar-restricted reading failed: %s", exc)
            return None

    def likeness(self, heard: str, reading: str) -> float:
        """How alike two readings are, by sound (phones) or by letters, whichever is kinder."""
        return max(self.engines.streaming.sounds_alike(heard, reading),
                   difflib.SequenceMatcher(None, " ".join(words_of(heard)), reading).ratio())

    def dictation_command(self, text: str, audio: np.ndarray, letter_finished: bool) -> str:
        """A short utterance while dictating that is no command as heard gets a second,
        grammar-restricted reading: "Crash Matt." is taken as "scratch that" only when the
        command grammar hears that too and the two readings look alike."""
        if parse_command(text) is not None or len(words_of(text)) > 5 or self.engines.dictation is None:
            return text
        reading = self.reread(COMMAND_PHRASES, audio)
        if reading is None or parse_command(reading) is None:
            return text
        agreement = self.likeness(text, reading)
        if letter_finished:
            needed = 0.25  # once the letter is finished, only commands are expected: a looser likeness will do
        elif len(words_of(text)) <= 3:
            needed = DICTATION_COMMAND_AGREEMENT - 0.1  # "crash note": too short to be a sentence that matters
        else:
            needed = DICTATION_COMMAND_AGREEMENT
        if agreement < needed:
            return text
        log.info("dictation: heard %r, taking it as the command %r (agreement %.2f)", text, reading, agreement)
        return reading


def numbers_by_sound(text: str, phonetics: Phonetics) -> list[str]:
    """``text`` with a word that sounds like a number word written as that number, one word at
    a time (up to MOST_NUMBER_GUESSES): "I'm free at free." gives "I'm 3 at free." and "I'm
    free at 3.", so the template sentences with a number near it ("am I free at 3") are
    weighed on the audio, which decides. By sound, not by a list of misspellings."""
    if not phonetics.phonemic:
        return []
    variants: list[str] = []
    for word in re.finditer(r"[A-Za-z']+", text):
        if len(variants) == MOST_NUMBER_GUESSES:
            break
        if word.group(0).casefold() in NUMBER_WORDS:
            continue  # already a number; read as one by the templates
        distance, number = min((phonetics.distance(word.group(0), n), n) for n in NUMBER_WORDS)
        if distance <= NUMBER_SOUND_TOLERANCE:
            variants.append(f"{text[: word.start()]}{NUMBER_WORDS[number]}{text[word.end():]}")
    return variants


NUMBER_PROBE = "7"
"""A number put in place of a word to see whether the templates take one there."""

MOST_NUMBER_PLACES = 2
"""Words of one reading whose place is tried with every number (each gives NUMBER_WORDS sentences to weigh)."""


def numbers_in_place(text: str, router: Router) -> list[str]:
    """The template sentences ``text`` is, with one of its words as a number: where the
    templates take a number in that word's place ("remind me to call my mother at time." with
    a 7 for "time" is a reminder), every number said as one word is put there, and the audio
    decides which was said. Sound alone cannot: "time" is far from "five" (two of three phones),
    but Whisper weighing "... at five." on the audio is not. A word that is a number already is
    left alone, as is one that ``misheard_numbers`` reads as "1" ("for well hour": tried as every
    number, "twelve" outscored the one said); the reader asks only of readings the templates do
    not take as heard."""
    tokens = list(re.finditer(r"[A-Za-z']+", text))
    sentences: list[str] = []
    places = 0
    for word in tokens:
        if places == MOST_NUMBER_PLACES:
            break
        if word.group(0).casefold() in NUMBER_WORDS or read_as_one(text, word.start()):
            continue
        before, after = text[: word.start()], text[word.end() :]
        if router.route(f"{before}{NUMBER_PROBE}{after}").name == UNKNOWN:
            continue
        places += 1
        for number in NUMBER_WORDS.values():
            sentence = normalize(f"{before}{number}{after}")
            if router.route(sentence).name != UNKNOWN:
                sentences.append(sentence)
    return sentences
