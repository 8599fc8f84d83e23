"""`earpiece serve satellite`: the headset as a Home Assistant voice satellite (Wyoming).

Home Assistant connects to the satellite, says ``run-satellite``, asks ``describe`` and pings
every few seconds (it gives up after 5 s without a ``pong``). The wake phrase is heard here, by
earpiece's own decision (StreamWakeDetector: the spotter and its glances); on a wake the
satellite sends ``detection`` and ``run-pipeline`` (speech to text through text to speech) and
then streams the mic until Home Assistant sends the ``transcript``, an ``error`` or
``pause-satellite``. The reply's audio (and any ``announce``) comes back as audio-start/chunk/
stop; it is played and answered with ``played``. Home Assistant's timers sound an earcon when
they start and when they end.

Threads: the mic's callback hands frames to a queue and the speaker plays from one (the audio
edges, as in the daemon); one listening thread takes the frames, decides wakes (the models must
never hold up the event loop) and hands what is to be streamed to the loop; the loop talks to
Home Assistant. The satellite state lives in one place, ``SatelliteState``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info, Satellite
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.server import AsyncEventHandler
from wyoming.snd import Played
from wyoming.timer import TimerCancelled, TimerFinished, TimerStarted, TimerUpdated
from wyoming.tts import Synthesize
from wyoming.wake import Detection

from assistant.audio import SAMPLE_RATE
from assistant.audio.earcons import earcon
from assistant.wake.stream import StreamWakeDetector
from assistant.wyoming.server import WyomingServer, artifact, wake_program
from assistant.wyoming.services import Services

log = logging.getLogger(__name__)

STREAM_LIMIT = 15.0
"""Seconds of mic audio streamed after a wake at most: a Home Assistant that never sends the
transcript (its speech-to-text gone) must not get the room's audio for ever."""

ECHO_GUARD = 0.3
"""Seconds after the speaker falls silent before a wake phrase counts again: the reply heard
back through the mic is not a call."""

CHUNK_SAMPLES = 1024
"""Mic samples per audio-chunk streamed (64 ms, as wyoming-satellite sends them)."""


class Mode(enum.Enum):
    PAUSED = "paused"
    """No Home Assistant running the satellite (not connected, or paused): nothing is sent."""
    WAITING = "waiting"
    """Running: listening for a wake phrase."""
    STREAMING = "streaming"
    """Woken: the mic goes to Home Assistant until its transcript, an error or a pause."""


@dataclass
class SatelliteState:
    """What the satellite is doing; changed on the event loop only, read by the listening thread."""

    mode: Mode = Mode.PAUSED
    streamed: int = 0
    """Samples streamed since the wake."""
    speaking_until: float = 0.0
    """Monotonic time at which the audio queued on the speaker ends."""


class SatelliteServer(WyomingServer):
    """One Home Assistant at a time (a new connection replaces the last, as it reconnects); the
    headset's mic and speaker are ``source`` and ``sink`` (the daemon's live ends)."""

    def __init__(self, services: Services, uri: str, source: Any, sink: Any, phrases: tuple[str, ...],
                 zeroconf: str = "") -> None:
        super().__init__(services, uri, zeroconf=zeroconf)
        self.source = source
        self.sink = sink
        self.detector: StreamWakeDetector = services.wake_detector(list(phrases) or None)
        self.info = self._describe()
        self.state = SatelliteState()
        self._current: SatelliteHandler | None = None
        self._listener: threading.Thread | None = None
        self._closing = threading.Event()

    def _describe(self) -> Info:
        phrases = list(self.detector.phrases)
        satellite = Satellite(**artifact(self.services, "earpiece", "earpiece on a headset"), has_vad=False,
                              active_wake_words=phrases, max_active_wake_words=len(phrases), supports_trigger=False)
        return Info(satellite=satellite, wake=[wake_program(self.services, phrases)])

    async def run(self, ready: Callable[[], None] = lambda: None) -> None:
        loop = asyncio.get_running_loop()
        self._listener = threading.Thread(target=self._listen, args=(loop,), name="satellite-listen", daemon=True)
        self._listener.start()
        try:
            await super().run(ready)
        finally:
            self._closing.set()
            self.source.close()
            self._listener.join(timeout=5)
            self.sink.close()

    def _handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> "SatelliteHandler":
        handler = SatelliteHandler(self, reader, writer)
        if self._current is not None:
            log.info("Home Assistant connected again: the earlier connection is dropped")
            self._current.replaced = True
        self._current = handler
        self.state.mode = Mode.PAUSED  # until this connection says run-satellite
        return handler

    # --- the listening thread ----------------------------------------------------------------------

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        """Frames from the mic: streamed while woken, else heard for a wake phrase."""
        pending: list[np.ndarray] = []
        streamed = False
        try:
            for frame in self.source.frames():
                if self._closing.is_set():
                    return
                state = self.state
                if state.mode is Mode.STREAMING:
                    streamed = True
                    pending.append(frame)
                    if sum(len(f) for f in pending) >= CHUNK_SAMPLES:
                        loop.call_soon_threadsafe(self._stream, np.concatenate(pending))
                        pending = []
                    continue
                pending = []
                if streamed:  # the utterance the wake was heard in is over; only this thread uses the detector
                    streamed = False
                    self.detector.finish()
                if state.mode is Mode.PAUSED or time.monotonic() < state.speaking_until + ECHO_GUARD:
                    continue
                for detection in self.detector.feed(frame):
                    log.info("heard %r (%s): Home Assistant takes the command", detection.phrase, detection.by)
                    loop.call_soon_threadsafe(self._woke, detection.phrase, detection.seconds)
        except Exception as exc:  # the mic is gone: say so, and stop serving
            if not self._closing.is_set():
                log.error("the satellite stopped listening: %s", exc)
                loop.call_soon_threadsafe(self.stop_soon)

    def stop_soon(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    # --- on the event loop ---------------------------------------------------------------------------

    def _woke(self, phrase: str, seconds: float) -> None:
        handler = self._current
        if handler is None or self.state.mode is not Mode.WAITING:
            return
        self.state.mode, self.state.streamed = Mode.STREAMING, 0
        self.play(earcon("wake"))
        handler.send(Detection(name=phrase, timestamp=int(seconds * 1000)).event(),
                     RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS,
                                 restart_on_end=False).event(),
                     AudioStart(rate=SAMPLE_RATE, width=2, channels=1, timestamp=0).event())

    def _stream(self, pcm: np.ndarray) -> None:
        handler = self._current
        if handler is None or self.state.mode is not Mode.STREAMING:
            return
        stamp = int(1000 * self.state.streamed / SAMPLE_RATE)
        self.state.streamed += len(pcm)
        handler.send(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=pcm.astype("<i2").tobytes(),
                                timestamp=stamp).event())
        if self.state.streamed >= STREAM_LIMIT * SAMPLE_RATE:
            log.warning("Home Assistant sent no transcript in %.0f s: the mic stops streaming", STREAM_LIMIT)
            self.stop_streaming(handler)

    def stop_streaming(self, handler: "SatelliteHandler", paused: bool = False) -> None:
        """The command is over (or the satellite paused): the mic stops going to Home Assistant."""
        if self.state.mode is Mode.STREAMING:
            handler.send(AudioStop(timestamp=int(1000 * self.state.streamed / SAMPLE_RATE)).event())
        self.state.mode = Mode.PAUSED if paused else Mode.WAITING

    def play(self, pcm: np.ndarray, more: bool = False) -> float:
        """Queue ``pcm`` on the speaker (``more``: a piece of audio that goes on in the next
        call); returns the seconds until all that is queued has played."""
        now = time.monotonic()
        self.sink.play(pcm, 0.0, more=more)
        start = max(now, self.state.speaking_until)
        self.state.speaking_until = start + len(pcm) / SAMPLE_RATE
        return self.state.speaking_until - now


class SatelliteHandler(AsyncEventHandler):
    """Home Assistant's connection: its events in, the satellite's out."""

    def __init__(self, server: SatelliteServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server
        self.replaced = False
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)
        self._playing = False
        """Inside an audio-start ... audio-stop from Home Assistant (a reply or an announcement)."""
        self._outgoing: asyncio.Queue[Event | None] = asyncio.Queue()
        self._writer_task = asyncio.get_running_loop().create_task(self._write_out())

    def send(self, *events: Event) -> None:
        """Queue events to Home Assistant in order, without waiting for the network."""
        if not self.replaced:
            for event in events:
                self._outgoing.put_nowait(event)

    async def _write_out(self) -> None:
        while (event := await self._outgoing.get()) is not None:
            try:
                await self.write_event(event)
            except (ConnectionError, OSError):
                return

    async def handle_event(self, event: Event) -> bool:
        if self.replaced:
            return False
        server = self.server
        if Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        elif Describe.is_type(event.type):
            await self.write_event(server.info.event())
        elif RunSatellite.is_type(event.type):
            log.info("Home Assistant runs the satellite")
            if server.state.mode is Mode.PAUSED:
                server.state.mode = Mode.WAITING
        elif PauseSatellite.is_type(event.type):
            log.info("Home Assistant paused the satellite: nothing is sent until it runs it again")
            server.stop_streaming(self, paused=True)
        elif Transcript.is_type(event.type):
            log.info("Home Assistant heard %r", Transcript.from_event(event).text)
            server.stop_streaming(self)
        elif Error.is_type(event.type):
            error = Error.from_event(event)
            log.warning("Home Assistant: %s (%s)", error.text, error.code)
            server.stop_streaming(self)
        elif Synthesize.is_type(event.type):
            log.info("Home Assistant says %r", Synthesize.from_event(event).text)
        elif AudioStart.is_type(event.type):
            self._playing = True
        elif AudioChunk.is_type(event.type) and self._playing:
            chunk = self._converter.convert(AudioChunk.from_event(event))
            server.play(np.frombuffer(chunk.audio, "<i2").astype(np.int16), more=True)
        elif AudioStop.is_type(event.type) and self._playing:
            self._playing = False
            server.play(np.zeros(0, np.int16))  # the end of it: the speaker's padding follows
            remaining = max(0.0, server.state.speaking_until - time.monotonic())
            asyncio.get_running_loop().call_later(remaining, self.send, Played().event())
        elif TimerStarted.is_type(event.type):
            timer = TimerStarted.from_event(event)
            log.info("Home Assistant started a timer of %d s (%s)", timer.total_seconds, timer.name or timer.id)
            server.play(earcon("wake", 0.5))
        elif TimerFinished.is_type(event.type):
            log.info("a Home Assistant timer is done (%s)", TimerFinished.from_event(event).id)
            for _ in range(3):
                server.play(np.concatenate([earcon("wake"), np.zeros(SAMPLE_RATE // 5, np.int16)]))
        elif TimerCancelled.is_type(event.type) or TimerUpdated.is_type(event.type):
            log.info("Home Assistant timer: %s", event.type)
        else:
            log.debug("unexpected event from Home Assistant: %s", event.type)
        return True

    async def disconnect(self) -> None:
        self._outgoing.put_nowait(None)
        if self.server._current is self:
            self.server._current = None
            self.server.stop_streaming(self, paused=True)
