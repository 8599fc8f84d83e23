"""What earpiece serves over Wyoming, on its own engines: plain synchronous calls, made one at a
time from the server's worker thread (the engines are not thread-safe, and a 2-core machine
gains nothing from two Whisper reads at once)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterator

import numpy as np

import assistant
from assistant.calendar.sources import open_calendars
from assistant.config import Settings
from assistant.events import Event, EventBus
from assistant.intents.router import UNKNOWN, Router
from assistant.media.ducking import Ducker
from assistant.media.mpris import Mpris
from assistant.pipeline import Pipeline, TextOnlySink
from assistant.speech.engines import Engines
from assistant.speech.synth import BUNDLED_PIPER_VOICE
from assistant.speech.voice import Voice
from assistant.wake.stream import StreamWakeDetector

log = logging.getLogger(__name__)

WHISPER_PROGRAM = "earpiece-whisper"
HANDLE_PROGRAM = "earpiece"
WAKE_PROGRAM = "earpiece-wake"


@dataclass(frozen=True)
class Answer:
    """A command given as text, answered."""

    handled: bool
    """A command was understood (False: "not-handled", Home Assistant may try its own agent)."""

    text: str
    """What earpiece says back."""


class Services:
    """The engines behind the Wyoming server, and what it says about them (``describe``)."""

    def __init__(self, settings: Settings, engines: Engines, voice: Voice, router: Router,
                 now: Callable[[], datetime] = datetime.now) -> None:
        self.settings = settings
        self.engines = engines
        self.voice = voice
        self.router = router
        self._replies: list[str] = []
        self._now = now
        bus = EventBus()
        bus.subscribe(self._on_event)
        # the calendar and the media players of this machine; nothing ducks for a text command
        self._answering = Pipeline(settings, engines, router, voice, bus, now(),
                                   calendars=lambda: open_calendars(settings),
                                   ducker=Ducker(Mpris(), replace(settings.media, duck="off")))
        self._answering.start(TextOnlySink())

    # --- what is served ---------------------------------------------------------------------

    @property
    def streaming_program(self) -> str:
        return f"earpiece-{self.engines.streaming.name}"

    def asr_programs(self) -> dict[str, str]:
        """Program name -> its model's name: Whisper first (the default), then the streaming
        engine where it can recognize open text."""
        programs = {}
        if self.engines.dictation is not None:
            programs[WHISPER_PROGRAM] = self.settings.speech.whisper_model
        if self.engines.streaming.open_vocabulary:
            programs[self.streaming_program] = self.engines.streaming.name
        return programs

    @property
    def tts_program(self) -> str:
        return f"earpiece-{self.voice.engine}"

    @property
    def voice_name(self) -> str:
        engine = self.voice.engine
        if engine == "piper":
            return self.voice.settings.voice or BUNDLED_PIPER_VOICE
        return self.voice.settings.voice or ("en-us" if engine == "espeak" else "default")

    @property
    def wake_phrases(self) -> tuple[str, ...]:
        return tuple(self.settings.wake.words)

    @property
    def version(self) -> str:
        return assistant.__version__

    # --- the work -------------------------------------------------------------------------------

    def transcribe(self, audio: np.ndarray, program: str) -> str:
        """16 kHz int16 ``audio`` read by ``program`` (one of asr_programs)."""
        if not audio.size:
            return ""
        if program == WHISPER_PROGRAM and self.engines.dictation is not None:
            return self.engines.dictation.transcribe(audio, prompt="", beam=1).text
        return self.engines.streaming.recognizer().read(audio).text

    def synthesize(self, text: str) -> Iterator[tuple[np.ndarray, int]]:
        """``text`` as audio, a sentence at a time, at the voice's own rate."""
        return self.voice.pieces(text, rate=None)

    def wake_detector(self, names: list[str] | None) -> StreamWakeDetector:
        """A detector for the wake phrases asked for (all configured ones by default)."""
        wanted = tuple(p for p in self.wake_phrases if not names or p in names or p.replace(" ", "_") in names)
        return StreamWakeDetector(self.settings, self.engines, self.router, wanted or self.wake_phrases)

    def answer(self, text: str) -> Answer:
        """A command as text (Home Assistant's conversation agent): earpiece's router and skills."""
        self._replies = []
        self._answering.start_time = self._now()  # its audio clock stands still: the time is now
        intent = self._answering.answer(text)
        said = " ".join(self._replies).strip()
        if intent.name == UNKNOWN:
            return Answer(False, said or "Sorry, I didn't catch that.")
        return Answer(True, said)

    def _on_event(self, event: Event) -> None:
        if event.type == "reply":
            self._replies.append(str(event.data.get("text", "")))
