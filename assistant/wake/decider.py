"""Was the assistant called by name? The decision for one idle utterance, with its evidence.

While idle, a cheap streaming spotter hears the start of each utterance. Where it hears a wake
phrase, the dictation engine reads the span before the hit (a *glance*), and the name must open
that reading ("I told Samantha" is a mention, not a call); then the assistant wakes at once,
mid-utterance, and the command is read from there. Whisper misspells or drops some voices'
names, so a reading without the name is weighed on the audio with the name put in, and read
again carefully where that makes the name plausible. A wake taken mid-utterance can still be
withdrawn once the whole reading shows it was talk, not a call.

The pipeline owns the audio, the dialogue and the events; this object owns the per-utterance
wake state and every read made to decide it. ``decide`` runs it on one utterance's audio alone
(tests, benchmarks); the pipeline drives the same steps frame by frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Literal, Mapping, Sequence

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.errors import EarpieceError
from assistant.intents.rescore import (LEFT_OUT_NAME_MARGIN, NAME_MARGIN, NAME_SPAN, choose, choose_named, name_put_back,
                                       with_name)
from assistant.intents.router import Router
from assistant.speech.engines import WORD, Engines, Transcript, WakeSpotter, without_loop, without_restart, words_of
from assistant.wake.matcher import WakeHit, WakeMatcher
from assistant.wake.neural import CombinedSpotter, NeuralSpotter, bundled_model
from assistant.wake.remote import RemoteWake

log = logging.getLogger(__name__)

NameReading = Literal["read", "sounds_alike", "left_out"]
"""How the whole reading of an utterance that woke it mid-way has the name (WakeDecider.after_name)."""

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE

WAKE_WINDOW = 3.0
"""Seconds at the start of an utterance in which the wake word must be heard while idle (read by
the dictation engine where the spotter alone does not decide: before it is warm, or where the
name is unsure). Read at 2 s, "Samantha, say that again." in en-us+f3 came out as "I'm not gonna
be here." (3 of the 230 commands of bench/intents.py lost)."""

SPOT_WINDOW = 2.0
"""Seconds at the start of an idle utterance that the spotter hears. In bench/wake.py every
spotter hit that woke it came within 1.6 s of the utterance's start (p95 0.9 s), so 2 s leaves
room for a "hey" or a slow speaker; against 3 s it cut the spotter's CPU on talk by a third
(1.17 to 0.77 % of a core) with 3 misses of 198 against 5, and on 12 minutes of noisier talk it
woke and withdrew exactly as 3 s did."""

WAKE_SEEN_BY = 1.5
"""Seconds of speech after which a wake phrase at its start would have been heard (a pause-time read)."""

WAKE_WINDOW_FRAMES = round(WAKE_WINDOW / FRAME_SECONDS)
SPOT_WINDOW_FRAMES = round(SPOT_WINDOW / FRAME_SECONDS)

CONFIRM_SPAN = 2.5
"""Seconds before a spotter hit that the double-check reads: the name, a lead-in, and a margin."""

NAME_FLOOR = -6.0
"""Log-likelihood that a span before a spotter hit opens with the name (its words alone, in
front), below which a glance's reading is not weighed with the name put in. On bench/wake.py's
188 glances at a said "Samantha" it was -4.2 or more (p50 -0.4), on the 152 glances at talk
without it mostly below (p50 -8.8 on the near-miss passages, -8.2 on the varied talk): those
below went on to a careful read and a read of the first 3 s, a third of a core-second each."""

CALL_LEAD_INS = ("Hey", "Okay,")
"""The lead-ins people put before a name most ("hey Siri", "okay Google"), weighed where Whisper
wrote other words before the name (_lead_in_reading)."""

MISHEARD_LEAD_IN_WORDS = 2
"""Words before the name that may be a misheard lead-in ("very Samantha." for "Hey Samantha")."""

WITHDRAW_AFTER_WORDS = 8
"""Words after a sounding-alike name, none of them near a command, that withdraw an early wake
at a pause, before the utterance ends: longer than any command's opening. "Some of the
m(ountains)" glanced as "Samantha, Samantha," woke it on bench/wake.py's talk, and every pause of
the rest of the sentence was read (up to 9.6 s, faster-whisper's 30 s window) before the end
withdrew it: two seconds of CPU a time."""

NAME_LAST_WORDS = 8
"""Words before a name said last, set apart ("What's the weather next week, Mycroft?"), that a call
may have without being a command the templates know; a longer sentence needs to be one."""

SPOT_CHECKS = 2
"""Spotter hits per utterance that the dictation engine double-checks; after that many wrong
ones the utterance is taken as not meant for the assistant. After one already, where its reading
of the utterance's start holds words other than lead-ins ("I told some end..."): the span a
later hit is read from (CONFIRM_SPAN before it, within SPOT_WINDOW) opens the same way. The
second check is for a start read as nothing (noise the VAD joined with the call). On
bench/wake.py's talk in file mode this cut the near-miss passages from 2.34 to 1.96 % of a core
and the varied talk from 2.82 to 2.37 %, with the same 4 of 198 wake clips missed."""


@dataclass(frozen=True)
class WakeDecision:
    """The assistant was called, and the evidence for it."""

    phrase: str
    """The configured wake phrase that was read."""

    start: int
    """Samples into the utterance where the read span began: speech before it (noise or talk
    the VAD joined with the call) is none of the assistant's business."""

    reading: Transcript | None
    """The reading that opened with the phrase; None where a neural spotter's hit alone decided."""

    doubtful: bool
    """Only the careful second read found the name (the glance did not): the wake stands only if
    a command follows or the whole utterance bears the name out (WakeDecider.unfounded)."""

    by: str = "glance"
    """What decided: "glance" (the spotter, then Whisper's read of the span), "neural" (a bundled
    microWakeWord model alone), "remote" (a Wyoming wake server's detection alone) or "reading"
    (Whisper's read of the utterance, no spotter hit)."""


@dataclass(frozen=True)
class Glance:
    """The dictation engine's read of the span before a spotter hit."""

    samples: int
    """How much audio was read (the span up to the hit)."""

    reading: Transcript | None
    """What it read there; None where nothing was read (a neural spotter's hit is trusted)."""

    decision: WakeDecision | None
    """The wake, where the name opened the reading; None where it did not."""


class WakeDecider:
    """The spotter, the confirming reads and the withdrawal, for one utterance at a time.

    ``utterance`` gives the audio of the current utterance so far (the pipeline's VAD segmenter);
    ``on_error`` reports a failure the user should see, while the decision goes on without it.
    """

    def __init__(self, phrases: Sequence[str], name: str, engines: Engines, router: Router,
                 utterance: Callable[[], np.ndarray], sensitivity: Callable[[str], float] = lambda _phrase: 0.5,
                 on_error: Callable[[str], None] = lambda _message: None, neural: bool = True,
                 remote: str = "") -> None:
        self.matcher = WakeMatcher(phrases, engines.phonetics)
        self.name = name
        self.engines = engines
        self.router = router
        self._utterance = utterance
        self._on_error = on_error
        self.neural_phrases: tuple[str, ...] = ()
        """The phrases a neural spotter serves (their hits need no double-check)."""
        self.spotter = self._build_spotter({p: sensitivity(p) for p in self.matcher.phrases}, neural)
        self.remote = RemoteWake(remote, self.matcher.phrases).start() if remote and self.spotter is not None else None
        """A Wyoming wake server heard beside the spotter; its detections are trusted."""
        self.not_for_us = False
        """This utterance is taken as not meant for the assistant: nothing more is read of it."""
        self.woke_early = False
        """A glance woke the assistant mid-utterance; the command is read after the name."""
        self.wake_from = 0
        """Where in the utterance the name was read (speech before it is none of our business)."""
        self.name_read = ""
        """The wake phrase that a reading of this utterance opened with, if any: from its start
        (a later, longer reading may leave it out), or at the spotter's hit (the command is read
        after that phrase, not after another wake phrase its first words sound like)."""
        self.name_unsure = False
        """The spotter heard the name where Whisper read something a misspelled name could be:
        Whisper reads the whole utterance (no gating) and weighs it at the end."""
        self._name_doubtful = False
        self._spot_checks = 0
        self._spotted = False
        """The spotter heard a wake phrase somewhere in this utterance."""
        self._spotter_done = False
        """A glance refused a cold spotter's hit: the spotter has no more say on this utterance
        (a later hit would be read from the same start), and the reading of it decides."""

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.matcher.phrases

    @property
    def prompt(self) -> str:
        """The dictation engine's prompt outside dictation: the name, so it is spelled as configured."""
        return self.matcher.prompt(self.name)

    def _build_spotter(self, phrases: Mapping[str, float], neural: bool) -> WakeSpotter | None:
        """The cheap spotter that decides which idle utterances Whisper reads at all: a bundled
        neural model for the phrases that have one, the streaming engine's for the rest."""
        if self.engines.dictation is None:
            return None  # the streamed transcript is read for the name anyway
        served = {p: s for p, s in phrases.items() if neural and bundled_model(p) is not None}
        spotters: list[WakeSpotter] = []
        if served:
            try:
                spotters.append(NeuralSpotter(served))
                self.neural_phrases = tuple(served)
            except EarpieceError as exc:
                log.warning("no neural wake spotter (%s): the text path serves %s", exc, ", ".join(served))
                served = {}
        rest = {p: s for p, s in phrases.items() if p not in served}
        if not rest:
            return spotters[0]
        try:
            text_spotter = self.engines.streaming.spotter(rest)
        except EarpieceError as exc:
            log.warning("no wake spotter: %s", exc)
            text_spotter = None
        if text_spotter is None:
            log.info("%s cannot spot %s: the dictation engine reads the start of every idle utterance",
                     self.engines.streaming.name, ", ".join(rest))
            # a neural spotter still wakes at once on its phrases, but never decides alone
            return CombinedSpotter(spotters, gates=False) if spotters else None
        return CombinedSpotter([*spotters, text_spotter]) if spotters else text_spotter

    # --- one utterance, frame by frame ----------------------------------------------------------

    def begin(self) -> None:
        """A new utterance starts: nothing is known of it."""
        self.not_for_us = False
        self.woke_early = False
        self.wake_from = 0
        self._spot_checks = 0
        self.name_unsure = False
        self._name_doubtful = False
        self._spotted = False
        self._spotter_done = False
        self.name_read = ""
        if self.spotter is not None:
            self.spotter.reset()
        if self.remote is not None:
            self.remote.reset()

    def heard_audio(self) -> np.ndarray:
        """The utterance from where the wake phrase was read: noise or talk before the name
        (the VAD joins them in a noisy room) stays out of the command's transcript."""
        return self._utterance()[self.wake_from :]

    def call_in(self, text: str) -> WakeHit | None:
        """The wake phrase as a call in ``text``: opening it, or closing it after a command or a
        short sentence ("What time is it, Samantha?"); a long one that ends with the name set
        apart ("... and that is all I know, Samantha.") is talk to a person of that name, and
        so is any but a command with the name glued on ("I told Samantha.")."""
        hit = self.matcher.match(text)
        if hit is not None:
            return hit
        hit = self.matcher.match_last(text, glued=True)
        if hit is None:
            return None
        if not hit.set_apart:
            # glued on without the comma: a call only after a command, as heard or nearly
            # ("speak after Samantha."); after other words a mention ("I told Samantha.")
            return hit if self.router.could_be_command(hit.command) else None
        if len(words_of(hit.command)) <= NAME_LAST_WORDS or self.router.could_be_command(hit.command):
            return hit
        return None

    def spotting(self, idle: bool) -> bool:
        """Is the spotter deciding about this utterance? Only ``idle`` speech (waiting for the
        name, not dictating), before a wake phrase was confirmed and while it may still be for us."""
        return (self.spotter is not None and idle and not self.woke_early and not self.not_for_us
                and not self._spotter_done)

    def gated(self, idle: bool) -> bool:
        """Does the spotter alone decide that an idle utterance is not for us? Once it is warm:
        before that, the dictation engine also reads the start of each utterance, as without one."""
        return self.spotting(idle) and self.spotter is not None and self.spotter.warm and not self.name_unsure

    def spot(self, frames: Sequence[np.ndarray], frames_heard: int, idle: bool = True) -> Glance | None:
        """The spotter hears ``frames`` (the utterance is ``frames_heard`` frames long with them);
        each hit is glanced at. Returns the last glance (its decision, where one woke it)."""
        assert self.spotter is not None
        glance: Glance | None = None
        for frame in frames:
            try:
                phrase = self.spotter.accept(frame)
            except Exception as exc:  # without its spotter the assistant would go deaf: read every utterance
                log.exception("the wake spotter failed")
                self._on_error(f"the wake spotter failed ({exc}); reading every utterance instead")
                self.spotter = None
                return glance
            if phrase is not None and self.remote is not None and phrase in self.remote.served:
                phrase = None  # the wake server, connected, decides on its phrases
            if phrase is not None and phrase in self.neural_phrases:
                return self._trusted(phrase, by="neural")
            if phrase is not None:
                self._spotted = True
                glance = self._glance(phrase) or glance
                if glance is not None and glance.decision is not None:
                    return glance
        if frames_heard >= SPOT_WINDOW_FRAMES and self.gated(idle):
            self.not_for_us = True  # the spotter would have heard the name by now
        return glance

    def remote_heard(self, frame: np.ndarray, in_speech: bool) -> WakeDecision | None:
        """Send the wake server one frame of idle audio; a detection while an utterance is in
        progress wakes on it (one between utterances wakes nobody)."""
        assert self.remote is not None
        if problem := self.remote.take_problem():
            self._on_error(problem)
        phrase = self.remote.hear(frame)
        if phrase is None or self.woke_early:
            return None
        if not in_speech:
            log.info("the wake server heard %r between utterances: nothing to wake on", phrase)
            return None
        self.not_for_us = False
        return self._trusted(phrase, by="remote").decision

    def _trusted(self, phrase: str, by: str) -> Glance:
        """A neural spotter (``by``: "neural", or "remote" for a wake server) heard ``phrase``:
        it wakes at once, no read. The command is read from CONFIRM_SPAN before the hit, as
        after a glance, so the reading holds the name."""
        start = max(0, len(self._utterance()) - int(CONFIRM_SPAN * SAMPLE_RATE))
        log.info("the %s spotter heard %r", by, phrase)
        return Glance(0, None, self._woke(WakeDecision(phrase, start, None, False, by=by)))

    def close(self) -> None:
        """Let go of the wake server, if any (the decider is replaced, or the run ends)."""
        if self.remote is not None:
            self.remote.close()
            self.remote = None

    def _woke(self, decision: WakeDecision) -> WakeDecision:
        """Awake mid-utterance on ``decision``: the command is read from its start, after its phrase."""
        self.woke_early = True
        self.wake_from = decision.start
        self.name_read = decision.phrase
        return decision

    def _glance(self, phrase: str) -> Glance | None:
        """The spotter heard ``phrase``: the dictation engine reads the CONFIRM_SPAN seconds before,
        and the name must open that reading (not "I told Samantha").

        A 3 s Whisper encoder window (CTranslate2 directly) made this read about five times
        cheaper, but misses in bench/wake.py rose from 12 to 35 of 198, so it reads as usual."""
        self._spot_checks += 1
        utterance = self._utterance()
        start = max(0, len(utterance) - int(CONFIRM_SPAN * SAMPLE_RATE))
        audio = utterance[start:]
        try:
            # Not weighed with the name in front here: this reading ends where the name did, so
            # "the manager." weighed as "Samantha." would look like a bare name (bench/wake.py);
            # the whole utterance, read when it ends, shows whether a command follows.
            transcript = self.read(audio, idle=True, named=False, glance=True)
        except Exception:  # the utterance's end will be read again and report it
            return None
        hit = self.call_in(transcript.text)
        restarted = without_restart(transcript.text)
        if hit is None and restarted != transcript.text:
            hit = self.call_in(restarted)  # matched again only where a restart was dropped
        if hit is None and self.matcher.cut_short(transcript.text, phrase):
            # the read stopped before the name's last sounds: a doubtful wake, which stands only
            # where the whole utterance bears the name out or a command follows (unfounded)
            log.info("spotted %r; the start %r sounds like its opening", phrase, transcript.text)
            self._name_doubtful = True
            hit = WakeHit(phrase, "", by_sound=True)
        if hit is None:
            if self.name_unsure:
                log.info("spotted %r; the start %r may be the name: the whole utterance decides", phrase, transcript.text)
            else:
                log.info("spotted %r, but the start was %r: not for me", phrase, transcript.text)
                # any later hit in it would be read from this same start; but a cold spotter's
                # hit comes late as often as not (its glance, cut just after the name, read "hey
                # some hand" for "Hey Samantha, what time is it?"): unless the glance read the
                # name after other words (a mention), the read of the utterance's start, made
                # anyway while it is cold, decides then, as if nothing was spotted (a bare name
                # is not weighed in: "I'm very kind of" for "americano" came within 4.0 of
                # "Avocado." on porcupine-keywords.wav)
                refused = self._spot_checks >= SPOT_CHECKS or (start == 0 and self.matcher.opens_otherwise(transcript.text))
                warm = self.spotter is not None and self.spotter.warm
                if refused and (warm or self.matcher.mentions(transcript.text)):
                    self.not_for_us = True
                elif refused:
                    self._spotted = False
                    self._spotter_done = True
            return Glance(len(audio), transcript, None)
        if hit.last:
            start = 0  # the command came before the name: it is read from the utterance's start
        return Glance(len(audio), transcript, self._woke(WakeDecision(hit.phrase, start, transcript, self._name_doubtful)))

    def window_passed(self, frames_heard: int, idle: bool) -> bool:
        """While idle, only the start of an utterance can hold the wake word: once WAKE_WINDOW
        seconds of it are in, read just that much, and if the name is not there, stop listening
        to the rest. Long speech not meant for the assistant then costs one short read."""
        if not idle or self.engines.dictation is None:
            return False
        if self.gated(idle) or frames_heard != WAKE_WINDOW_FRAMES:
            return False
        try:
            heard = self.read(self._utterance(), idle=True)
        except Exception:  # the utterance's end will be read again and report it
            return False
        if self.call_in(heard.text) is not None:
            return False
        log.info("not for me (no wake word at the start): %r", heard.text)
        return True

    def decide(self, utterance: np.ndarray) -> WakeDecision | None:
        """The wake decision on one whole idle utterance (16 kHz int16), with its evidence, or
        None: the spotter and its glances frame by frame, as the pipeline runs them, and where
        the spotter alone does not decide (cold, or the name unsure), the reading of the start
        and then of the whole utterance. For tests and benchmarks; the pipeline drives the same
        steps itself, frame by frame, between its other work."""
        frames = [utterance[at : at + FRAME_SAMPLES] for at in range(0, len(utterance) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
        source, heard = self._utterance, 0
        self._utterance = lambda: utterance[: heard * FRAME_SAMPLES]
        self.begin()
        try:
            for heard, frame in enumerate(frames, start=1):
                if self.spotting(idle=True):
                    glance = self.spot([frame], heard)
                    if glance is not None and glance.decision is not None:
                        return glance.decision
                if self.not_for_us:
                    return None
                if self.window_passed(heard, idle=True):
                    return None
            if self.gated(idle=True) or self.engines.dictation is None:
                return None
            reading = self.read(utterance, idle=True)
            hit = self.call_in(reading.text)
            return WakeDecision(hit.phrase, 0, reading, False, by="reading") if hit is not None else None
        finally:
            self._utterance = source

    # --- reads ----------------------------------------------------------------------------------

    def read(self, audio: np.ndarray, idle: bool, named: bool = True, glance: bool = False,
             draft: bool = False) -> Transcript:
        """The dictation engine's reading (a quicker ``glance`` where only the name matters, a
        quicker ``draft`` of speech that may go on); while ``idle`` and not yet woken, with a
        misspelled name weighed back in (``named``) or read again carefully before the speech
        is taken as not for us."""
        assert self.engines.dictation is not None
        prompt = self.prompt
        heard = self.engines.dictation.transcribe(audio, prompt=prompt, glance=glance, draft=draft)
        idle = idle and not self.woke_early
        if not idle:
            return heard
        # a name read round and round is still a name ("come in, come in, come in, come")
        heard = Transcript(without_loop(heard.text), heard.words, heard.engine)
        hit = self.call_in(heard.text)
        if named and hit is not None:
            self.name_read = hit.phrase
        if named and self.name_read and hit is None and heard.text.strip():
            # an earlier reading of this utterance opened with the name, and this longer one
            # left it out ("start a timer for 90 seconds." after "Samantha, start to time at 49%")
            # or misspelled it ("face a monster, set a time..." after "Hey Samantha.")
            return self._name_restored(audio, heard, prompt)
        if hit is None:
            lead_in = self._lead_in_reading(audio, heard, prompt)
            if lead_in is not None:
                reading, phrase = lead_in
                if named:
                    self.name_read = phrase
                return reading
            # Whisper's quick read loses or misspells the name of some voices (en-us+f3 in
            # bench/wake.py). Weighing the reading with the name in front finds most, for a few
            # decoder passes; only where that makes the name plausible, or the spotter and such a
            # reading already did, is a careful second read (10 s window) worth its cost: on
            # every utterance it was most of the CPU spent on talk not meant for us.
            reading = self._named_reading(audio, heard, prompt, floor=glance, name_alone=self._spotted)
            if reading is not None and named:
                return reading
            if reading is not None:
                careful = self.engines.dictation.transcribe(audio, prompt=prompt, careful=True)
                if self.matcher.match(careful.text) is not None:
                    self._name_doubtful = True
                    return careful
            if reading is not None:
                self.name_unsure = True  # the whole utterance decides, when it ends
        return heard

    def _name_restored(self, audio: np.ndarray, heard: Transcript, prompt: str) -> Transcript:
        """``heard`` with the name an earlier reading of this utterance opened with: put before
        it, or in place of its first words (with_name), whichever Whisper finds likeliest."""
        readings = with_name(heard.text, self.name_read.title())
        if len(readings) > 1:
            try:
                scores = self.engines.dictation.score(audio, readings, prompt)  # type: ignore[union-attr]
            except Exception:  # the name put in front, unweighed
                log.exception("the dictation engine could not weigh the name")
                scores = []
            if scores and max(scores) > float("-inf"):
                return Transcript(readings[int(np.argmax(scores))], engine=heard.engine)
        return Transcript(readings[0], engine=heard.engine)

    def _lead_in_reading(self, audio: np.ndarray, heard: Transcript, prompt: str) -> tuple[Transcript, str] | None:
        """``heard`` with a lead-in for the one or two words before the name, when Whisper finds
        that almost as likely (NAME_MARGIN) as what it wrote: "very Samantha." for
        en-gb-x-gbcwmd's "Hey Samantha"; and the wake phrase it holds. Only where the name is
        set apart and nothing or a command follows it; other words before a name are a mention
        ("I told Samantha.")."""
        if self.engines.dictation is None:
            return None
        tokens = list(WORD.finditer(heard.text))
        for first in range(1, min(MISHEARD_LEAD_IN_WORDS, len(tokens) - 1) + 1):
            rest = heard.text[tokens[first].start():]
            hit = self.matcher.match(rest, by_sound=False)
            if hit is None or not hit.set_apart or not self.router.could_be_command(hit.command, exact=True):
                continue
            readings = [f"{lead} {rest}" for lead in CALL_LEAD_INS]
            scores = self.engines.dictation.score(audio, [heard.text, *readings], prompt)
            choice = choose(scores[0], scores[1:], readings, NAME_MARGIN) if scores else None
            if choice is None:
                return None
            log.info("heard %r, taking it as %r (log-likelihood %+.1f against it)", heard.text, choice.text, choice.margin)
            return Transcript(choice.text, engine=heard.engine), hit.phrase
        return None

    def _named_reading(self, audio: np.ndarray, heard: Transcript, prompt: str, insert: bool = True,
                       phrases: Sequence[str] = (), floor: bool = False, name_alone: bool = True) -> Transcript | None:
        """``heard`` with the name in front, when Whisper finds that almost as likely as what it
        wrote: "some men don't help." for "Samantha, help." (bench/wake.py). Only where the name
        is not in the reading already ("I told Samantha" is a mention), and only if nothing or a
        command follows it: "Samantha, the semantic" for "Amanda said the semantic" is not.

        Without ``insert`` (the name is known to open the reading) a command as heard is chosen
        before one that is only near: for "Hey, what's your name?" after "Ada" woke it, "Ada,
        your name?" scores higher than "Ada, what's your name?" (shorter readings are favoured),
        but only the latter is a command.

        With ``floor`` (a glance at the span before a spotter hit), only where the name itself,
        as the reading's first words, is at least NAME_FLOOR likely: talk that the spotter took
        for the name ("I'm gonna...", "the semantic") otherwise went on to a careful read and a
        read of the utterance's first 3 s, each time.

        Without ``name_alone`` (the spotter heard no wake phrase in the utterance: it is still warming
        up, or the phrase is not in its dictionary) a reading that would be the name alone is not
        weighed: a short word of talk weighed as a bare name was then the only evidence of a
        call, and on porcupine-keywords.wav "I'm a kano." (americano) came within 4.7 of
        "Christina." and woke it, as "avocado" woke vancouver; a name with a command after it still is."""
        assert self.engines.dictation is not None
        if self.matcher.mentions(heard.text):
            return None
        readings: list[str] = []
        tiers: list[int] = []
        # the name's place is after any lead-in ("Hey some men, don't please repeat mad.")
        after = self.matcher.after_lead_ins(heard.text)
        parts = [("", heard.text)] + ([(heard.text[:after], heard.text[after:])] if after else [])
        for phrase in phrases or self.phrases:
            for lead, text in parts:
                for index, reading in enumerate(with_name(text, phrase.title(), insert)):
                    self._weigh_named(lead + reading, index, heard, insert, name_alone, readings, tiers)
        if not readings:
            return None
        bare = [phrase.title() for phrase in phrases or self.phrases] if floor else []
        scores = self.engines.dictation.score(audio, [heard.text, *readings, *bare], prompt)
        if scores is None:
            return None
        if bare:
            if max(scores[len(scores) - len(bare):]) < NAME_FLOOR:
                log.info("heard %r; the name is not that likely there", heard.text)
                return None
            scores = scores[: len(scores) - len(bare)]
        # Where the spotter heard the name and a glance found it plausible (name_unsure), a
        # reading that left it out is weighed as one that left out a name that was said
        choice = choose_named(scores[0], scores[1:], readings, tiers,
                              LEFT_OUT_NAME_MARGIN if self.name_unsure else NAME_MARGIN)
        if choice is None:
            return None
        log.info("heard %r, taking it as %r (log-likelihood %+.1f against it)", heard.text, choice.text, choice.margin)
        return Transcript(choice.text, engine=heard.engine)

    def _weigh_named(self, reading: str, index: int, heard: Transcript, insert: bool, name_alone: bool,
                     readings: list[str], tiers: list[int]) -> None:
        """Add ``reading`` (the ``index``-th of with_name) to the ``readings`` worth weighing,
        with its tier, if a command (or, where ``name_alone`` allows it, nothing) follows the
        name in it."""
        rest = self.matcher.strip(reading)
        if not name_alone and not any(ch.isalnum() for ch in rest):
            return
        # the name put before the whole reading needs a command as heard: "come in," (the name
        # itself, misspelled) is only near "come again", and must not become one; where the
        # spotter heard the name, a reading too long to be the name alone may be near one
        # ("what's the gate to me?")
        exact = insert and index == 0 and not (self.name_unsure and len(words_of(heard.text)) > NAME_SPAN + 1)
        if reading in readings or not self.router.could_be_command(rest, exact=exact):
            return
        readings.append(reading)
        if not any(ch.isalnum() for ch in rest):
            tiers.append(2)  # a bare name: last
        else:
            tiers.append(0 if insert or self.router.could_be_command(rest, exact=True) else 1)

    # --- after an early wake --------------------------------------------------------------------

    def after_name(self, text: str) -> tuple[str, NameReading]:
        """The command in a transcript whose start the spotter and a first reading already took
        for the name, even if this reading spells it otherwise ("Samanta, what time is it?"),
        and how this reading has the name: as written or weighed on the audio ("read"), as words
        that sound a little like it ("sounds_alike": "some of the mountains"), or not at all.
        Only the phrase that was read there counts: with "hey computer" a wake phrase too, "Hey,
        what's your name?" after "Ada" woke it is not "your name?"."""
        hit = self.call_in(text)
        if hit is not None:
            return hit.command, "read"
        words = text.split()
        woke_by = (self.name_read,) if self.name_read else self.phrases
        alike: list[tuple[float, str]] = []
        for phrase in woke_by:
            # the name may come out as one word or as several ("some of the set of time before
            # 10 minutes." for en-gb's "Samantha, set a timer for ten minutes."): the likeliest
            # split that leaves a command, else the likeliest
            count = len(phrase.split())
            for taken in range(count, min(count + 3, len(words))):
                likeness = self.engines.streaming.sounds_alike(" ".join(words[:taken]), phrase)
                if likeness >= 0.5:
                    alike.append((likeness, " ".join(words[taken:])))
        alike.sort(key=lambda candidate: -candidate[0])
        for _likeness, rest in alike:
            if self.router.could_be_command(rest):
                return rest, "sounds_alike"
        if alike:
            return alike[0][1], "sounds_alike"
        if self.engines.dictation is not None:
            # "come in," for a bare "Samantha," cut off at the comma pause: weighed on the audio
            # (the reading starts with the name, so it is not weighed as coming before it)
            named = self._named_reading(self.heard_audio(), Transcript(text), self.prompt, insert=False, phrases=woke_by)
            hit = self.matcher.match(named.text) if named is not None else None
            if hit is not None:
                return hit.command, "read"
        return text.strip(), "left_out"

    def no_call_so_far(self, text: str) -> bool:
        """After an early wake, does the reading so far, ``text``, already show it was no call:
        the name only as words that sound a little like it, then WITHDRAW_AFTER_WORDS or more
        that are not even near a command?"""
        if not self.woke_early:
            return False
        command, name_as = self.after_name(text)
        return (name_as == "sounds_alike" and len(command.split()) >= WITHDRAW_AFTER_WORDS
                and not self.router.could_be_command(command))

    def unfounded(self, text: str, name_as: NameReading) -> bool:
        """Was a wake taken at the spotter's hit on a doubtful name (found by the careful second
        read only) a mistake, now that the whole utterance, ``text``, holds no command?

        Prompted with the name, the careful read of 0.7 s of "some of the m-" or "the man does
        it" wrote "Samantha." (the false wakes on talk in bench/wake.py, and on 12 minutes of
        noisier talk). The whole reading then either has the name glued to words that were
        never a call ("Samantha mountains in Montana..."), or leaves it out; and a name that
        was said but left out, as Whisper does before talk that is no command ("come in" for
        en-us+f3's "Samantha", then a recording), is about as likely put back in front as the
        reading without it, where one that was never said is far less likely."""
        if not (self.woke_early and self._name_doubtful) or name_as == "sounds_alike":
            return False
        if name_as == "read":
            # The name glued to words that were never a call ("Samantha mountains in Montana"),
            # or only weighed in, stays doubtful; set apart as a call it is borne out: en-us+f3's
            # "Samantha, one, two, three." before a real recording (bench/wake.py).
            hit = self.call_in(text)
            return hit is None or not hit.set_apart
        if self.engines.dictation is None:
            return False
        named = name_put_back(text, self.name_read.title())
        try:
            scores = self.engines.dictation.score(self.heard_audio(), [text, *named], self.prompt)
        except Exception:  # the wake stands, as it would have without this check
            log.exception("the dictation engine could not weigh the name")
            return False
        if not scores or scores[0] == float("-inf"):
            return False
        margin = max(scores[1:]) - scores[0]
        log.info("doubtful name left out of %r: put back, %+.1f against it", text, margin)
        return margin < -LEFT_OUT_NAME_MARGIN

