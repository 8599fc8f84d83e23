"""PocketSphinx: the bundled English streaming engine, so a fresh install needs no download."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from assistant.intents.grammar import Grammar
from assistant.speech.engines import StreamingEngine, StreamingRecognizer, Transcript, WakeSpotter, Word, words_of
from assistant.errors import ModelError, SpeechError
from assistant.speech.pronouncing import PronouncingDictionary
from assistant.speech.word_graph import GraphTooLarge, WordGraph

log = logging.getLogger(__name__)

FRAME_RATE = 100  # PocketSphinx segments are in 10 ms frames


class SphinxRecognizer(StreamingRecognizer):
    def __init__(self, decoder, search: str) -> None:  # type: ignore[no-untyped-def]
        self._decoder = decoder
        self._decoder.activate_search(search)
        self._decoder.start_utt()
        self._partial = ""
        self.finished = False

    def accept(self, frame: np.ndarray) -> str | None:
        self._decoder.process_raw(frame.astype(np.int16).tobytes(), False, False)
        hyp = self._decoder.hyp()
        text = hyp.hypstr if hyp else ""
        if text != self._partial:
            self._partial = text
            return text
        return None

    def abandon(self) -> None:
        """End the decoder's utterance without a result (the caller lost interest in it)."""
        if not self.finished:
            self.finished = True
            try:
                self._decoder.end_utt()
            except Exception:  # already ended: nothing to undo
                log.debug("end_utt on an abandoned recognizer failed", exc_info=True)

    def finish(self) -> Transcript:
        self.finished = True
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        if hyp is None:
            return Transcript("", engine="pocketsphinx")
        logmath = self._decoder.get_logmath()
        words = tuple(
            Word(seg.word.split("(")[0], seg.start_frame / FRAME_RATE, (seg.end_frame + 1) / FRAME_RATE,
                 min(1.0, logmath.exp(seg.prob)))
            for seg in self._decoder.seg()
            if not seg.word.startswith(("<", "[", "(NULL")) and seg.word.strip()  # FSG null transitions too
        )
        return Transcript(" ".join(w.text for w in words) or " ".join(hyp.hypstr.split()), words, "pocketsphinx")


KWS_PER_PHONE = (3.0, 11.0)
"""Keyphrase threshold exponents per phone at sensitivity 0 and 1: the threshold is
1e-(phones × exponent), so a long phrase is not held to a short one's score. At the default
0.5 "samantha" (7 phones) gets 1e-49: in bench/wake.py that missed none of the wake clips,
and what it lets through by mistake the dictation engine then rejects."""


def kws_threshold(phones: int, sensitivity: float) -> float:
    low, high = KWS_PER_PHONE
    exponent = phones * (low + (high - low) * min(1.0, max(0.0, sensitivity)))
    return 10.0 ** -min(exponent, 300.0)


WARM_UP_SECONDS = 6.0
"""Speech the spotter must hear before its misses count. Its live cepstral mean starts from
a generic value, and on the first utterance of a fresh decoder it missed 16 of 30 wake clips
that it found every time afterwards (measured while building this). Starting that mean from
the one real recordings leave (instead of PocketSphinx's "40,3,-1") found 6 more of 64 first
calls of 8 other espeak-ng voices, but gained nothing in bench/intents.py and woke "vancouver"
on a spoken "avocado" in porcupine-keywords.wav: not kept."""


GRAMMAR_BEAMS = {"beam": 1e-60, "pbeam": 1e-60, "wbeam": 1e-40}
"""The grammar decoder's search beams, wider than PocketSphinx's (1e-48, 1e-48, 7e-29): the
command grammar compiled to its minimal word graph costs a ninth of the CPU it did, and the
wider search spends about a third of that saving on pruning fewer right readings. The grammar's
reading of the tuning half's 230 commands (bench/intents.py's voices, the command alone): 128
exactly right at the default beams, 133 at these, 133 at 1e-70/1e-70/1e-50 and at 1e-90/1e-90/1e-60
(the grammar as written: 130 at the default beams, 135 at these). 1e-70/1e-70/1e-50 read a
dictated "New paragraph, please." (tests/test_letters.py) as "delete that" in the letter
commands' list, where the default beams and these read "new paragraph": where a beam decides a
near-tie, the narrowest of the beams that read as many right is kept."""


def jsgf_graph(jsgf: str, logmath, weight: float) -> WordGraph:  # type: ignore[no-untyped-def]
    """``jsgf`` as PocketSphinx compiles it (its FSG, as written), to be made minimal."""
    from pocketsphinx import FsgModel

    with tempfile.TemporaryDirectory(prefix="earpiece-grammar-") as folder:
        source, written = Path(folder) / "grammar.jsgf", Path(folder) / "grammar.fsg"
        source.write_text(jsgf, encoding="utf-8")
        FsgModel.jsgf_read_file(str(source), logmath, weight).writefile(str(written))
        return WordGraph.parse(written.read_text(encoding="utf-8"))


class SphinxSpotter(WakeSpotter):
    """PocketSphinx keyphrase search, one threshold per phrase, on a decoder of its own."""

    def __init__(self, decoder) -> None:  # type: ignore[no-untyped-def]
        self._decoder = decoder
        self._decoder.start_utt()
        self._heard = 0

    @property
    def warm(self) -> bool:
        return self._heard >= WARM_UP_SECONDS * 16000

    def accept(self, frame: np.ndarray) -> str | None:
        self._heard += len(frame)
        self._decoder.process_raw(frame.astype(np.int16).tobytes(), False, False)
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return None
        self.reset()  # a detection stays in the hypothesis until the utterance restarts
        return " ".join(hyp.hypstr.split())

    def reset(self) -> None:
        self._decoder.end_utt()
        self._decoder.start_utt()


class SphinxEngine(StreamingEngine):
    """Grammar decoding on one decoder; open-vocabulary decoding, when wanted, on a second.

    They differ in two ways. The open one carries the 27 MB language model (about 60 MB of
    memory), which a pipeline with Whisper never needs. And it keeps PocketSphinx's bestpath
    rescoring, which helps open recognition but cut grammar (FSG) results short ("samantha
    what time" for "samantha what time is it"), so the grammar decoder runs without it.
    Grammars are compiled once and cached. The grammar decoder and the wake spotter hold only
    the words they use, looked up in the dictionary file (assistant/speech/pronouncing.py):
    each saved the 22 MB of the whole dictionary.
    """

    name = "pocketsphinx"

    def __init__(self, open_vocabulary: bool = True) -> None:
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as exc:
            raise ModelError(f"PocketSphinx is not installed ({exc}); pip install pocketsphinx") from None
        self.dictionary = PronouncingDictionary(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict")
        """Looked up for the words each decoder needs (see assistant/speech/pronouncing.py)."""
        no_words = self._dictionary_file([])
        try:  # words are added as grammars need them (_give_words)
            self._decoder = Decoder(samprate=16000, logfn=os.devnull, bestpath=False, lm=None, dict=no_words,
                                    **GRAMMAR_BEAMS)
        finally:
            os.unlink(no_words)
        self._decoder_words: set[str] = set()
        self.open_vocabulary = open_vocabulary
        # the language model's words are all of the dictionary's: that decoder keeps it whole
        self._open_decoder = Decoder(samprate=16000, logfn=os.devnull) if open_vocabulary else None
        self._searches: dict[str, str] = {}
        self._active: dict[int, SphinxRecognizer] = {}

    def knows(self, word: str) -> bool:
        return word in self.dictionary

    def _dictionary_file(self, words: "Sequence[str]") -> str:
        """A dictionary file with only ``words`` (every pronunciation of each), for a decoder."""
        with tempfile.NamedTemporaryFile("w", suffix=".dict", delete=False, encoding="utf-8") as file:
            for word in sorted(set(words)):
                for name, phones in self.dictionary.entries(word):
                    file.write(f"{name} {phones}\n")
        return file.name

    def _give_words(self, words: "Sequence[str]") -> None:
        """Add to the grammar decoder the pronunciations of those of ``words`` it lacks."""
        entries = [entry for word in sorted(set(words) - self._decoder_words) for entry in self.dictionary.entries(word)]
        for index, (name, phones) in enumerate(entries):
            self._decoder.add_word(name, phones, index == len(entries) - 1)
        self._decoder_words.update(words)

    def spotter(self, phrases: "Mapping[str, float]") -> WakeSpotter | None:
        cleaned = {" ".join(words_of(p)): s for p, s in phrases.items() if words_of(p)}
        if not cleaned or self.unknown_words(list(cleaned)):
            return None
        lines = [f"{p} /{kws_threshold(len(self._sounds(p)), s):.3e}/" for p, s in sorted(cleaned.items())]
        from pocketsphinx import Decoder

        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as keyfile:
            keyfile.write("\n".join(lines) + "\n")
        words = self._dictionary_file([w for p in cleaned for w in p.split()])
        try:
            # Measured in bench/wake.py and left at PocketSphinx's defaults: a kws_delay of 3 or 6
            # frames (10) woke 200 ms sooner, but a hit that early cut "Some of the m(ountains)",
            # which Whisper then read as the name; ds=2 halved the spotter's CPU and missed 6 of
            # 198 names against 3.
            decoder = Decoder(samprate=16000, logfn=os.devnull, lm=None, kws=keyfile.name, dict=words)
        except Exception as exc:  # pocketsphinx raises RuntimeError/ValueError on a bad key file
            raise SpeechError(f"PocketSphinx could not spot {', '.join(cleaned)}: {exc}") from None
        finally:
            os.unlink(keyfile.name)
            os.unlink(words)
        log.info("wake spotter: %s", "; ".join(lines))
        return SphinxSpotter(decoder)

    def pronounce(self, word: str) -> list[str] | None:
        return self.dictionary.phones(word)

    def recognizer(self, grammar: "Sequence[str] | Grammar | None" = None) -> StreamingRecognizer:
        if grammar:
            decoder = self._decoder
        elif self._open_decoder is not None:
            decoder = self._open_decoder
        else:
            raise SpeechError("PocketSphinx was loaded without its language model, so it only recognizes "
                              "command grammars; open recognition is Whisper's job (or set speech.dictation = \"stream\")")
        # One decoder serves successive recognizers: one still mid-utterance (dropped by its
        # caller) must end before another search is activated, or words added for it.
        previous = self._active.get(id(decoder))
        if previous is not None:
            previous.abandon()
        search = self._search_for(grammar) if grammar else decoder.current_search()
        self._active[id(decoder)] = recognizer = SphinxRecognizer(decoder, search)
        return recognizer

    def prepare(self, grammar: "Sequence[str] | Grammar") -> None:
        """Compile the grammar's search now: the command grammar took 0.3 s of CPU (py-spy on
        the live daemon), paid by the first woken utterance, while it was being spoken."""
        self._search_for(grammar)

    def _add_search(self, name: str, jsgf: str, minimal: bool) -> None:
        """Add ``jsgf`` to the grammar decoder, as its minimal word graph where ``minimal``
        (assistant/speech/word_graph.py): the command grammar took 42 MB as written, 4 MB so, and
        0.2 s to compile either way (the graph is made in Python; PocketSphinx's search then takes
        0.01 s to build instead of 0.19).

        Phrase lists are added as written: they are small (the letter commands: 53 states), and
        where a word outside the list trails ("New paragraph, please."), PocketSphinx found no
        path to the final state of the list's minimal graph and read nothing, where as written (or
        determinized, without merging the sentences' ends) it read "new paragraph" (PocketSphinx's
        default beams; tests/test_letters.py's dictated letter, at GRAMMAR_BEAMS)."""
        from pocketsphinx import FsgModel

        decoder = self._decoder
        if not minimal:
            decoder.add_jsgf_string(name, jsgf)
            return
        logmath, weight = decoder.get_logmath(), decoder.config["lw"]
        try:
            graph = jsgf_graph(jsgf, logmath, weight).minimal()
        except GraphTooLarge as exc:
            log.warning("the grammar is compiled as written: %s", exc)
            decoder.add_jsgf_string(name, jsgf)
            return
        with tempfile.TemporaryDirectory(prefix="earpiece-grammar-") as folder:
            written = Path(folder) / "grammar.fsg"
            written.write_text(graph.text(), encoding="utf-8")
            decoder.add_fsg(name, FsgModel.readfile(str(written), logmath, weight))

    def _search_for(self, grammar: "Sequence[str] | Grammar") -> str:
        """The grammar decoder's search for ``grammar``, compiled once per distinct JSGF text."""
        if isinstance(grammar, Grammar):
            jsgf, words = grammar.jsgf, sorted(grammar.words)
        else:
            phrases = sorted({" ".join(words_of(p)) for p in grammar if words_of(p)})
            missing = self.unknown_words(phrases)
            if missing:
                raise SpeechError(f"PocketSphinx's dictionary has no pronunciation for: {', '.join(missing)}")
            words = sorted({w for p in phrases for w in p.split()})
            alternatives = " | ".join(f"( {p} )" for p in phrases)
            jsgf = f"#JSGF V1.0;\ngrammar g;\npublic <phrase> = {alternatives} ;\n"
        if jsgf not in self._searches:
            name = f"grammar{len(self._searches)}"
            try:
                self._give_words(words)
                self._add_search(name, jsgf, minimal=isinstance(grammar, Grammar))
            except Exception as exc:  # pocketsphinx raises RuntimeError/ValueError on a bad grammar
                raise SpeechError(f"PocketSphinx rejected the grammar: {exc}") from None
            self._searches[jsgf] = name
        return self._searches[jsgf]
