"""The one pipeline: source → VAD → wake → recognizer → router → skill → voice → sink.

File mode, live mode and (later) the daemon build the same ``Pipeline`` and differ only
in the source and sink they hand to ``run``. Time is audio time: ``t`` is the number of
input seconds consumed, so the same WAV gives the same events at any CPU speed.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator, Literal, Protocol, Sequence

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.earcons import earcon
from assistant.audio.echo import EchoGate
from assistant.audio.vad import FRAME_SECONDS, UtteranceSegmenter
from assistant.config import Settings
from assistant.dialogue import Dialogue, State
from assistant.errors import EarpieceError
from assistant.events import EventBus
from assistant.intents.grammar import Grammar, build_grammar
from assistant.intents.rescore import COMMAND_MARGIN, LEFT_OUT_NAME_MARGIN, choose, choose_named, name_put_back, with_name, written_like
from assistant.intents.router import UNKNOWN, IntentMatch, Router, digits_for_number_words, misheard_numbers, normalize
from assistant.skills.base import Persistence, Reply, Session, SkillContext, SkillRegistry
from assistant.intents.numbers import cardinal
from assistant.mail.message import Envelope
from assistant.mail.store import MailStore, open_store
from assistant.skills.clock import ClockSkill
from assistant.skills.mail import MailSkill
from assistant.skills.system import NameSkill, SystemSkill, UnknownSkill
from assistant.skills.timers import TimerSkill, announcement
from assistant.speech.engines import (DictationEngine, StreamingEngine, StreamingRecognizer, Transcript, WakeSpotter,
                                      without_loop, words_of)
from assistant.speech.voice import Voice
from assistant.speech.wake import WakeMatcher
from assistant.letters.addressbook import AddressBook
from assistant.letters.journal import Journal
from assistant.letters.model import ReplyContext
from assistant.letters.session import LetterDictation
from assistant.letters.spoken import COMMAND_PHRASES, parse_command
from assistant.state import Remembered

log = logging.getLogger(__name__)


NameReading = Literal["read", "sounds_alike", "left_out"]
"""How the whole reading of an utterance that woke it mid-way has the name (Pipeline._after_name)."""


class Source(Protocol):
    def frames(self) -> Iterator[np.ndarray]: ...
    def close(self) -> None: ...


class Sink(Protocol):
    def play(self, pcm: np.ndarray, at: float) -> float: ...
    def stop(self, at: float | None = None) -> None: ...
    def close(self, length: float = 0.0) -> None: ...


@dataclass(frozen=True)
class Engines:
    streaming: StreamingEngine
    """Hears every frame: partials now, wake word and grammar commands next."""

    dictation: DictationEngine | None
    """Transcribes finished utterances; None means the streaming result is final."""


class _NoPersistence:
    """For runs that must leave no trace (benchmarks, some tests)."""

    def save_state(self, session: Session) -> None:
        pass

    def save_name(self, old: str, new: str) -> None:
        pass


EARLY_MAX_SECONDS = 8.0
"""Only utterances up to this long are checked for being a complete command early."""

EARLY_PAUSE = 0.16
"""Seconds of pause after which a complete command ends the utterance without waiting for end_silence."""

EARLY_LOOK = 0.06
"""Seconds of pause at which a command is already read, ahead of EARLY_PAUSE: live, Whisper's
few hundred milliseconds then overlap the rest of the pause instead of following it, and the
reading is reused when nobody spoke again. Ending the utterance this early instead cut
commands at espeak-ng's gaps between words (measured by the previous change of EARLY_PAUSE)."""

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

WAKE_WINDOW_FRAMES = round(WAKE_WINDOW / (FRAME_SAMPLES / SAMPLE_RATE))
SPOT_WINDOW_FRAMES = round(SPOT_WINDOW / (FRAME_SAMPLES / SAMPLE_RATE))

CONFIRM_SPAN = 2.5
"""Seconds before a spotter hit that the double-check reads: the name, a lead-in, and a margin."""

NAME_FLOOR = -6.0
"""Log-likelihood that a span before a spotter hit opens with the name (its words alone, in
front), below which a glance's reading is not weighed with the name put in. On bench/wake.py's
188 glances at a said "Samantha" it was -4.2 or more (p50 -0.4), on the 152 glances at talk
without it mostly below (p50 -8.8 on the near-miss passages, -8.2 on the varied talk): those
below went on to a careful read and a read of the first 3 s, a third of a core-second each."""

WITHDRAW_AFTER_WORDS = 8
"""Words after a sounding-alike name, none of them near a command, that withdraw an early wake
at a pause, before the utterance ends: longer than any command's opening. "Some of the
m(ountains)" glanced as "Samantha, Samantha," woke it on bench/wake.py's talk, and every pause of
the rest of the sentence was read (up to 9.6 s, faster-whisper's 30 s window) before the end
withdrew it: two seconds of CPU a time."""

SPOT_CHECKS = 2
"""Spotter hits per utterance that the dictation engine double-checks; after that many wrong
ones the utterance is taken as not meant for the assistant. After one already, where its reading
of the utterance's start holds words other than lead-ins ("I told some end..."): the span a
later hit is read from (CONFIRM_SPAN before it, within SPOT_WINDOW) opens the same way. The
second check is for a start read as nothing (noise the VAD joined with the call). On
bench/wake.py's talk in file mode this cut the near-miss passages from 2.34 to 1.96 % of a core
and the varied talk from 2.82 to 2.37 %, with the same 4 of 198 wake clips missed."""

DICTATION_EARLY_PAUSE = 0.2
"""While dictating, a pause this long after a sentence Whisper reads as finished ends the utterance."""

AGREEMENT_MIN = 0.7
"""How closely the grammar's reading must resemble the dictation text to overrule "Unknown"."""

DICTATION_COMMAND_AGREEMENT = 0.6
"""A misheard short dictation command needs at least this likeness to the grammar's reading."""

NEAREST_CANDIDATES = 8
"""Template sentences nearest a misheard command that the dictation engine weighs (a few ms each)."""


class Pipeline:
    def __init__(self, settings: Settings, engines: Engines, router: Router, voice: Voice, bus: EventBus,
                 start_time: datetime | None = None, remembered: Remembered | None = None,
                 persistence: Persistence | None = None, use_grammar: bool = True,
                 journal_path: Path | None = None, address_book: AddressBook | None = None,
                 mail_store: Callable[[], MailStore] | None = None) -> None:
        self.settings = settings
        self.engines = engines
        self.router = router
        self.voice = voice
        self.bus = bus
        self.start_time = start_time or datetime.now()
        remembered = remembered or Remembered()
        self.session = Session(
            name=settings.assistant.name, wake_words=settings.wake.words,
            volume=remembered.volume if remembered.volume is not None else settings.voice.volume,
            timers=sorted(remembered.timers, key=lambda timer: timer.due),
        )
        self.persistence: Persistence = persistence or _NoPersistence()
        self.wake = WakeMatcher(self.session.wake_words)
        self.mail = MailSkill(settings, mail_store or (lambda: open_store(settings)))
        self.skills = SkillRegistry([ClockSkill(), SystemSkill(), NameSkill(), TimerSkill(), self.mail], UnknownSkill())
        self.dialogue = Dialogue(settings.wake)
        self._segmenter = UtteranceSegmenter(
            settings.audio.vad_aggressiveness, settings.audio.end_silence, settings.audio.max_utterance)
        self._recognizer: StreamingRecognizer | None = None
        self._samples = 0
        self._sink: Sink | None = None
        self._grammar = self._build_grammar() if use_grammar else None
        self.voice.volume = self.session.volume
        self._early: tuple[int, Transcript, int | None] | None = None
        """The latest reading taken before the utterance ended: samples read, the reading, and
        the samples spoken before the pause it was taken at (None for a glance at the span
        before a spotter hit), so the final read can reuse it."""
        self.journal_path = journal_path
        self.address_book = address_book or AddressBook([])
        self.letter: LetterDictation | None = None
        self._resume_question = self._recover_letter()
        self._early_frames = round(EARLY_PAUSE / FRAME_SECONDS)
        self._look_frames = round(EARLY_LOOK / FRAME_SECONDS)
        self._look: tuple[int, Transcript] | None = None
        """A command read at the EARLY_LOOK pause: (samples of it before that pause, reading)."""
        self._dictation_early_frames = round(DICTATION_EARLY_PAUSE / FRAME_SECONDS)
        self._not_for_us = False
        self._mail_news: list[Envelope] = []
        self._spotter = self._build_spotter()
        self._woke_early = False
        self._wake_from = 0
        """Where in the utterance the name was read (speech before it is none of our business)."""
        self._spot_checks = 0
        self._name_read = ""
        """The wake phrase that a reading of this utterance opened with, if any: from its start
        (a later, longer reading may leave it out), or at the spotter's hit (the command is read
        after that phrase, not after another wake phrase its first words sound like)."""
        self._name_unsure = False
        """The spotter heard the name where Whisper read something a misspelled name could be:
        Whisper reads the whole utterance (no gating) and weighs it at the end."""
        self._name_doubtful = False
        """The wake taken at the spotter's hit rests on the careful second read alone (the glance
        did not read the name): it stands only if a command follows or the whole utterance bears
        the name out (see _doubtful_wake_unfounded)."""
        self._echo = EchoGate()
        self._playing: tuple[np.ndarray, float, bool] | None = None
        """The reply on the sink: its audio, when it started, and whether it is a cut one going on."""
        self._cut_reply: tuple[np.ndarray, bool] | None = None
        """What barge-in left of the reply, and whether it had gone on after a cut before."""

    def _recover_letter(self) -> str:
        """A letter that was being written when the last run died: ask whether to go on."""
        if self.journal_path is None:
            return ""
        recovered = Journal.recover(self.journal_path)
        if recovered is None:
            return ""
        self.letter, question = LetterDictation.resume(*recovered, self.settings)
        self.dialogue.dictate(True)
        return question

    def _build_grammar(self) -> Grammar | None:
        engine = self.engines.streaming
        unknown = engine.unknown_words(self.session.wake_words)
        if unknown:
            log.warning("the %s engine's dictionary lacks %s: the wake phrase is left to the dictation engine; "
                        "a Vosk model with that word, or a different wake word, makes it cheaper to spot",
                        engine.name, ", ".join(unknown))
        try:
            return build_grammar(self.router.intents, self.session.wake_words, engine.knows)
        except Exception as exc:  # a grammar is an optimisation: without it, dictation still works
            log.warning("no command grammar for %s: %s", engine.name, exc)
            return None

    def _build_spotter(self) -> WakeSpotter | None:
        """The cheap streaming spotter that decides which idle utterances Whisper reads at all."""
        if self.engines.dictation is None:
            return None  # the streamed transcript is read for the name anyway
        phrases = {p: self.settings.wake.sensitivity_of(p) for p in self.session.wake_words}
        try:
            spotter = self.engines.streaming.spotter(phrases)
        except EarpieceError as exc:
            log.warning("no wake spotter: %s", exc)
            spotter = None
        if spotter is None:
            log.info("%s cannot spot %s: the dictation engine reads the start of every idle utterance",
                     self.engines.streaming.name, ", ".join(phrases))
        return spotter

    @property
    def t(self) -> float:
        return self._samples / SAMPLE_RATE

    def run(self, source: Source, sink: Sink) -> None:
        """Consume the source to its end (file) or until interrupted (live)."""
        self.start(sink)
        try:
            for frame in source.frames():
                self.feed(frame)
            self.finish()
        finally:
            source.close()
            sink.close(self.t)

    def start(self, sink: Sink, samples: int = 0) -> None:
        """Begin at audio offset ``samples`` (a reloaded pipeline continues its predecessor's clock)."""
        self._sink = sink
        self._samples = samples
        self.bus.emit("listening", self.t)
        if self._resume_question:
            self.bus.emit("letter", self.t, action="resume", text=self.letter.letter.render() if self.letter else "")
            self._speak(self._resume_question)
            self._resume_question = ""

    def feed(self, frame: np.ndarray) -> None:
        """One 20 ms frame of input: the audio clock advances, then the frame is processed."""
        self._samples += FRAME_SAMPLES
        self.process(frame)

    def finish(self) -> None:
        """End of input: finish the utterance in progress and let the last reply end."""
        self._finish_utterance(self._segmenter.flush().ended)
        self._drain_speech()

    def say(self, text: str) -> None:
        """Speak ``text`` now (the daemon's "say" command); an announcement invites no follow-up."""
        self.dialogue.sleep()
        self._speak(text)

    @property
    def in_speech(self) -> bool:
        """Someone is talking (an utterance is in progress)."""
        return self._segmenter.in_speech

    @property
    def samples(self) -> int:
        return self._samples

    def process(self, frame: np.ndarray) -> None:
        """One 20 ms frame through VAD, recognition and the dialogue timers."""
        echo = not getattr(self._sink, "echo_free", False) and self._echo.is_echo(frame, self.t)
        if self.dialogue.mic_gated and not self.settings.audio.barge_in:
            self._segmenter.reset()
            self._recognizer = None
        else:
            update = self._segmenter.push(frame, echo)
            if update.started and self.dialogue.state is State.SPEAKING:
                self._barge_in()
            if update.started:
                self._early = None
                self._not_for_us = False
                self._woke_early = False
                self._wake_from = 0
                self._look = None
                self._spot_checks = 0
                self._name_unsure = False
                self._name_doubtful = False
                self._name_read = ""
                self.bus.emit("speech_start", self.t)
                self._recognizer = self._new_recognizer() if self._wants_streaming() else None
                if self._spotter is not None:
                    self._spotter.reset()
            if self._spotting():
                self._spot(update.frames)
            if self._recognizer is not None and not self._not_for_us:
                for piece in update.frames:
                    self._feed(piece)
            if self._segmenter.in_speech and not self._not_for_us and self._wake_window_passed():
                self._not_for_us = True
            early_at = self._dictation_early_frames if self.letter is not None else self._early_frames
            if (not update.ended and not self._not_for_us and self.letter is None
                    and self._segmenter.silent_frames == self._look_frames):
                self._look_ahead()
            if (not update.ended and not self._not_for_us and self._segmenter.silent_frames == early_at
                    and self._complete_so_far()):
                self._segmenter.force_end()
                update.ended = True
            if update.ended and self._gated():
                self._not_for_us = True  # idle speech in which the spotter heard no wake phrase
            if update.ended and self._not_for_us:
                self.bus.emit("speech_end", self.t)
                self._recognizer = None  # speech that did not start with the wake word: nothing more to do
            else:
                self._finish_utterance(update.ended)
        transition = self.dialogue.tick(self.t, self._segmenter.in_speech)
        if transition and transition.reason == "played":
            self.bus.emit("speak_end", self.t, interrupted=False)
        if transition and transition.reason == "timeout" and transition.before is State.LISTENING:
            self._earcon("end")
        self._announce_due_timers()
        self._announce_mail()

    @property
    def now(self) -> datetime:
        """Wall-clock time on the audio clock."""
        return self.start_time + timedelta(seconds=self.t)

    def _announce_due_timers(self) -> None:
        """Say a due timer as soon as nobody is talking (not over the user, not over a reply)."""
        timers = self.session.timers
        if not timers or timers[0].due > self.now or self._segmenter.in_speech:
            return
        if self.dialogue.state in (State.SPEAKING, State.THINKING):
            return
        timer = timers[0]
        self.session.timers = timers[1:]
        self.persistence.save_state(self.session)
        self.bus.emit("timer", self.t, action="fired", id=timer.id, seconds=timer.seconds)
        self.say(announcement(timer))

    def new_mail(self, envelopes: Sequence[Envelope], announce: bool = True) -> None:
        """Mail arrived (the daemon's watcher): announce it when nobody is talking, never while
        dictating. Either way a ``mail`` event records it, and "read it" now means the newest."""
        for envelope in envelopes:
            self.bus.emit("mail", self.t, action="new", uid=envelope.uid, sender=envelope.sender,
                          subject=envelope.subject)
        self.mail.forget_listing()
        if not announce or self.letter is not None or not self.settings.mail.announce:
            return
        self._mail_news = [*envelopes, *self._mail_news]

    def _announce_mail(self) -> None:
        # only when idle (not over a conversation, not while dictating) and nobody is talking
        if not self._mail_news or self._segmenter.in_speech or self.dialogue.state is not State.IDLE:
            return
        news, self._mail_news = self._mail_news, []
        first = news[0]
        # _speak, not say: the follow-up window opens, so "read it" needs no wake word
        if len(news) == 1:
            self._speak(f"New message from {first.sender}: {first.spoken_subject}.")
        else:
            others = ", ".join(e.sender for e in news[1:3]) + (" and others" if len(news) > 3 else "")
            self._speak(f"{cardinal(len(news)).capitalize()} new messages. The newest is from {first.sender}: "
                        f"{first.spoken_subject}. Also from {others}.")

    def _wants_streaming(self) -> bool:
        """Stream-decode this utterance? Only when its result is used: partials are shown while
        listening for a command, and without a dictation engine the streamed text is final.
        Idle speech and dictation skip it: open-vocabulary PocketSphinx costs about a quarter
        of a core while someone talks, for text nobody would see (bench/daemon.py)."""
        if self.engines.dictation is None:
            return True
        partials_possible = self._grammar is not None or self.engines.streaming.open_vocabulary
        return partials_possible and self.dialogue.state in (State.LISTENING, State.FOLLOW_UP)

    def _new_recognizer(self) -> StreamingRecognizer | None:
        """With a dictation engine, partials come from the command grammar: they show the command
        being recognized, and the engine needs no open-vocabulary model."""
        try:
            if self.engines.dictation is not None and self._grammar is not None:
                return self.engines.streaming.recognizer(self._grammar)
            return self.engines.streaming.recognizer()
        except EarpieceError as exc:
            self.bus.emit("error", self.t, message=str(exc))
        except Exception as exc:  # an engine fault costs this utterance's partials, never the loop
            log.exception("the streaming engine failed")
            self.bus.emit("error", self.t, message=f"{self.engines.streaming.name} failed: {exc}")
        return None

    def _feed(self, frame: np.ndarray) -> None:
        assert self._recognizer is not None
        try:
            partial = self._recognizer.accept(frame)
        except Exception as exc:  # partials are a nicety: drop them for this utterance, keep listening
            log.exception("the streaming engine failed mid-utterance")
            self.bus.emit("error", self.t, message=f"{self.engines.streaming.name} failed: {exc}")
            self._recognizer = None
            return
        if partial and self.dialogue.state in (State.LISTENING, State.FOLLOW_UP):
            self.bus.emit("partial", self.t, text=partial)

    def _finish_utterance(self, ended: bool) -> None:
        if not ended:
            return
        self.bus.emit("speech_end", self.t)
        try:
            streamed = self._recognizer.finish() if self._recognizer is not None else Transcript("")
        except Exception as exc:  # the dictation engine can still read the utterance
            log.exception("the streaming engine failed to finish")
            self.bus.emit("error", self.t, message=f"{self.engines.streaming.name} failed: {exc}")
            streamed = Transcript("")
        self._recognizer = None
        try:
            heard = self._final_text(self._heard_audio(), streamed)
        except EarpieceError as exc:
            self.bus.emit("error", self.t, message=str(exc))
            return
        except Exception as exc:  # an engine crash must not end the conversation
            log.exception("recognition failed")
            self.bus.emit("error", self.t, message=f"recognition failed: {exc}")
            return
        log.info("heard %r in state %s", heard.text, self.dialogue.state.value)
        self._handle_text(heard.text)

    def _final_text(self, audio: np.ndarray, streamed: Transcript) -> Transcript:
        if self.engines.dictation is None:
            return streamed
        if self._early is not None:
            length, reading, spoken = self._early
            if length == len(audio):
                return reading  # the early look already read exactly this audio
            if spoken is not None and self.letter is None and spoken == self._spoken_samples():
                # Only silence since the pause that was read: the same words. Talk that was no
                # command (a wake withdrawn, a sentence in the follow-up window) was read twice.
                return reading
        return self._transcribe(audio)

    def _transcribe(self, audio: np.ndarray, named: bool = True, glance: bool = False, draft: bool = False) -> Transcript:
        """The dictation engine's reading (a quicker ``glance`` where only the name matters, a
        quicker ``draft`` of speech that may go on); while idle, with a misspelled name weighed
        back in (``named``) or read again carefully before the speech is taken as not for us."""
        assert self.engines.dictation is not None
        # While dictating no prompt: the letter so far as a prompt made tiny.en worse on some
        # voices (bench/letters.py, measured both ways), and it costs decoding time.
        prompt = "" if self.letter is not None else self.wake.prompt(self.session.name)
        heard = self.engines.dictation.transcribe(audio, prompt=prompt, glance=glance, draft=draft)
        idle = self.letter is None and self.dialogue.needs_wake_word and not self._woke_early
        if idle:  # a name read round and round is still a name ("come in, come in, come in, come")
            heard = Transcript(without_loop(heard.text), heard.words, heard.engine)
        hit = self.wake.match(heard.text)
        if idle and named and hit is not None:
            self._name_read = hit.phrase
        if idle and named and self._name_read and hit is None and heard.text.strip():
            # an earlier reading of this utterance opened with the name, and this longer one
            # left it out ("start a timer for 90 seconds." after "Samantha, start to time at 49%")
            return Transcript(with_name(heard.text, self._name_read.title())[0], engine=heard.engine)
        if idle and hit is None:
            # Whisper's quick read loses or misspells the name of some voices (en-us+f3 in
            # bench/wake.py). Weighing the reading with the name in front finds most, for a few
            # decoder passes; only where that makes the name plausible, or the spotter and such a
            # reading already did, is a careful second read (10 s window) worth its cost: on
            # every utterance it was most of the CPU spent on talk not meant for us.
            reading = self._named_reading(audio, heard, prompt, floor=glance)
            if reading is not None and named:
                return reading
            if reading is not None:
                careful = self.engines.dictation.transcribe(audio, prompt=prompt, careful=True)
                if self.wake.match(careful.text) is not None:
                    self._name_doubtful = True
                    return careful
            if reading is not None:
                self._name_unsure = True  # the whole utterance decides, when it ends
        return heard

    def _named_reading(self, audio: np.ndarray, heard: Transcript, prompt: str, insert: bool = True,
                       phrases: Sequence[str] = (), floor: bool = False) -> Transcript | None:
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
        read of the utterance's first 3 s, each time."""
        assert self.engines.dictation is not None
        spoken = f" {' '.join(words_of(heard.text))} "
        if any(f" {phrase} " in spoken for phrase in self.wake.phrases):
            return None
        readings: list[str] = []
        tiers: list[int] = []
        for phrase in phrases or self.wake.phrases:
            for index, reading in enumerate(with_name(heard.text, phrase.title(), insert)):
                rest = self.wake.strip(reading)
                # the name put before the whole reading needs a command as heard: "come in," (the
                # name itself, misspelled) is only near "come again", and must not become one
                if self._could_be_command(rest, exact=insert and index == 0):
                    readings.append(reading)
                    if not any(ch.isalnum() for ch in rest):
                        tiers.append(2)  # a bare name: last
                    else:
                        tiers.append(0 if insert or self._could_be_command(rest, exact=True) else 1)
        if not readings:
            return None
        bare = [phrase.title() for phrase in phrases or self.wake.phrases] if floor else []
        scores = self.engines.dictation.score(audio, [heard.text, *readings, *bare], prompt)
        if scores is None:
            return None
        if bare:
            if max(scores[len(scores) - len(bare):]) < NAME_FLOOR:
                log.info("heard %r; the name is not that likely there", heard.text)
                return None
            scores = scores[: len(scores) - len(bare)]
        choice = choose_named(scores[0], scores[1:], readings, tiers)
        if choice is None:
            return None
        log.info("heard %r, taking it as %r (log-likelihood %+.1f against it)", heard.text, choice.text, choice.margin)
        return Transcript(choice.text, engine=heard.engine)

    def _could_be_command(self, text: str, exact: bool = False) -> bool:
        """Nothing (a bare name), or a command as heard (``exact``) or nearly (letter likeness, no weighing)."""
        if not any(ch.isalnum() for ch in text):
            return True
        return any(self.router.route(variant).name != UNKNOWN or (not exact and self.router.nearest(variant).name != UNKNOWN)
                   for variant in misheard_numbers(text))

    def _spotting(self) -> bool:
        """Is the spotter deciding about this utterance? Only idle speech outside dictation,
        before a wake phrase was confirmed, and only its first SPOT_WINDOW seconds (WAKE_WINDOW where
        the spotter alone does not decide)."""
        return (self._spotter is not None and self.dialogue.needs_wake_word and self.letter is None
                and not self._woke_early and not self._not_for_us)

    def _spot(self, frames: list[np.ndarray]) -> None:
        assert self._spotter is not None
        for frame in frames:
            try:
                phrase = self._spotter.accept(frame)
            except Exception as exc:  # without its spotter the assistant would go deaf: read every utterance
                log.exception("the wake spotter failed")
                self.bus.emit("error", self.t, message=f"the wake spotter failed ({exc}); reading every utterance instead")
                self._spotter = None
                return
            if phrase is not None and self._confirm_wake(phrase):
                return
        if len(self._segmenter.audio) >= SPOT_WINDOW_FRAMES and self._gated():
            self._not_for_us = True  # the spotter would have heard the name by now

    def _gated(self) -> bool:
        """Does the spotter alone decide that an idle utterance is not for us? Once it is warm:
        before that, the dictation engine also reads the start of each utterance, as without one."""
        return self._spotting() and self._spotter is not None and self._spotter.warm and not self._name_unsure

    def _confirm_wake(self, phrase: str) -> bool:
        """The spotter heard ``phrase``: the dictation engine reads the CONFIRM_SPAN seconds before,
        and the name must open that reading (not "I told Samantha"). Then the assistant wakes at
        once, mid-utterance, and the command is read from there.

        A 3 s Whisper encoder window (CTranslate2 directly) made this read about five times
        cheaper, but misses in bench/wake.py rose from 12 to 35 of 198, so it reads as usual."""
        self._spot_checks += 1
        utterance = self._segmenter.utterance()
        start = max(0, len(utterance) - int(CONFIRM_SPAN * SAMPLE_RATE))
        audio = utterance[start:]
        try:
            # Not weighed with the name in front here: this reading ends where the name did, so
            # "the manager." weighed as "Samantha." would look like a bare name (bench/wake.py);
            # the whole utterance, read when it ends, shows whether a command follows.
            transcript = self._transcribe(audio, named=False, glance=True)
        except Exception:  # the utterance's end will be read again and report it
            return False
        self._early = (len(audio), transcript, None)
        hit = self.wake.match(transcript.text)
        if hit is None:
            if self._name_unsure:
                log.info("spotted %r; the start %r may be the name: the whole utterance decides", phrase, transcript.text)
                return False
            log.info("spotted %r, but the start was %r: not for me", phrase, transcript.text)
            if self._spot_checks >= SPOT_CHECKS or (start == 0 and self.wake.opens_otherwise(transcript.text)):
                self._not_for_us = True  # any later hit in it would be read from this same start
            return False
        self._woke_early = True
        self._wake_from = start
        self._name_read = hit.phrase
        self.bus.emit("wake", self.t, word=hit.phrase)
        self.dialogue.woke(self.t)
        self.session.asleep = False
        return True

    def _heard_audio(self) -> np.ndarray:
        """The utterance from where the wake phrase was read: noise or talk before the name
        (the VAD joins them in a noisy room) stays out of the command's transcript."""
        return self._segmenter.utterance()[self._wake_from :]

    def _after_name(self, text: str) -> tuple[str, NameReading]:
        """The command in a transcript whose start the spotter and a first reading already took
        for the name, even if this reading spells it otherwise ("Samanta, what time is it?"),
        and how this reading has the name: as written or weighed on the audio ("read"), as words
        that sound a little like it ("sounds_alike": "some of the mountains"), or not at all.
        Only the phrase that was read there counts: with "hey computer" a wake phrase too, "Hey,
        what's your name?" after "Ada" woke it is not "your name?"."""
        hit = self.wake.match(text)
        if hit is not None:
            return hit.command, "read"
        words = text.split()
        woke_by = (self._name_read,) if self._name_read else self.wake.phrases
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
            if self._could_be_command(rest):
                return rest, "sounds_alike"
        if alike:
            return alike[0][1], "sounds_alike"
        if self.engines.dictation is not None:
            # "come in," for a bare "Samantha," cut off at the comma pause: weighed on the audio
            # (the reading starts with the name, so it is not weighed as coming before it)
            named = self._named_reading(self._heard_audio(), Transcript(text), self.wake.prompt(self.session.name),
                                        insert=False, phrases=woke_by)
            hit = self.wake.match(named.text) if named is not None else None
            if hit is not None:
                return hit.command, "read"
        return text.strip(), "left_out"

    def _wake_window_passed(self) -> bool:
        """While idle, only the start of an utterance can hold the wake word: once WAKE_WINDOW
        seconds of it are in, read just that much, and if the name is not there, stop listening
        to the rest. Long speech not meant for the assistant then costs one short read."""
        if not self.dialogue.needs_wake_word or self.letter is not None or self.engines.dictation is None:
            return False
        if self._gated() or len(self._segmenter.audio) != WAKE_WINDOW_FRAMES:
            return False
        try:
            heard = self._transcribe(self._segmenter.utterance())
        except Exception:  # the utterance's end will be read again and report it
            return False
        if self.wake.match(heard.text) is not None:
            return False
        log.info("not for me (no wake word at the start): %r", heard.text)
        return True

    def _look_ahead(self) -> None:
        """Read the command at a short pause, for _complete_so_far to reuse if the pause lasts.
        Not while the name is unsure: that is mostly talk not meant for us, paused at every comma
        (28 reads, 1 % of a core, on bench/wake.py's varied talk); _complete_so_far still reads
        where the pause lasts."""
        audio = self._heard_audio()
        if (self.engines.dictation is None or self._gated() or self._name_unsure
                or len(audio) > EARLY_MAX_SECONDS * SAMPLE_RATE):
            return
        try:
            self._look = (self._spoken_samples(), self._transcribe(audio, draft=True))
        except Exception:  # the later reads will report it
            self._look = None
            return
        self._withdraw_if_no_call(self._look[1].text)

    def _withdraw_if_no_call(self, text: str) -> bool:
        """After an early wake, does the reading so far, ``text``, already show it was no call:
        the name only as words that sound a little like it, then WITHDRAW_AFTER_WORDS or more
        that are not even near a command? Then the wake is withdrawn now, as the end of the
        utterance would (see _handle_text), and the rest of it is not read."""
        if not self._woke_early or self.letter is not None or self.dialogue.state is not State.LISTENING:
            return False
        command, name_as = self._after_name(text)
        if name_as != "sounds_alike" or len(command.split()) < WITHDRAW_AFTER_WORDS or self._could_be_command(command):
            return False
        self._withdraw_wake(text, "the utterance so far")
        self._not_for_us = True
        self._look = None
        return True

    def _withdraw_wake(self, heard: str, reading: str) -> None:
        """Back to idle without a word: the wake on the name was a mistake, as ``heard`` (the
        ``reading`` of the utterance that shows it) makes plain."""
        log.info("woke on %r, but %s was %r: not for me", self._name_read, reading, heard)
        self.bus.emit("wake_withdrawn", self.t, word=self._name_read, heard=heard)
        self.dialogue.withdraw()

    def _spoken_samples(self) -> int:
        """Samples of the utterance before its current pause."""
        return len(self._heard_audio()) - self._segmenter.trailing_silence * FRAME_SAMPLES

    def _complete_so_far(self) -> bool:
        """After a short pause, is what was said already a whole command?

        If so the utterance ends now instead of after the full end_silence: replies come sooner,
        and a pause inside an unfinished command ("set a timer for... ten minutes") still waits.
        """
        if self.engines.dictation is None:
            return False
        audio = self._heard_audio()
        if self.letter is None and len(audio) > EARLY_MAX_SECONDS * SAMPLE_RATE:
            return False  # commands are short; a long utterance ends the ordinary way
        if self._gated():
            return False  # no wake phrase spotted yet: nothing to read
        look, self._look = self._look, None
        if look is not None and look[0] == self._spoken_samples():
            transcript = look[1]  # nothing was said since the look ahead: its reading stands
        else:
            try:
                transcript = self._transcribe(audio)
            except Exception:  # the final read will report it
                return False
        self._early = (len(audio), transcript, self._spoken_samples())
        if self._withdraw_if_no_call(transcript.text):
            return False
        if self.letter is not None:
            # a writer pausing mid-sentence must not be cut off: only a finished sentence ends early
            return transcript.text.rstrip().endswith((".", "?", "!")) and not transcript.text.rstrip().endswith("...")
        hit = self.wake.match(transcript.text)
        if hit is None and self.dialogue.needs_wake_word:
            if len(audio) >= WAKE_SEEN_BY * SAMPLE_RATE:
                self._not_for_us = True  # long enough to have held the name, and it did not
            return False
        command = hit.command if hit is not None else transcript.text
        if not any(ch.isalnum() for ch in command):
            # a bare name waits for the full end_silence: "Samantha, take a letter to Tom" has a
            # comma pause after the name, and the command read alone is misheard more often
            return False
        return self.router.route(command).name != UNKNOWN or self.router.nearest(command).name != UNKNOWN

    def _barge_in(self) -> None:
        """Someone talks over the reply: it stops at once, and what they say is heard out."""
        assert self._sink is not None
        if self.t >= self.dialogue.speaking_until:  # the reply had just ended (the self-hearing guard)
            self.bus.emit("speak_end", self.t, interrupted=False)
            self.dialogue.interrupt(self.t)
            return
        self._sink.stop(self.t)
        self._echo.stopped(self.t)
        self.bus.emit("speak_end", self.t, interrupted=True)
        if self._playing is not None:
            pcm, start, resumed = self._playing
            done = int((self.t - start) * SAMPLE_RATE)
            self._cut_reply = (pcm[done:], resumed) if 0 <= done < len(pcm) else None
        self.dialogue.barge_in(self.t)

    def _handle_text(self, text: str) -> None:
        cut, self._cut_reply = self._cut_reply, None
        if self.letter is not None:
            if cut is not None and self.router.route(self.wake.strip(text)).name == "Stop":
                return  # "stop" over a read-back silences it; it is not a sentence for the letter
            self._dictate(self.wake.strip(text))
            return
        hit = self.wake.match(text)
        name_as: NameReading = "read"
        if self._woke_early:
            command, name_as = self._after_name(text)
        else:
            if hit is None and self.dialogue.needs_wake_word:
                return
            if hit is not None:
                self.bus.emit("wake", self.t, word=hit.phrase)
                self.dialogue.woke(self.t)
                self.session.asleep = False
            command = hit.command if hit is not None else text.strip()
        if not any(ch.isalnum() for ch in command):
            if cut is not None and hit is None:
                self._go_on_with(cut)  # a cough or a sigh over the reply
                return
            self._earcon("wake")  # a bare wake word: say "I'm listening" and wait for the command
            return
        self.dialogue.thinking()
        intent = self._understand(command, text)
        if intent.name == UNKNOWN and (name_as == "sounds_alike" or self._doubtful_wake_unfounded(text, name_as)):
            # The glance took the start of the utterance for the name ("Some of the m(ountains)"
            # read as "Samantha, Samantha," in bench/wake.py); the whole reading has other words
            # there, which only sound a little like it, and no command follows: the wake is
            # withdrawn before anything was said or played. (Where a long reading leaves the name
            # out altogether, as Whisper often does before talk that is no command, it stands.)
            # So is a wake at the hit that only the careful second read of its short span found,
            # when no command follows and the whole utterance does not bear the name out.
            self._withdraw_wake(text, "the whole utterance")
            return
        self.bus.emit("transcript", self.t, text=command)
        self.bus.emit("intent", self.t, name=intent.name, slots=intent.slots)
        if cut is not None and intent.name == UNKNOWN:
            self._go_on_with(cut)  # talk not meant for the assistant
            return
        if intent.name == UNKNOWN and hit is None and not self._woke_early and self.session.pending is None:
            # In the follow-up window, without the name, and no command: the user turned to
            # somebody else. "Sorry, I didn't catch that" there would open another window, and
            # a conversation would keep it answering every sentence.
            log.info("no command in the follow-up window, %r: back to idle", command)
            self.dialogue.withdraw()
            return
        if intent.name == "StartLetter":
            self._start_letter(intent)
            return
        self._respond(intent)

    def _doubtful_wake_unfounded(self, text: str, name_as: NameReading) -> bool:
        """Was a wake taken at the spotter's hit on a doubtful name (found by the careful second
        read only) a mistake, now that the whole utterance, ``text``, holds no command?

        Prompted with the name, the careful read of 0.7 s of "some of the m-" or "the man does
        it" wrote "Samantha." (the false wakes on talk in bench/wake.py, and on 12 minutes of
        noisier talk). The whole reading then either has the name glued to words that were
        never a call ("Samantha mountains in Montana..."), or leaves it out; and a name that
        was said but left out, as Whisper does before talk that is no command ("come in" for
        en-us+f3's "Samantha", then a recording), is about as likely put back in front as the
        reading without it, where one that was never said is far less likely."""
        if not (self._woke_early and self._name_doubtful) or name_as == "sounds_alike":
            return False
        if name_as == "read":
            # The name glued to words that were never a call ("Samantha mountains in Montana"),
            # or only weighed in, stays doubtful; set apart as a call it is borne out: en-us+f3's
            # "Samantha, one, two, three." before a real recording (bench/wake.py).
            hit = self.wake.match(text)
            return hit is None or not hit.set_apart
        if self.engines.dictation is None:
            return False
        named = name_put_back(text, self._name_read.title())
        try:
            scores = self.engines.dictation.score(self._heard_audio(), [text, *named], self.wake.prompt(self.session.name))
        except Exception:  # the wake stands, as it would have without this check
            log.exception("the dictation engine could not weigh the name")
            return False
        if not scores or scores[0] == float("-inf"):
            return False
        margin = max(scores[1:]) - scores[0]
        log.info("doubtful name left out of %r: put back, %+.1f against it", text, margin)
        return margin < -LEFT_OUT_NAME_MARGIN

    # --- letters -----------------------------------------------------------------------------

    def _dictation_command_reading(self, text: str) -> str:
        """A short utterance that is no command as heard gets a second, grammar-restricted reading:
        "Crash Matt." is taken as "scratch that" only when the command grammar hears that too
        and the two readings look alike."""
        if parse_command(text) is not None or len(words_of(text)) > 5 or self.engines.dictation is None:
            return text
        reading = self._reread(COMMAND_PHRASES)
        if reading is None or parse_command(reading) is None:
            return text
        agreement = self._likeness(text, reading)
        # once the letter is finished, only commands are expected: a looser likeness will do
        if self.letter.finished:
            needed = 0.25  # only commands are expected now
        elif len(words_of(text)) <= 3:
            needed = DICTATION_COMMAND_AGREEMENT - 0.1  # "crash note": too short to be a sentence that matters
        else:
            needed = DICTATION_COMMAND_AGREEMENT
        if agreement < needed:
            return text
        log.info("dictation: heard %r, taking it as the command %r (agreement %.2f)", text, reading, agreement)
        return reading

    def _start_letter(self, intent: IntentMatch) -> None:
        recipient = str(intent.slots.get("recipient", "")).strip(" .,!?")
        if not recipient:
            self._speak("Who is the letter to? Say, for example: take a letter to Tom.")
            return
        sender = str(intent.slots.get("sender", ""))
        self._begin_dictation("letter", lambda: LetterDictation.start(
            recipient, sender, self.settings, self.address_book, self.journal_path, self.now))

    def _start_reply(self, context: ReplyContext, say: str) -> None:
        self._begin_dictation("reply", lambda: LetterDictation.reply(
            context, self.settings, self.address_book, self.journal_path, self.now), say)

    def _begin_dictation(self, kind: str, open_letter: Callable[[], LetterDictation], say: str = "") -> None:
        """Open a letter or reply (its journal first) and switch to dictation mode."""
        try:
            self.letter = open_letter()
        except (OSError, EarpieceError) as exc:
            self.bus.emit("error", self.t, message=f"cannot start the {kind}: {exc}")
            self._speak(f"Sorry, I can't start a {kind} right now.")
            return
        self.bus.emit("letter", self.t, action="start", text=self.letter.letter.greeting)
        self.dialogue.dictate(True)
        self._speak(say or f"Writing to {self.letter.letter.recipient}. Go ahead.")

    def _dictate(self, text: str) -> None:
        assert self.letter is not None
        text = self._dictation_command_reading(text)
        self.bus.emit("transcript", self.t, text=text)
        outcome = self.letter.hear(text)
        for event in outcome.events:
            if event["action"] == "error":
                self.bus.emit("error", self.t, message=event["text"])
            else:
                self.bus.emit("letter", self.t, **event)
        if outcome.done:
            self.letter = None
            self.dialogue.dictate(False)
        if outcome.say:
            self._speak(outcome.say)

    def _understand(self, command: str, heard: str) -> IntentMatch:
        """Templates first; then the sentences they allow near what was heard, weighed by the
        dictation engine on the audio; where it cannot weigh, the nearest template sentence
        and the command grammar's reading, by likeness."""
        intent = self.router.route(command)
        if intent.name != UNKNOWN:
            return intent
        # read once: weighed as a candidate, or (where nothing can be weighed) checked for agreement
        reading = self._grammar_reading() if self._grammar is not None and self.engines.dictation is not None else None
        weighed = self._weighed(command, heard, reading)
        if weighed is not None:
            return weighed
        nearest = self.router.nearest(command)
        if nearest.name != UNKNOWN:
            log.info("heard %r, taking it as %r", command, nearest.text)
            return nearest
        # Only slot-less readings: a number the dictation engine did not hear is never guessed.
        if reading and reading.name != UNKNOWN and not reading.slots:
            agreement = self._likeness(command, reading.text)
            if agreement >= AGREEMENT_MIN:
                log.info("heard %r; the command grammar read %r (agreement %.2f)", command, reading.text, agreement)
                return reading
        return intent

    def _weighed(self, command: str, heard: str, grammar_reading: IntentMatch | None) -> IntentMatch | None:
        """The template sentence (near ``command``, or the command grammar's reading) that the
        dictation engine finds almost as likely as its own reading ``heard``; Unknown when none
        is; None when the engine cannot weigh sentences (then likeness decides)."""
        if self.engines.dictation is None or not heard.strip():
            return None
        sentences = [sentence for variant in misheard_numbers(command)
                     for sentence, _likeness, _template in self.router.nearest_sentences(variant, NEAREST_CANDIDATES)]
        if len(words_of(command)) == 1:
            # one word shares too few letters with the word said ("killed" for "help"): weigh them all
            sentences += self.router.one_word_sentences()
        if grammar_reading is not None and grammar_reading.name != UNKNOWN:
            sentences.append(digits_for_number_words(grammar_reading.text))
        sentences = list(dict.fromkeys(s for s in sentences if s))
        if not sentences:
            return IntentMatch(UNKNOWN, {}, normalize(command))
        prefix = heard[: len(heard) - len(command)] if command and heard.endswith(command) else ""
        candidates = [prefix + written_like(sentence, command or heard, prefix) for sentence in sentences]
        try:
            scores = self.engines.dictation.score(self._heard_audio(), [heard, *candidates], self.wake.prompt(self.session.name))
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

    def _grammar_reading(self) -> IntentMatch | None:
        """Decode the utterance again, restricted to what the templates allow."""
        assert self._grammar is not None
        text = self._reread(self._grammar)
        return self.router.route(self.wake.strip(text)) if text is not None else None

    def _reread(self, grammar: "Grammar | Sequence[str]") -> str | None:
        """The current utterance decoded again by the streaming engine, restricted to ``grammar``."""
        try:
            return self.engines.streaming.recognizer(grammar).read(self._heard_audio()).text
        except EarpieceError as exc:
            log.warning("grammar-restricted reading failed: %s", exc)
            return None

    def _likeness(self, heard: str, reading: str) -> float:
        """How alike two readings are, by sound (phones) or by letters, whichever is kinder."""
        return max(self.engines.streaming.sounds_alike(heard, reading),
                   difflib.SequenceMatcher(None, " ".join(words_of(heard)), reading).ratio())

    def _respond(self, intent: IntentMatch) -> None:
        if intent.name not in ("Confirm", "Deny"):
            self.session.pending = None
        reply = self._run_skill(intent)
        for kind, fields in reply.events:
            self.bus.emit(kind, self.t, **fields)
        if reply.question is not None:
            self.session.pending = reply.question
        self._apply_session()
        if reply.reply_to is not None:
            self._start_reply(reply.reply_to, reply.text)
            return
        if reply.stop_speaking and self._sink is not None:
            self._sink.stop(self.t)
            self._echo.stopped(self.t)
        if reply.text:
            self._speak(reply.text)
        else:
            self.dialogue.done(self.t)

    def _apply_session(self) -> None:
        """Skills change the session; the pipeline's parts follow at once."""
        if self.session.wake_words != self.wake.phrases:
            self.wake = WakeMatcher(self.session.wake_words)
            self._grammar = self._build_grammar() if self._grammar is not None else None
            self._spotter = self._build_spotter()
        self.voice.volume = self.session.volume
        if self.session.asleep:
            self.dialogue.sleep()

    def _run_skill(self, intent: IntentMatch) -> Reply:
        context = SkillContext(self.now, self.session, self.router.examples, self.persistence)
        try:
            return self.skills.handle(intent, context)
        except Exception as exc:  # a broken skill is an error event, never a dead assistant
            log.exception("skill for %s failed", intent.name)
            self.bus.emit("error", self.t, message=f"{intent.name} failed: {exc}")
            return Reply("Sorry, something went wrong.")

    def _speak(self, text: str) -> None:
        self.bus.emit("reply", self.t, text=text)
        self.session.last_reply = text
        try:
            pcm = self.voice.render(text)
        except EarpieceError as exc:
            self.bus.emit("error", self.t, message=str(exc))
            self.dialogue.done(self.t)
            return
        self._play(pcm)

    def _play(self, pcm: np.ndarray, **fields: object) -> None:
        """Start ``pcm`` on the sink; the echo gate and the dialogue learn when it plays."""
        assert self._sink is not None
        start = max(self.t, self._sink.play(pcm, self.t))
        self._echo.played(pcm, start)
        self._playing = (pcm, start, bool(fields.get("resumed")))
        self.bus.emit("speak_start", start, **fields)
        self.dialogue.speaking(until=start + len(pcm) / SAMPLE_RATE)

    def _go_on_with(self, cut: tuple[np.ndarray, bool]) -> None:
        """Something not meant for the assistant was said over its reply: the rest of the reply
        plays. Talked over again, it is dropped and the assistant goes back to idle: people
        talking among themselves kept it listening, and reading every sentence as a command,
        for as long as they talked (a false wake in bench/wake.py's talk did)."""
        rest, resumed_before = cut
        if resumed_before:
            log.info("talked over twice by talk not meant for me: the rest of the reply is dropped")
            self.dialogue.withdraw()
            return
        self._play(rest, resumed=True)

    def _earcon(self, kind: str) -> None:
        if self.settings.audio.earcons and self._sink is not None:
            tone = earcon(kind, self.session.volume)
            self._echo.played(tone, max(self.t, self._sink.play(tone, self.t)))

    def _drain_speech(self) -> None:
        """At the end of a file, let the last reply finish on the audio clock."""
        if self.dialogue.state is State.SPEAKING:
            self._samples = max(self._samples, int(self.dialogue.speaking_until * SAMPLE_RATE))
            self.bus.emit("speak_end", self.t, interrupted=False)
            self.dialogue.done(self.t)
