"""The one pipeline: source → VAD → wake → recognizer → router → skill → voice → sink.

File mode, live mode and (later) the daemon build the same ``Pipeline`` and differ only
in the source and sink they hand to ``run``. Time is audio time: ``t`` is the number of
input seconds consumed, so the same WAV gives the same events at any CPU speed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.earcons import earcon
from assistant.audio.echo import EchoGate
from assistant.audio.vad import FRAME_SECONDS, UtteranceSegmenter
from assistant.config import Settings
from assistant.dialogue import ANSWERS_BEFORE_LAPSE, Dialogue, State
from assistant.errors import EarpieceError, spoken_os_error
from assistant.events import EventBus
from assistant.intents.reading import CommandReader
from assistant.intents.router import UNKNOWN, IntentMatch, Router
from assistant.skills.base import Persistence, Question, Reply, Session, SkillContext, SkillRegistry
from assistant.intents.numbers import cardinal
from assistant.calendar.announcer import Announcer
from assistant.calendar.announcer import announcement as event_announcement
from assistant.calendar.sources import Calendars
from assistant.mail.message import Envelope
from assistant.media.ducking import Ducker
from assistant.mail.store import MailStore, open_store
from assistant.memory import give_back
from assistant.skills.clock import ClockSkill
from assistant.skills.mail import MailSkill
from assistant.skills.system import NameSkill, SystemSkill, UnknownSkill
from assistant.skills.calendar import CalendarSkill
from assistant.skills.media import MediaSkill
from assistant.skills.reminders import ReminderSkill, reminder_announcement
from assistant.skills.timers import TimerSkill, announcement
from assistant.speech.engines import Engines, StreamingRecognizer, Transcript, words_of
from assistant.speech.voice import Voice
from assistant.wake import NameReading, WakeDecider, WakeDecision
from assistant.wake.decider import NAME_LAST_WORDS, WAKE_SEEN_BY
from assistant.letters.addressbook import AddressBook
from assistant.letters.model import Letter, ReplyContext
from assistant.letters.session import LetterDictation
from assistant.letters.shelf import Shelf
from assistant.letters.spoken import parse_command
from assistant.mail.accounts import default_account
from assistant.state import Remembered

log = logging.getLogger(__name__)

__all__ = ["Engines", "Pipeline", "Sink", "Source"]


class Source(Protocol):
    def frames(self) -> Iterator[np.ndarray]: ...
    def close(self) -> None: ...


class Sink(Protocol):
    def play(self, pcm: np.ndarray, at: float) -> float: ...
    def stop(self, at: float | None = None) -> None: ...
    def close(self, length: float = 0.0) -> None: ...


class TextOnlySink:
    """For a pipeline whose replies are taken as text (``Pipeline.answer``): nothing is rendered."""

    text_only = True
    echo_free = True

    def play(self, pcm: np.ndarray, at: float) -> float:
        return at

    def stop(self, at: float | None = None) -> None:
        pass

    def close(self, length: float = 0.0) -> None:
        pass


DICTATION_STARTS = ("StartLetter", "ResumeLetter", "ReplyMail")
"""Intents that open dictation: by voice only."""


class _NoPersistence:
    """For runs that must leave no trace (benchmarks, some tests)."""

    def save_state(self, session: Session) -> None:
        pass

    def save_name(self, old: str, new: str) -> None:
        pass


EARLY_MAX_SECONDS = 8.0
"""Only utterances up to this long are checked for being a complete command early."""

EARLY_PAUSE = 0.2
"""Seconds of pause after which a complete command ends the utterance without waiting for end_silence."""

EARLY_LOOK = 0.06
"""Seconds of pause at which a command is already read, ahead of EARLY_PAUSE: live, Whisper's
few hundred milliseconds then overlap the rest of the pause instead of following it, and the
reading is reused when nobody spoke again. Ending the utterance this early instead cut
commands at espeak-ng's gaps between words (measured by the previous change of EARLY_PAUSE)."""

REMOTE_DOWN_NOTICE = "My speech server isn't answering, so I'm listening on my own."
REMOTE_VOICE_DOWN_NOTICE = "My voice server isn't answering, so I'm speaking on my own."

PAUSE_READ = 0.2
"""Seconds of quiet after the last word that a read at a pause is given (_with_pause)."""

DICTATION_EARLY_PAUSE = 0.2
"""While dictating, a pause this long after a sentence Whisper reads as finished ends the utterance."""

PHRASE_PAUSE = 0.2
"""Seconds of pause that end idle speech already taken as not for us: what follows is a new
phrase, which may open with the name. A person reading a list of words ("pineapple, porcupine,
raspberry") or calling after a few words to someone else pauses this long before the name,
where the VAD's end of speech (end_silence) would have joined them into one utterance whose
start alone can hold a call."""

LOOK_BACK_GAP = 1.5
"""Seconds of quiet between an idle phrase not taken as a call (from its last voiced frame) and a
bare name after it, within which that phrase is read as the command said before the name: "What
should I call you? ... Samantha." is cut at the comma pause (PHRASE_PAUSE), as it must be for a
call after a breath, and a warm spotter hears only an utterance's first SPOT_WINDOW seconds.
(Measured from where the phrase's pause began, not where it was found to end, so the gap is the
same however the pause was detected.)"""


@dataclass(frozen=True)
class Phrase:
    """An idle phrase that was not a call, kept in case a bare name follows it."""

    audio: np.ndarray
    """Its audio (16 kHz int16)."""

    ended: float
    """When its last voiced frame ended (audio time)."""

    reading: str | None
    """What the dictation engine read of it, where it was read; None where the spotter alone
    decided it was not for us."""


class Pipeline:
    def __init__(self, settings: Settings, engines: Engines, router: Router, voice: Voice, bus: EventBus,
                 start_time: datetime | None = None, remembered: Remembered | None = None,
                 persistence: Persistence | None = None, use_grammar: bool = True,
                 journal_path: Path | None = None, address_book: AddressBook | None = None,
                 mail_store: Callable[[], MailStore] | None = None, ducker: Ducker | None = None,
                 calendars: Callable[[], Calendars] | None = None, calendar_background: bool = False) -> None:
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
        self._use_grammar = use_grammar
        self.mail = MailSkill(settings, mail_store or (lambda: open_store(settings)))
        self.ducker = ducker
        self.calendar = CalendarSkill(calendars or (lambda: Calendars([])))
        self.announcer = Announcer(calendars(), settings.calendar.announce, calendar_background) if calendars else None
        """Says events before they start; it has calendars of its own (their connections are not shared)."""
        system = SystemSkill()
        self.skills = SkillRegistry([ClockSkill(), system, NameSkill(), TimerSkill(), ReminderSkill(), self.mail,
                                     MediaSkill(ducker, settings.media, voice_volume=system), self.calendar],
                                    UnknownSkill())
        self.dialogue = Dialogue(settings.wake, on_change=self._conversation_changed)
        self._segmenter = UtteranceSegmenter(
            settings.audio.vad_aggressiveness, settings.audio.end_silence, settings.audio.max_utterance)
        self._recognizer: StreamingRecognizer | None = None
        self._streamed_samples = 0
        """Samples of the utterance the streaming recognizer has been fed."""
        self._held_frames: list[np.ndarray] = []
        """Frames of the current pause not yet given to the streaming engine (_feed_unless_paused)."""
        self._partial = ""
        """The streaming engine's latest partial reading of the utterance."""
        self._notice = ""
        """Said before the next reply, once (a remote engine that stopped answering)."""
        self._grammar_text: str | None = None
        """The command grammar's streamed reading of the utterance just ended (None: none was made)."""
        self._samples = 0
        self._sink: Sink | None = None
        self.voice.volume = self.session.volume
        self._early: tuple[int, Transcript, int | None] | None = None
        """The latest reading taken before the utterance ended: samples read, the reading, and
        the samples spoken before the pause it was taken at (None for a glance at the span
        before a spotter hit), so the final read can reuse it."""
        self.journal_path = journal_path
        self.address_book = address_book or AddressBook([])
        self.letter: LetterDictation | None = None
        self.shelf = Shelf(journal_path) if journal_path is not None else None
        self._offer: Letter | None = None
        """An unfinished letter to mention once, with the reply after the first wake."""
        self._settled = False
        """What the last run left has been settled (at start), or carried on from the pipeline
        this one replaces (a reload)."""
        self._early_frames = round(EARLY_PAUSE / FRAME_SECONDS)
        self._look_frames = round(EARLY_LOOK / FRAME_SECONDS)
        self._look: tuple[int, Transcript] | None = None
        """A command read at the EARLY_LOOK pause: (samples of it before that pause, reading)."""
        self._dictation_early_frames = round(DICTATION_EARLY_PAUSE / FRAME_SECONDS)
        self._phrase_frames = round(PHRASE_PAUSE / FRAME_SECONDS)
        self._before: Phrase | None = None
        """The last idle phrase that was not a call, for a bare name right after it (_said_before)."""
        self._started_at = 0.0
        """When the current utterance started (audio time)."""
        self._mail_news: list[Envelope] = []
        self._mail_count = 0
        """How many arrived since the last announcement (_mail_news holds the newest few of them)."""
        self.wake, self.commands = self._wake_and_commands()
        self._echo = EchoGate()
        self._playing: tuple[np.ndarray, float, bool] | None = None
        """The reply on the sink: its audio, when it started, and whether it is a cut one going on."""
        self._cut_reply: tuple[np.ndarray, bool] | None = None
        """What barge-in left of the reply, and whether it had gone on after a cut before."""

    def _wake_and_commands(self) -> tuple[WakeDecider, CommandReader]:
        """The wake decision and the command reader for the session's current name and wake words."""
        wake = WakeDecider(self.session.wake_words, self.session.name, self.engines, self.router,
                           utterance=self._segmenter.utterance, sensitivity=self.settings.wake.sensitivity_of,
                           on_error=lambda message: self.bus.emit("error", self.t, message=message),
                           neural=self.settings.wake.neural, remote=self.settings.wake.remote)
        return wake, CommandReader(self.router, self.engines, wake.matcher, self._use_grammar)

    def _tidy_letters(self) -> list[dict[str, str]]:
        """Settle the letter a dead run left (Shelf.tidy) and find the unfinished ones. Nothing is
        said now: a voice at boot speaks into a silent room, and a question asked then held
        every command hostage (issue 27). The newest is offered at the first wake instead."""
        if self.shelf is None:
            return []
        account = default_account(self.settings)
        events: list[dict[str, str]] = []
        try:
            tidied = self.shelf.tidy(self.settings, account[1].from_ if account else "")
            unfinished = self.shelf.letters()
        except OSError as exc:
            log.warning("the letters the last run left cannot be settled: %s", exc)
            return [{"action": "error", "text": f"the letters the last run left cannot be settled: {exc}"}]
        if tidied.saved is not None:
            events.append({"action": "save", "text": str(tidied.saved)})
        if tidied.discarded is not None:
            events.append({"action": "discard", "text": tidied.discarded.id})
        events += [{"action": "unfinished", "text": letter.id} for letter in unfinished]
        self._offer = unfinished[-1] if unfinished else None
        return events

    @property
    def t(self) -> float:
        return self._samples / SAMPLE_RATE

    def run(self, source: Source, sink: Sink, stopped: Callable[[], bool] = lambda: False) -> None:
        """Consume the source to its end (file) or until ``stopped()`` (checked after each frame);
        either way the utterance in progress is then finished."""
        self.start(sink)
        try:
            for frame in source.frames():
                self.feed(frame)
                if stopped():
                    break
            self.finish()
        finally:
            self.let_go()
            source.close()
            sink.close(self.t)

    def start(self, sink: Sink, samples: int = 0) -> None:
        """Begin at audio offset ``samples`` (a reloaded pipeline continues its predecessor's clock)."""
        self._sink = sink
        self._samples = samples
        self.bus.emit("listening", self.t)
        if not self._settled:
            self._settled = True
            self._emit_letter_events(self._tidy_letters())
            if self.ducker is not None and (players := self.ducker.recover()):
                self.bus.emit("media", self.t, action="restore", players=players)

    def carry_on(self, before: "Pipeline") -> None:
        """Take over from the pipeline this one replaces (the daemon's reload), before ``start``:
        the letter being dictated stays open, in dictation, and the unfinished-letter offer stands."""
        self._settled = True
        self._offer = before._offer
        before.let_go()
        if before.letter is not None:
            self.letter, before.letter = before.letter, None
            self.dialogue.dictate(True)

    def let_go(self) -> None:
        """At the end of a run or a reload: ducked music is put back, the bus and the calendar
        servers let go."""
        self.calendar.close()
        self.wake.close()
        if self.ducker is None:
            return
        if players := self.ducker.restore():
            self.bus.emit("media", self.t, action="restore", players=players)
        self.ducker.mpris.close()

    def feed(self, frame: np.ndarray) -> None:
        """One 20 ms frame of input: the audio clock advances, then the frame is processed."""
        self._samples += FRAME_SAMPLES
        self.process(frame)

    def finish(self) -> None:
        """End of input: finish the utterance in progress and let the last reply end."""
        self._finish_utterance(self._segmenter.flush().ended)
        self._drain_speech()

    def answer(self, text: str) -> IntentMatch:
        """A command given as text, not said (Wyoming's handle service: Home Assistant's
        conversation agent): answered as if said after the name, with the same events. Letters
        are dictated by voice, so the commands that start one are not taken here."""
        self.dialogue.woke(self.t)
        intent = self.router.route(text)
        if intent.name == UNKNOWN:
            intent = self.router.nearest(text)
        self.bus.emit("transcript", self.t, text=text)
        self.bus.emit("intent", self.t, name=intent.name, slots=intent.slots)
        if intent.name in DICTATION_STARTS:
            self.dialogue.withdraw()
            return IntentMatch(UNKNOWN, {}, intent.text)
        self._respond(intent)
        return intent

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
                self._started_at = self.t
                self._early = None
                self._look = None
                self.wake.begin()
                self.bus.emit("speech_start", self.t)
                self._recognizer = self._new_recognizer() if self._wants_streaming() else None
                self._streamed_samples = 0
                self._held_frames = []
                self._partial = ""
            if self.wake.remote is not None and self._idle:
                self._hear_remote(frame)
            if self.wake.spotting(self._idle):
                self._spot(update.frames)
            if self._recognizer is not None and not self.wake.not_for_us:
                self._feed_unless_paused(update.frames)
            if (self._segmenter.in_speech and not self.wake.not_for_us
                    and self.wake.window_passed(len(self._segmenter.audio), self._idle)):
                self.wake.not_for_us = True
            early_at = self._dictation_early_frames if self.letter is not None else self._early_frames
            if (not update.ended and not self.wake.not_for_us and self.letter is None
                    and (self._segmenter.silent_frames == self._look_frames
                         or (self._segmenter.silent_frames == 1 and self._grammar_hears_a_command()))):
                self._look_ahead()
            if (not update.ended and not self.wake.not_for_us and self._segmenter.silent_frames == early_at
                    and self._complete_so_far()):
                self._segmenter.force_end()
                update.ended = True
            if (not update.ended and self.wake.not_for_us and self._idle
                    and self._segmenter.silent_frames == self._phrase_frames):
                self._segmenter.force_end()  # the next phrase starts afresh, and may be a call
                update.ended = True
            if update.ended and self.wake.gated(self._idle):
                self.wake.not_for_us = True  # idle speech in which the spotter heard no wake phrase
            if update.ended and self.wake.not_for_us:
                if self._idle:
                    self._before = Phrase(self._segmenter.utterance(), self._voice_ended(), None)
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
        if self._samples % SAMPLE_RATE < FRAME_SAMPLES:  # once a second of audio
            self._announce_events()

    @property
    def now(self) -> datetime:
        """Wall-clock time on the audio clock."""
        return self.start_time + timedelta(seconds=self.t)

    def _announce_events(self) -> None:
        """Say the events about to start, when the user is not talking to it, nor dictating."""
        if self.announcer is None:
            return
        due = self.announcer.due(self.now)
        if problem := self.announcer.take_problem():
            self.bus.emit("error", self.t, message=problem)
        if not due or self.letter is not None or self._segmenter.in_speech or self.dialogue.state is not State.IDLE:
            return
        for occurrence in due:
            self.announcer.said(occurrence)
            self.bus.emit("calendar", self.t, action="announce", uid=occurrence.uid, title=occurrence.title,
                          start=occurrence.start.isoformat())
        self.say(" ".join(event_announcement(occurrence, self.now) for occurrence in due))

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
        if timer.text:
            self.bus.emit("reminder", self.t, action="fired", id=timer.id, text=timer.text)
            self._earcon("wake")
            self.say(reminder_announcement(timer))
            return
        self.bus.emit("timer", self.t, action="fired", id=timer.id, seconds=timer.seconds)
        self.say(announcement(timer))

    def new_mail(self, envelopes: Sequence[Envelope], announce: bool = True, count: int = 0) -> None:
        """Mail arrived (the daemon's watcher): ``envelopes`` are the newest few of ``count``
        (default: all of them). Announced when nobody is talking, never while dictating. Either
        way a ``mail`` event records each, and "read it" now means the newest."""
        for envelope in envelopes:
            self.bus.emit("mail", self.t, action="new", uid=envelope.uid, sender=envelope.sender,
                          subject=envelope.subject)
        self.mail.forget_listing()
        if not announce or self.letter is not None or not self.settings.mail.announce:
            return
        self._mail_news = [*envelopes, *self._mail_news]
        self._mail_count += count or len(envelopes)

    def _announce_mail(self) -> None:
        # only when idle (not over a conversation, not while dictating) and nobody is talking
        if not self._mail_news or self._segmenter.in_speech or self.dialogue.state is not State.IDLE:
            return
        news, self._mail_news = self._mail_news, []
        count, self._mail_count = max(self._mail_count, len(news)), 0
        first = news[0]
        # _speak, not say: the follow-up window opens, so "read it" needs no wake word
        if count == 1:
            self._speak(f"New message from {first.sender}: {first.spoken_subject}.")
        else:
            others = ", ".join(e.sender for e in news[1:3]) + (" and others" if count > 3 else "")
            also = f" Also from {others}." if others else ""
            self._speak(f"{cardinal(count).capitalize()} new messages. The newest is from {first.sender}: "
                        f"{first.spoken_subject}.{also}")

    @property
    def _idle(self) -> bool:
        """Waiting for the name, not dictating: the wake decision is being made."""
        return self.dialogue.needs_wake_word and self.letter is None

    def _wants_streaming(self) -> bool:
        """Stream-decode this utterance? Only when its result is used: partials are shown while
        listening for a command, and without a dictation engine the streamed text is final.
        Idle speech and dictation skip it: open-vocabulary PocketSphinx costs about a quarter
        of a core while someone talks, for text nobody would see (bench/daemon.py)."""
        if self.engines.dictation is None:
            return True
        partials_possible = self.commands.grammar is not None or self.engines.streaming.open_vocabulary
        return partials_possible and self.dialogue.state in (State.LISTENING, State.FOLLOW_UP)

    def _new_recognizer(self) -> StreamingRecognizer | None:
        """With a dictation engine, partials come from the command grammar: they show the command
        being recognized, and the engine needs no open-vocabulary model."""
        try:
            if self.engines.dictation is not None and self.commands.grammar is not None:
                return self.engines.streaming.recognizer(self.commands.grammar)
            return self.engines.streaming.recognizer()
        except EarpieceError as exc:
            self.bus.emit("error", self.t, message=str(exc))
        except Exception as exc:  # an engine fault costs this utterance's partials, never the loop
            log.exception("the streaming engine failed")
            self.bus.emit("error", self.t, message=f"{self.engines.streaming.name} failed: {exc}")
        return None

    def _feed(self, frame: np.ndarray) -> None:
        assert self._recognizer is not None
        self._streamed_samples += len(frame)
        try:
            partial = self._recognizer.accept(frame)
        except Exception as exc:  # partials are a nicety: drop them for this utterance, keep listening
            log.exception("the streaming engine failed mid-utterance")
            self.bus.emit("error", self.t, message=f"{self.engines.streaming.name} failed: {exc}")
            self._recognizer = None
            return
        if partial:
            self._partial = partial
        if partial and self.dialogue.state in (State.LISTENING, State.FOLLOW_UP):
            self.bus.emit("partial", self.t, text=partial)

    def _feed_unless_paused(self, frames: list[np.ndarray]) -> None:
        """The streaming engine hears the frames, but not the quiet of a pause past EARLY_LOOK:
        that is held back, and heard only if speech goes on. The command grammar took about
        4 ms a frame on silence (10 on speech): the frames queued while Whisper read the pause
        were caught up on before the reply, 20-40 ms of it."""
        if self._segmenter.silent_frames > self._look_frames:
            self._held_frames += frames
            return
        held, self._held_frames = self._held_frames, []
        for piece in (*held, *frames):
            self._feed(piece)
            if self._recognizer is None:
                return

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
        # the command grammar's reading of exactly the audio the command is read from, if it streamed
        grammar_streamed = (self._recognizer is not None and self.commands.grammar is not None
                            and self.engines.dictation is not None
                            and self._streamed_samples + sum(map(len, self._held_frames)) == len(self.wake.heard_audio()))
        self._held_frames = []  # the pause's quiet: never needed
        self._grammar_text = streamed.text if grammar_streamed else None
        self._recognizer = None
        try:
            heard = self._final_text(self.wake.heard_audio(), streamed)
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

    def _transcribe(self, audio: np.ndarray, draft: bool = False) -> Transcript:
        """The dictation engine's reading (a quicker ``draft`` of speech that may go on); while
        idle, the wake decider reads it, weighing a misspelled name back in."""
        assert self.engines.dictation is not None
        audio = self._with_pause(audio)
        try:
            if self.letter is None:
                return self.wake.read(audio, idle=self.dialogue.needs_wake_word, draft=draft)
            # While dictating no prompt: the letter so far as a prompt made tiny.en worse on some
            # voices (bench/letters.py, measured both ways), and it costs decoding time.
            beam = 1 if draft else self.settings.speech.dictation_beam
            return self.engines.dictation.transcribe(audio, prompt="", draft=draft, beam=beam)
        finally:
            self._remote_problems()

    def _remote_problems(self) -> None:
        """A remote engine that failed (the local one answered instead) is an error event, and
        the next reply says so once."""
        take = getattr(self.engines.dictation, "take_problem", None)
        if take is not None and (problem := take()):
            self.bus.emit("error", self.t, message=problem)
            self._notice = REMOTE_DOWN_NOTICE

    def _with_pause(self, audio: np.ndarray) -> np.ndarray:
        """Utterance audio read at a pause, with the pause made PAUSE_READ long: Whisper closes
        the last word only after enough quiet ("I'll call you my..." at 60 ms of it, "Maya." from
        100 ms on), and a pause is read as soon as it begins (EARLY_LOOK) so replies come sooner."""
        quiet = self._segmenter.trailing_silence * FRAME_SAMPLES
        missing = int(PAUSE_READ * SAMPLE_RATE) - quiet
        if quiet <= 0 or missing <= 0 or quiet > len(audio):
            return audio
        return np.concatenate([audio, np.zeros(missing, audio.dtype)])

    def _spot(self, frames: list[np.ndarray]) -> None:
        """The spotter hears the frames; a glance at a hit is kept for the final read, and wakes
        the assistant where the name opened it."""
        glance = self.wake.spot(frames, len(self._segmenter.audio), self._idle)
        if glance is None:
            return
        if glance.reading is not None:
            self._early = (glance.samples, glance.reading, None)
        if glance.decision is not None:
            self._woke_mid_utterance(glance.decision, frames)

    def _hear_remote(self, frame: np.ndarray) -> None:
        """The wake server hears idle audio as a stream (it needs the pauses around a name); its
        detection during an utterance wakes on it, even one the spotter had let go."""
        decision = self.wake.remote_heard(frame, self._segmenter.in_speech)
        if decision is not None:
            self._woke_mid_utterance(decision, [])

    def _woke_mid_utterance(self, decision: WakeDecision, frames: list[np.ndarray]) -> None:
        self.bus.emit("wake", self.t, word=decision.phrase, by=decision.by)
        self.dialogue.woke(self.t)
        self.session.asleep = False
        if self._recognizer is None and self._wants_streaming():
            self._stream_from_the_name(frames)

    def _stream_from_the_name(self, frames: list[np.ndarray]) -> None:
        """Woken mid-utterance: the command grammar decodes the utterance from the name on while
        it is spoken (the span heard so far at once, the rest as it comes), so a command that needs
        its reading (CommandReader: a near miss) has it at the end of speech, where a second
        decoding of the whole utterance took 0.3 s a second of audio: the slowest step to the reply."""
        self._recognizer = self._new_recognizer()
        if self._recognizer is None:
            return
        heard = self.wake.heard_audio()
        coming = sum(len(frame) for frame in frames)  # fed by process() right after this
        for start in range(0, len(heard) - coming, FRAME_SAMPLES):
            self._feed(heard[start : min(start + FRAME_SAMPLES, len(heard) - coming)])
            if self._recognizer is None:
                return

    def _grammar_hears_a_command(self) -> bool:
        """Is the command grammar's partial reading, at the first quiet frame, a whole command?
        Then the pause is read at once instead of after EARLY_LOOK: live, with 100 ms capture
        blocks, about 40 ms sooner. (A gap inside the last word, the closure of "it", is read
        too; the read at the real pause then replaces it.)"""
        partial = self._partial
        if not partial:
            return False
        hit = self.wake.call_in(partial)
        command = hit.command if hit is not None else partial
        return any(ch.isalnum() for ch in command) and self.router.route(command).name != UNKNOWN

    def _grammar_hears_the_name_alone(self) -> bool:
        """Is the command grammar's partial reading the name and nothing after it (the comma
        pause of "Samantha, what time is it?")? A bare name never ends an utterance early, so
        reading it there only held up the frames behind it: at about 10 ms a frame of speech
        for the grammar, a 150 ms read took 300 ms of the command to catch up on."""
        hit = self.wake.call_in(self._partial) if self._partial else None
        return hit is not None and not any(ch.isalnum() for ch in hit.command)

    def _look_ahead(self) -> None:
        """Read the command at a short pause, for _complete_so_far to reuse if the pause lasts.
        Not while the name is unsure: that is mostly talk not meant for us, paused at every comma
        (28 reads, 1 % of a core, on bench/wake.py's varied talk); _complete_so_far still reads
        where the pause lasts."""
        if self._look is not None and self._look[0] == self._spoken_samples():
            return  # this pause was read already (_grammar_hears_a_command)
        audio = self.wake.heard_audio()
        if (self.engines.dictation is None or self.wake.gated(self._idle) or self.wake.name_unsure
                or len(audio) > EARLY_MAX_SECONDS * SAMPLE_RATE or self._grammar_hears_the_name_alone()):
            return
        try:
            self._look = (self._spoken_samples(), self._transcribe(audio, draft=True))
        except Exception:  # the later reads will report it
            self._look = None
            return
        self._withdraw_if_no_call(self._look[1].text)

    def _withdraw_if_no_call(self, text: str) -> bool:
        """After an early wake, does the reading so far, ``text``, already show it was no call:
        the name only as words that sound a little like it, then many more that are not even
        near a command (WakeDecider.no_call_so_far)? Then the wake is withdrawn now, as the end of the
        utterance would (see _handle_text), and the rest of it is not read."""
        if self.letter is not None or self.dialogue.state is not State.LISTENING or not self.wake.no_call_so_far(text):
            return False
        self._withdraw_wake(text, "the utterance so far")
        self.wake.not_for_us = True
        self._look = None
        return True

    def _withdraw_wake(self, heard: str, reading: str) -> None:
        """Back to idle without a word: the wake on the name was a mistake, as ``heard`` (the
        ``reading`` of the utterance that shows it) makes plain."""
        log.info("woke on %r, but %s was %r: not for me", self.wake.name_read, reading, heard)
        self.bus.emit("wake_withdrawn", self.t, word=self.wake.name_read, heard=heard)
        self.dialogue.withdraw()

    def _voice_ended(self) -> float:
        """Audio time of the end of the last voiced frame (before the pause that ended speech)."""
        return self.t - self._segmenter.trailing_silence * FRAME_SECONDS

    def _spoken_samples(self) -> int:
        """Samples of the utterance before its current pause."""
        return len(self.wake.heard_audio()) - self._segmenter.trailing_silence * FRAME_SAMPLES

    def _complete_so_far(self) -> bool:
        """After a short pause, is what was said already a whole command?

        If so the utterance ends now instead of after the full end_silence: replies come sooner,
        and a pause inside an unfinished command ("set a timer for... ten minutes") still waits.
        """
        if self.engines.dictation is None:
            return False
        audio = self.wake.heard_audio()
        if self.letter is None and len(audio) > EARLY_MAX_SECONDS * SAMPLE_RATE:
            return False  # commands are short; a long utterance ends the ordinary way
        if self.wake.gated(self._idle):
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
        hit = self.wake.call_in(transcript.text)
        if hit is None and self.dialogue.needs_wake_word:
            if len(audio) >= WAKE_SEEN_BY * SAMPLE_RATE and not self.router.could_be_command(transcript.text):
                # long enough to have held the name, and it did not; but a command may have the
                # name after its comma pause ("What time is it, Samantha?"), so it is heard out
                self.wake.not_for_us = True
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
            if cut is not None and self.router.route(self.wake.matcher.strip(text)).name == "Stop":
                return  # "stop" over a read-back silences it; it is not a sentence for the letter
            if self.letter.asking and self._command_instead(text):
                return
            self._dictate(self.wake.matcher.strip(text, by_sound=False))
            return
        hit = self.wake.call_in(text)
        name_as: NameReading = "read"
        woke_now = self.wake.woke_early
        if self.wake.woke_early:
            command, name_as = self.wake.after_name(text)
        else:
            if hit is None and self.dialogue.needs_wake_word:
                if self._idle:
                    self._before = Phrase(self.wake.heard_audio(), self._voice_ended(), text)
                return
            if hit is not None:
                woke_now = self.dialogue.needs_wake_word
                self.bus.emit("wake", self.t, word=hit.phrase, by="reading")
                self.dialogue.woke(self.t)
                self.session.asleep = False
            command = hit.command if hit is not None else text.strip()
        if not any(ch.isalnum() for ch in command):
            if cut is not None and hit is None:
                self._go_on_with(cut)  # a cough or a sigh over the reply
                return
            said_before = self._said_before() if woke_now else None
            if said_before is None:
                self._earcon("wake")  # a bare wake word: say "I'm listening" and wait for the command
                return
            command, intent = said_before
            self.dialogue.thinking()
        else:
            self.dialogue.thinking()
            intent = self.commands.understand(command, text, self.wake.heard_audio(), self.wake.prompt,
                                              grammar_text=self._grammar_text)
        if intent.name == UNKNOWN and (name_as == "sounds_alike" or self.wake.unfounded(text, name_as)):
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
        if intent.name == UNKNOWN and hit is None and not self.wake.woke_early and self.session.pending is None:
            # In the follow-up window, without the name, and no command: the user turned to
            # somebody else. "Sorry, I didn't catch that" there would open another window, and
            # a conversation would keep it answering every sentence.
            log.info("no command in the follow-up window, %r: back to idle", command)
            self.dialogue.withdraw()
            return
        if intent.name == "StartLetter":
            self._start_letter(intent)
            return
        if intent.name == "ResumeLetter":
            self._offer = None
            self._resume_letter(str(intent.slots.get("recipient", "")).strip(" .,!?"))
            return
        self._respond(intent)

    def _said_before(self) -> tuple[str, IntentMatch] | None:
        """The command said right before a bare name that woke it ("What should I call you? ...
        Samantha."): the idle phrase that ended at most LOOK_BACK_GAP before this utterance
        started, where it is a command (as heard, or weighed on its audio) short enough to
        go before a name (NAME_LAST_WORDS)."""
        before, self._before = self._before, None
        if before is None or self.engines.dictation is None or self._started_at - before.ended > LOOK_BACK_GAP:
            return None
        reading = before.reading
        if reading is None:
            try:
                reading = self.engines.dictation.transcribe(before.audio, prompt=self.wake.prompt).text
            except Exception:  # the bare name stands as a call of its own
                log.exception("the phrase before the name could not be read")
                return None
        command = self.wake.matcher.strip(reading)
        if not any(ch.isalnum() for ch in command) or len(words_of(command)) > NAME_LAST_WORDS:
            return None
        intent = self.commands.understand(command, reading, before.audio, self.wake.prompt)
        if intent.name == UNKNOWN:
            return None
        log.info("a bare name right after %r: that was the command", reading)
        return command, intent

    def _command_instead(self, text: str) -> bool:
        """While the letter waits for a yes or no, a call with a command ("Samantha, what time is
        it?") is answered as a command and the question lapses; the letter stays open."""
        assert self.letter is not None
        hit = self.wake.call_in(text)
        if hit is None or not any(ch.isalnum() for ch in hit.command) or parse_command(hit.command) is not None:
            return False
        intent = self.commands.understand(hit.command, text, self.wake.heard_audio(), self.wake.prompt)
        if intent.name in (UNKNOWN, "Confirm", "Deny", "StartLetter", "ResumeLetter"):
            return False
        log.info("a command while the letter waits for yes or no: the question lapses")
        self.letter.lapse()
        self.bus.emit("transcript", self.t, text=hit.command)
        self.bus.emit("intent", self.t, name=intent.name, slots=intent.slots)
        self._respond(intent)
        return True

    # --- letters -----------------------------------------------------------------------------

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
            if self.shelf is not None:
                self.shelf.park()  # a letter still in the journal is kept, not overwritten
            self.letter = open_letter()
        except (OSError, EarpieceError) as exc:
            self.bus.emit("error", self.t, message=f"cannot start the {kind}: {exc}")
            reason = f": {spoken_os_error(exc)}" if isinstance(exc, OSError) else " right now"
            self._speak(f"Sorry, I can't start a {kind}{reason}.")
            return
        self.bus.emit("letter", self.t, action="start", text=self.letter.letter.greeting)
        self.dialogue.dictate(True)
        self._speak(say or f"Writing to {self.letter.letter.recipient}. Go ahead.")

    def _emit_letter_events(self, events: Sequence[dict[str, Any]]) -> None:
        """``letter`` events as the letter code reports them; its problems ("action": "error")
        are ``error`` events."""
        for event in events:
            if event["action"] == "error":
                self.bus.emit("error", self.t, message=event["text"])
            else:
                self.bus.emit("letter", self.t, **event)

    def _resume_letter(self, recipient: str) -> None:
        """"Continue my letter": the newest unfinished letter (to ``recipient``) becomes the current one."""
        try:
            taken = self.shelf.take(recipient) if self.shelf is not None else None
        except OSError as exc:
            self.bus.emit("error", self.t, message=f"cannot take up the letter: {exc}")
            self._speak(f"Sorry, I can't open that letter: {spoken_os_error(exc)}. It is still kept.")
            return
        if taken is None:
            self._speak(f"There's no unfinished letter{f' to {recipient}' if recipient else ''}.")
            return
        self.letter = LetterDictation(taken[1], taken[0], self.settings)
        self.dialogue.dictate(True)
        outcome = self.letter.resumed()
        self._emit_letter_events(outcome.events)
        self._speak(outcome.say)

    def _dictate(self, text: str) -> None:
        assert self.letter is not None
        text = self.commands.dictation_command(text, self.wake.heard_audio(), self.letter.finished)
        self.bus.emit("transcript", self.t, text=text)
        outcome = self.letter.hear(text)
        self._emit_letter_events(outcome.events)
        if outcome.done:
            self.letter = None
            self.dialogue.dictate(False)
        if outcome.say:
            self._speak(outcome.say)

    def _respond(self, intent: IntentMatch) -> None:
        reply = self._with_offer(self._instead_of_answer(intent) or self._run_skill(intent))
        for kind, fields in reply.events:
            self.bus.emit(kind, self.t, **fields)
        if reply.question is not None:
            self.session.pending = reply.question
        self._apply_session()
        if not reply.follow_up:
            self.dialogue.sleep()
        if reply.reply_to is not None:
            self._start_reply(reply.reply_to, reply.text)
            return
        if reply.resume_letter is not None:
            self._resume_letter(reply.resume_letter)
            return
        if reply.stop_speaking and self._sink is not None:
            self._sink.stop(self.t)
            self._echo.stopped(self.t)
        if reply.text:
            self._speak(reply.text)
        else:
            self.dialogue.done(self.t)

    def _instead_of_answer(self, intent: IntentMatch) -> Reply | None:
        """While a question waits: another command makes it lapse (and is answered); words that
        are no command are asked about once more, then the question is dropped as a no."""
        pending = self.session.pending
        if pending is None or intent.name in ("Confirm", "Deny"):
            return None
        if intent.name != UNKNOWN:
            self.session.pending = None
            return None
        if pending.misses + 1 < ANSWERS_BEFORE_LAPSE:
            self.session.pending = replace(pending, misses=pending.misses + 1)
            return Reply("Please say yes or no.")
        self.session.pending = None
        return self._run_skill(IntentMatch("Deny", {}), lambda context: pending.on_no(context))

    def _with_offer(self, reply: Reply) -> Reply:
        """The first reply that asks nothing itself mentions the unfinished letter, once, as a
        question that any other command lets lapse."""
        offer = self._offer
        if (offer is None or self.letter is not None or reply.question is not None or reply.reply_to is not None
                or reply.resume_letter is not None or reply.stop_speaking or self.session.asleep):
            return reply
        self._offer = None
        recipient = offer.recipient

        def go_on(context: SkillContext) -> Reply:
            return Reply("", resume_letter=recipient)

        def keep(context: SkillContext) -> Reply:
            return Reply("All right, it's kept. Say continue my letter when you want it.")

        mention = f"Your {offer.kind} to {recipient} is unfinished. Shall I continue it?"
        return replace(reply, text=f"{reply.text} {mention}".strip(), question=Question(go_on, keep))

    def _apply_session(self) -> None:
        """Skills change the session; the pipeline's parts follow at once."""
        if self.session.wake_words != self.wake.phrases:
            self.wake.close()
            self.wake, self.commands = self._wake_and_commands()
        self.wake.name = self.session.name
        self.voice.volume = self.session.volume
        if self.session.asleep:
            self.dialogue.sleep()

    def _run_skill(self, intent: IntentMatch, handle: Callable[[SkillContext], Reply] | None = None) -> Reply:
        """Run the intent's skill (or ``handle``) on the session."""
        context = SkillContext(self.now, self.session, self.router.examples, self.persistence)
        try:
            return handle(context) if handle is not None else self.skills.handle(intent, context)
        except Exception as exc:  # a broken skill is an error event, never a dead assistant
            log.exception("skill for %s failed", intent.name)
            self.bus.emit("error", self.t, message=f"{intent.name} failed: {exc}")
            return Reply("Sorry, something went wrong.")

    def _speak(self, text: str) -> None:
        """Say ``text``: its first sentence plays as soon as it is rendered, the rest follow it
        as they are (a long mail listing starts at once)."""
        notice, self._notice = self._notice, ""
        text = f"{notice} {text}".strip()
        self.bus.emit("reply", self.t, text=text)
        self.session.last_reply = text
        if getattr(self._sink, "text_only", False):
            self.dialogue.done(self.t)  # the reply is wanted as text (answer): nothing to render
            return
        pieces = self.voice.sentences(text)
        try:
            first = next(pieces, None)
        except EarpieceError as exc:
            first = None
            self.bus.emit("error", self.t, message=str(exc))
        if problem := self.voice.take_problem():
            self.bus.emit("error", self.t, message=f"speech output: {problem}")
            if self.voice.engine == "wyoming":
                self._notice = REMOTE_VOICE_DOWN_NOTICE
        if first is None:
            self.dialogue.done(self.t)
            return
        self._play(first)
        try:
            for pcm in pieces:
                self._play_on(pcm)
        except EarpieceError as exc:  # what was said stays said
            self.bus.emit("error", self.t, message=str(exc))

    def _play_on(self, pcm: np.ndarray) -> None:
        """The next sentence of the reply playing: queued right after the one before."""
        assert self._sink is not None and self._playing is not None
        start = max(self.t, self._sink.play(pcm, self.t))
        self._echo.played(pcm, start)
        before, began, resumed = self._playing
        gap = np.zeros(max(0, int(round((start - began) * SAMPLE_RATE)) - len(before)), np.int16)
        self._playing = (np.concatenate([before, gap, pcm]), began, resumed)
        self.dialogue.speaking(until=start + len(pcm) / SAMPLE_RATE)

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

    def _conversation_changed(self, before: State, after: State) -> None:
        """Music is ducked from the wake (or an announcement) until the assistant is idle again;
        idle again, the memory the reply's reads and renders freed goes back to the system."""
        if after is State.IDLE:
            give_back()
        if self.ducker is None:
            return
        if before is State.IDLE:
            players, problem = self.ducker.duck()
            if players:
                self.bus.emit("media", self.t, action="duck", players=players)
            if problem:
                self.bus.emit("error", self.t, message=problem)
        elif after is State.IDLE and (players := self.ducker.restore()):
            self.bus.emit("media", self.t, action="restore", players=players)

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
