"""The one pipeline: source → VAD → wake → recognizer → router → skill → voice → sink.

File mode, live mode and (later) the daemon build the same ``Pipeline`` and differ only
in the source and sink they hand to ``run``. Time is audio time: ``t`` is the number of
input seconds consumed, so the same WAV gives the same events at any CPU speed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator, Protocol

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.vad import UtteranceSegmenter
from assistant.config import Settings
from assistant.dialogue import Dialogue, State
from assistant.errors import EarpieceError
from assistant.events import EventBus
from assistant.intents.router import IntentMatch, Router
from assistant.skills.base import Reply, SkillContext, SkillRegistry
from assistant.skills.clock import ClockSkill
from assistant.skills.system import SystemSkill, UnknownSkill
from assistant.speech.engines import DictationEngine, StreamingEngine, StreamingRecognizer, Transcript
from assistant.speech.voice import Voice
from assistant.speech.wake import WakeMatcher

log = logging.getLogger(__name__)


class Source(Protocol):
    def frames(self) -> Iterator[np.ndarray]: ...
    def close(self) -> None: ...


class Sink(Protocol):
    def play(self, pcm: np.ndarray, at: float) -> float: ...
    def stop(self) -> None: ...
    def close(self, length: float = 0.0) -> None: ...


@dataclass(frozen=True)
class Engines:
    streaming: StreamingEngine
    """Hears every frame: partials now, wake word and grammar commands next."""

    dictation: DictationEngine | None
    """Transcribes finished utterances; None means the streaming result is final."""


class Pipeline:
    def __init__(self, settings: Settings, engines: Engines, router: Router, voice: Voice, bus: EventBus,
                 start_time: datetime | None = None) -> None:
        self.settings = settings
        self.engines = engines
        self.router = router
        self.voice = voice
        self.bus = bus
        self.start_time = start_time or datetime.now()
        self.wake = WakeMatcher(settings.wake.words)
        self.skills = SkillRegistry([ClockSkill(), SystemSkill()], UnknownSkill())
        self.dialogue = Dialogue(settings.wake)
        self._segmenter = UtteranceSegmenter(
            settings.audio.vad_aggressiveness, settings.audio.end_silence, settings.audio.max_utterance)
        self._recognizer: StreamingRecognizer | None = None
        self._samples = 0
        self._last_reply = ""
        self._sink: Sink | None = None
        unknown = engines.streaming.unknown_words(self.wake.phrases)
        if unknown:
            log.warning("the %s engine does not know the wake word(s) %s; the dictation engine still hears them",
                        engines.streaming.name, ", ".join(unknown))

    @property
    def t(self) -> float:
        return self._samples / SAMPLE_RATE

    def run(self, source: Source, sink: Sink) -> None:
        """Consume the source to its end (file) or until interrupted (live)."""
        self._sink = sink
        self.bus.emit("listening", self.t)
        try:
            for frame in source.frames():
                self._samples += FRAME_SAMPLES
                self.process(frame)
            self._finish_utterance(self._segmenter.flush().ended)
            self._drain_speech()
        finally:
            source.close()
            sink.close(self.t)

    def process(self, frame: np.ndarray) -> None:
        """One 20 ms frame through VAD, recognition and the dialogue timers."""
        if self.dialogue.mic_gated:
            self._segmenter.reset()
            self._recognizer = None
        else:
            update = self._segmenter.push(frame)
            if update.started:
                self.bus.emit("speech_start", self.t)
                self._recognizer = self._new_recognizer()
            if self._recognizer is not None:
                for piece in update.frames:
                    self._feed(piece)
            self._finish_utterance(update.ended)
        transition = self.dialogue.tick(self.t, self._segmenter.in_speech)
        if transition and transition.reason == "played":
            self.bus.emit("speak_end", self.t, interrupted=False)

    def _new_recognizer(self) -> StreamingRecognizer | None:
        try:
            return self.engines.streaming.recognizer()
        except EarpieceError as exc:
            self.bus.emit("error", self.t, message=str(exc))
            return None

    def _feed(self, frame: np.ndarray) -> None:
        assert self._recognizer is not None
        partial = self._recognizer.accept(frame)
        if partial and self.dialogue.state in (State.LISTENING, State.FOLLOW_UP):
            self.bus.emit("partial", self.t, text=partial)

    def _finish_utterance(self, ended: bool) -> None:
        if not ended:
            return
        self.bus.emit("speech_end", self.t)
        streamed = self._recognizer.finish() if self._recognizer is not None else Transcript("")
        self._recognizer = None
        try:
            heard = self._final_text(self._segmenter.utterance(), streamed)
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
        return self.engines.dictation.transcribe(audio, prompt=self.wake.prompt())

    def _handle_text(self, text: str) -> None:
        hit = self.wake.match(text)
        if hit is None and self.dialogue.needs_wake_word:
            return
        if hit is not None:
            self.bus.emit("wake", self.t, word=hit.phrase)
            self.dialogue.woke(self.t)
        command = hit.command if hit is not None else text.strip()
        if not any(ch.isalnum() for ch in command):
            return  # a bare wake word: keep listening for the command
        self.bus.emit("transcript", self.t, text=command)
        self.dialogue.thinking()
        intent = self.router.route(command)
        self.bus.emit("intent", self.t, name=intent.name, slots=intent.slots)
        reply = self._run_skill(intent)
        if reply.stop_speaking and self._sink is not None:
            self._sink.stop()
        if reply.text:
            self._speak(reply.text)
        else:
            self.dialogue.done(self.t)

    def _run_skill(self, intent: IntentMatch) -> Reply:
        context = SkillContext(
            now=self.start_time + timedelta(seconds=self.t),
            assistant_name=self.settings.assistant.name,
            last_reply=self._last_reply,
            examples=self.router.examples,
        )
        try:
            return self.skills.handle(intent, context)
        except Exception as exc:  # a broken skill is an error event, never a dead assistant
            log.exception("skill for %s failed", intent.name)
            self.bus.emit("error", self.t, message=f"{intent.name} failed: {exc}")
            return Reply("Sorry, something went wrong.")

    def _speak(self, text: str) -> None:
        self.bus.emit("reply", self.t, text=text)
        self._last_reply = text
        try:
            pcm = self.voice.render(text)
        except EarpieceError as exc:
            self.bus.emit("error", self.t, message=str(exc))
            self.dialogue.done(self.t)
            return
        assert self._sink is not None
        start = self._sink.play(pcm, self.t)
        self.bus.emit("speak_start", max(self.t, start))
        self.dialogue.speaking(until=max(self.t, start) + len(pcm) / SAMPLE_RATE)

    def _drain_speech(self) -> None:
        """At the end of a file, let the last reply finish on the audio clock."""
        if self.dialogue.state is State.SPEAKING:
            self._samples = max(self._samples, int(self.dialogue.speaking_until * SAMPLE_RATE))
            self.bus.emit("speak_end", self.t, interrupted=False)
            self.dialogue.done(self.t)
