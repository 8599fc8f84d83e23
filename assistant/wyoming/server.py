"""`earpiece serve wyoming`: one server for speech to text, text to speech, wake phrases and
commands as text, to many Wyoming clients at once.

Each connection is a handler on one asyncio loop; every model call goes to one worker thread
(Home Assistant pings and reconnects after 5 s of silence, so the loop never waits on a model).
A client that sends garbage or goes away mid-stream ends its own connection, nothing else.
Framing and event classes are the ``wyoming`` library's. Home Assistant 2026.2 pins wyoming
1.7.2: the plain events it knows are always sent, streaming ones only as additions.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, Sequence, TypeVar
from urllib.parse import urlparse

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import (AsrModel, AsrProgram, Attribution, Describe, HandleModel, HandleProgram, Info,
                          SelectProgram, TtsProgram, TtsVoice, WakeModel, WakeProgram)
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler, AsyncServer
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped
from wyoming.wake import Detect, Detection, NotDetected

from assistant.audio import SAMPLE_RATE
from assistant.errors import EarpieceError, WyomingError
from assistant.speech.synth import sentences as split_sentences
from assistant.wake.stream import StreamWakeDetector
from assistant.wyoming.address import address_problem
from assistant.wyoming.services import HANDLE_PROGRAM, WAKE_PROGRAM, Services

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTRIBUTION = Attribution(name="earpiece", url="https://github.com/earpiece/earpiece")
AUDIO_CHUNK_SAMPLES = 1024
"""Samples per audio-chunk sent (as wyoming-piper sends them)."""


def parse_uri(uri: str) -> str:
    """``uri`` checked: tcp://HOST:PORT or unix://PATH, else a clear error."""
    problem = address_problem(uri)
    if problem:
        raise WyomingError(problem)
    return uri


def check_advertisable(uri: str) -> None:
    """Zeroconf tells other machines where to connect: a loopback or Unix socket server has
    nothing to tell them."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or parsed.hostname in ("127.0.0.1", "localhost", "::1"):
        raise WyomingError(f"zeroconf advertises the server to other machines, but {uri} only takes "
                           "connections from this one: give --uri tcp://0.0.0.0:10700 (no authentication: your network only)")


def artifact(services: Services, name: str, description: str) -> dict[str, Any]:
    """The fields every program, model and voice described carries; ``installed``, or Home
    Assistant ignores it."""
    return {"name": name, "attribution": ATTRIBUTION, "installed": True, "description": description,
            "version": services.version}


def wake_program(services: Services, phrases: Sequence[str]) -> WakeProgram:
    """The wake phrases as a program with one model each, named by the phrase (as detections are)."""
    return WakeProgram(**artifact(services, WAKE_PROGRAM, "earpiece wake phrases (spotter, then a confirming read)"),
                       models=[WakeModel(**artifact(services, phrase, f'the wake phrase "{phrase}"'), languages=["en"],
                                         phrase=phrase)
                               for phrase in phrases])


def describe(services: Services) -> Info:
    """What this server offers; everything ``installed``, or Home Assistant ignores it."""
    asr = [AsrProgram(**artifact(services, program, f"earpiece speech to text ({model})"),
                      models=[AsrModel(**artifact(services, model, f"{model} (English)"), languages=["en"])],
                      supports_transcript_streaming=True)
           for program, model in services.asr_programs().items()]
    tts = [TtsProgram(**artifact(services, services.tts_program, f"earpiece text to speech ({services.voice.engine})"),
                      voices=[TtsVoice(**artifact(services, services.voice_name, f"{services.voice_name} (English)"),
                                       languages=["en"])],
                      supports_synthesize_streaming=True)]
    wake = [wake_program(services, services.wake_phrases)]
    handle = [HandleProgram(**artifact(services, HANDLE_PROGRAM, "earpiece's skills: time, timers, mail, notes..."),
                            models=[HandleModel(**artifact(services, "earpiece-skills", "earpiece's commands (English)"),
                                                languages=["en"])])]
    return Info(asr=asr, tts=tts, wake=wake, handle=handle)


class Worker:
    """The one thread that runs the engines, for every connection in turn."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wyoming-engines")

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(call, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class CallerWorker(Worker):
    """Runs each call wherever ``submit`` hands it: the daemon's audio loop, between frames, so the
    engines it shares with the pipeline are only ever used from that one thread."""

    def __init__(self, submit: Callable[[Callable[[], Any]], "Future[Any]"]) -> None:
        self._submit = submit

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._submit(partial(call, *args)))

    def close(self) -> None:
        pass


class ConnectionHandler(AsyncEventHandler):
    """One client's connection: what it asked for, and the audio it has sent."""

    def __init__(self, services: Services, info: Info, worker: Worker, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        self.info = info
        self.worker = worker
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)
        self._asr_program = next(iter(services.asr_programs()), "")
        self._transcribing = False
        self._audio: list[np.ndarray] = []
        self._detector: StreamWakeDetector | None = None
        self._detecting = False
        self._detected = False
        self._streaming_text: list[str] | None = None
        """Text of a streaming synthesis request (synthesize-start ... synthesize-stop), not yet spoken."""

    async def run(self) -> None:
        try:
            await super().run()
        except (ConnectionError, asyncio.IncompleteReadError):
            log.debug("a Wyoming client went away mid-event")
        except Exception as exc:  # garbage on the wire ends this connection only
            log.info("Wyoming client sent something unreadable (%s): connection closed", exc)

    async def handle_event(self, event: Event) -> bool:
        try:
            return await self._handle(event)
        except EarpieceError as exc:
            await self.write_event(Error(text=str(exc), code="earpiece").event())
        except Exception as exc:  # a fault serving one request never ends the server
            log.exception("serving %s failed", event.type)
            await self.write_event(Error(text=f"{event.type} failed: {exc}", code="earpiece-internal").event())
        return True

    async def _handle(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(self.info.event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        elif SelectProgram.is_type(event.type):
            self._select(SelectProgram.from_event(event).name)
        elif Transcribe.is_type(event.type):
            request = Transcribe.from_event(event)
            if request.name:
                self._select(request.name)
            self._transcribing, self._audio = True, []
        elif AudioStart.is_type(event.type):
            await self._audio_start()
        elif AudioChunk.is_type(event.type):
            await self._audio_chunk(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            await self._audio_stop()
        elif Detect.is_type(event.type):
            names = Detect.from_event(event).names
            self._detector = await self.worker.run(self.services.wake_detector, names)
            self._detecting, self._detected = True, False
        elif Synthesize.is_type(event.type):
            if self._streaming_text is None:  # while streaming it is only sent for older servers
                await self._speak(Synthesize.from_event(event).text)
        elif SynthesizeStart.is_type(event.type):
            self._streaming_text = []
        elif SynthesizeChunk.is_type(event.type):
            await self._stream_chunk(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(event.type):
            rest = " ".join(self._streaming_text or []).strip()
            self._streaming_text = None
            if rest:
                await self._speak(rest)
            await self.write_event(SynthesizeStopped().event())
        elif Transcript.is_type(event.type):
            answer = await self.worker.run(self.services.answer, Transcript.from_event(event).text)
            reply = Handled(text=answer.text) if answer.handled else NotHandled(text=answer.text)
            await self.write_event(reply.event())
        else:
            log.debug("ignoring Wyoming event %s", event.type)
        return True

    def _select(self, name: str) -> None:
        """A program or model chosen by name (ASR is the only domain with a choice)."""
        for program, model in self.services.asr_programs().items():
            if name in (program, model):
                self._asr_program = program

    # --- audio in: speech to text, or wake detection ---------------------------------------------

    async def _audio_start(self) -> None:
        self._audio = []
        if self._transcribing:
            await self.write_event(TranscriptStart(language="en").event())

    async def _audio_chunk(self, chunk: AudioChunk) -> None:
        pcm = np.frombuffer(self._converter.convert(chunk).audio, np.int16)
        if self._detecting and self._detector is not None:
            found = await self.worker.run(self._detector.feed, pcm)
            for detection in found:
                await self._detection(detection.phrase, detection.seconds)
        elif self._transcribing:
            self._audio.append(pcm)

    async def _audio_stop(self) -> None:
        if self._detecting and self._detector is not None:
            for detection in await self.worker.run(self._detector.finish):
                await self._detection(detection.phrase, detection.seconds)
            if not self._detected:
                await self.write_event(NotDetected().event())
            self._detecting, self._detector = False, None
            return
        if not self._transcribing:
            return
        self._transcribing = False
        audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.int16)
        self._audio = []
        text = await self.worker.run(self.services.transcribe, audio, self._asr_program)
        if text:
            await self.write_event(TranscriptChunk(text=text).event())
        await self.write_event(Transcript(text=text, language="en").event())
        await self.write_event(TranscriptStop().event())

    async def _detection(self, phrase: str, seconds: float) -> None:
        self._detected = True
        await self.write_event(Detection(name=phrase, timestamp=int(seconds * 1000)).event())

    # --- text to speech ----------------------------------------------------------------------------

    async def _stream_chunk(self, text: str) -> None:
        """Streamed text is spoken a finished sentence at a time: the first sentence's audio goes
        out while the rest is still being written."""
        if self._streaming_text is None:
            self._streaming_text = []
        self._streaming_text.append(text)
        whole = "".join(self._streaming_text)
        parts = split_sentences(whole)
        if len(parts) > 1:
            self._streaming_text = [parts[-1]]
            await self._speak(" ".join(parts[:-1]))

    async def _speak(self, text: str) -> None:
        if not text.strip():
            return
        # a sentence at a time: the first goes out while the next is rendered
        pieces = self.services.synthesize(text)
        piece = await self.worker.run(next, pieces, None)
        rate = piece[1] if piece is not None else SAMPLE_RATE
        await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        while piece is not None:
            pcm = piece[0]
            for start in range(0, len(pcm), AUDIO_CHUNK_SAMPLES):
                block = pcm[start : start + AUDIO_CHUNK_SAMPLES]
                await self.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=block.tobytes()).event())
            piece = await self.worker.run(next, pieces, None)
        await self.write_event(AudioStop().event())


class WyomingServer:
    """The server: ``run()`` until SIGTERM, SIGINT or ``stop()``; or ``start_thread()`` beside
    the daemon's audio loop."""

    def __init__(self, services: Services, uri: str, worker: Worker | None = None, zeroconf: str = "") -> None:
        self.uri = parse_uri(uri)
        self.zeroconf = zeroconf
        """Name to advertise the server under (mDNS ``_wyoming._tcp``, Home Assistant's
        discovery); empty: not advertised."""
        if zeroconf:
            check_advertisable(self.uri)
        self.worker = worker or Worker()
        self.services = services
        self.info = describe(services)
        self._stopped: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def update(self, services: Services) -> None:
        """New engines or settings (a daemon reload): new connections use them."""
        self.services, self.info = services, describe(services)

    async def run(self, ready: Callable[[], None] = lambda: None) -> None:
        self._stopped = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        signals = threading.current_thread() is threading.main_thread()
        if signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signum, self._stopped.set)
        server = AsyncServer.from_uri(self.uri)
        try:
            await server.start(self._handler)
        except OSError as exc:
            raise WyomingError(f"cannot listen on {self.uri}: {exc.strerror or exc}") from None
        log.info("serving Wyoming on %s", self.uri)
        advertised = None
        try:
            if self.zeroconf:
                advertised = await self._advertise()
            ready()
            await self._stopped.wait()
        finally:
            if advertised is not None:
                await advertised.async_close()
            await server.stop()
            self.worker.close()
            if signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    self._loop.remove_signal_handler(signum)

    async def _advertise(self) -> Any:
        """Announce the server on the local network; returns the zeroconf instance to close."""
        try:
            from wyoming.zeroconf import HomeAssistantZeroconf
        except ImportError:
            raise WyomingError("zeroconf advertising needs the zeroconf package: pip install zeroconf") from None
        parsed = urlparse(self.uri)
        host = parsed.hostname if parsed.hostname not in (None, "0.0.0.0", "::") else None
        try:
            announcer = HomeAssistantZeroconf(port=int(parsed.port or 0), name=self.zeroconf, host=host)
            await announcer.register_server()
        except OSError as exc:
            raise WyomingError(f"cannot advertise on the network (zeroconf): {exc}") from None
        log.info("advertised as %s._wyoming._tcp.local. at %s:%s", self.zeroconf, announcer.host, parsed.port)
        return getattr(announcer, "_aiozc", None)

    def start_thread(self) -> None:
        """Serve from a thread of its own; returns once listening, or raises why it cannot."""
        listening = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(self.run(listening.set))
            except BaseException as exc:  # reported to start_thread's caller, or logged once running
                failure.append(exc)
                if listening.is_set():
                    log.exception("the Wyoming server stopped")
            finally:
                listening.set()

        self._thread = threading.Thread(target=serve, name="wyoming-server", daemon=True)
        self._thread.start()
        listening.wait()
        if failure:
            raise failure[0] if isinstance(failure[0], WyomingError) else WyomingError(f"the Wyoming server failed: {failure[0]}")

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> ConnectionHandler:
        return ConnectionHandler(self.services, self.info, self.worker, reader, writer)
