"""Detections from a Wyoming wake word server (wyoming-openwakeword, or another earpiece's
`serve wyoming`), beside the local spotter: `[wake] remote`.

A thread of its own holds one long connection, as Home Assistant does: `describe` (which of the
configured phrases the server has models for), `detect`, `audio-start`, then all idle audio as a
stream (openWakeWord answers about half a second after a phrase and needs the audio after it). A
detection during an utterance wakes at once, unchecked (its models were trained on many voices,
like the bundled microWakeWord ones). While connected, the local spotter leaves the server's
phrases to it; while the server is away the spotter hears every phrase again: the failure is
said once, and the connection is tried again every RETRY_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
import time
from typing import Sequence

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.errors import Complaint, WyomingError
from assistant.speech.engines import words_of
from assistant.wyoming.address import address_problem
from assistant.wyoming.remote import CONNECT_SECONDS, connected

log = logging.getLogger(__name__)

RETRY_SECONDS = 10.0
"""After a failure, the server is tried again this long after."""
BACKLOG_FRAMES = 250
"""Frames (5 s) held for a slow server before the oldest are dropped: old audio wakes nobody."""
REPEAT_SECONDS = 1.0
"""Detections of one model this close together are one (some servers send each several times)."""


def model_phrase(name: str, phrase: str | None) -> str:
    """The words a wake model answers to: its declared phrase, else its name without the version
    ("hey_jarvis_v0.1" -> "hey jarvis", "ok_nabu" -> "okay nabu")."""
    said = phrase or re.sub(r"_v\d+(\.\d+)*$", "", name).replace("_", " ")
    return " ".join("okay" if word == "ok" else word for word in words_of(said))


class RemoteWake:
    def __init__(self, uri: str, phrases: Sequence[str]) -> None:
        if problem := address_problem(uri):
            raise WyomingError(problem)
        self.uri = uri
        self._phrases = {" ".join(words_of(p)): p for p in phrases}
        self.served: tuple[str, ...] = ()
        """The phrases the server listens for now: empty while it is not connected."""
        self._hits: queue.Queue[tuple[str, float]] = queue.Queue()
        self._frames: asyncio.Queue[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._complaint = Complaint()
        self._closed = threading.Event()
        self._reset_at = 0.0
        self._thread = threading.Thread(target=self._run, name="remote-wake", daemon=True)

    def start(self) -> "RemoteWake":
        self._thread.start()
        return self

    def hear(self, frame: np.ndarray) -> str | None:
        """Send one frame of idle audio; returns a phrase the server detected, if any."""
        loop, frames = self._loop, self._frames
        if loop is not None and frames is not None:
            try:
                loop.call_soon_threadsafe(_put_dropping_oldest, frames, frame.astype(np.int16).tobytes())
            except RuntimeError:  # the connection ended this moment (its loop is closed): the frame is lost
                pass
        while True:
            try:
                phrase, at = self._hits.get_nowait()
            except queue.Empty:
                return None
            if at >= self._reset_at:
                return phrase
            log.info("a late detection of %r from the wake server is dropped (its utterance was over)", phrase)

    def reset(self) -> None:
        """A new utterance: detections from well before it are dropped."""
        self._reset_at = time.monotonic()

    def take_problem(self) -> str:
        """Why the server is not helping, once (until it works again)."""
        return self._complaint.take()

    def close(self) -> None:
        self._closed.set()
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(lambda: None)
        self._thread.join(timeout=3)

    # --- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                asyncio.run(self._session())
            except Exception as exc:  # down, refused, misbehaving: the local spotter goes on alone
                reason = "no answer in time" if isinstance(exc, asyncio.TimeoutError) else str(exc) or type(exc).__name__
                self._fail(f"the wake server at {self.uri} failed ({reason}); the local spotter goes on alone")
            finally:
                self._loop, self._frames, self.served = None, None, ()
            self._closed.wait(RETRY_SECONDS)

    def _fail(self, problem: str) -> None:
        log.warning("%s", problem)
        self._complaint.failed(problem)

    async def _session(self) -> None:
        from wyoming.audio import AudioStart
        from wyoming.wake import Detect

        async with connected(self.uri) as client:
            models = await _models(client)
            names = {models[words]: phrase for words, phrase in self._phrases.items() if words in models}
            if not names:
                self._fail(f"the wake server at {self.uri} has no model for {', '.join(self._phrases.values())} "
                           f"(it has {', '.join(sorted(models)) or 'none'})")
                return
            self.served = tuple(names.values())
            log.info("the wake server at %s listens for %s", self.uri, ", ".join(self.served))
            await client.write_event(Detect(names=list(names)).event())
            await client.write_event(AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event())
            self._frames = asyncio.Queue(maxsize=BACKLOG_FRAMES)
            self._loop = asyncio.get_running_loop()
            self._complaint.worked()
            reading = asyncio.create_task(self._read(client, names))
            try:
                await self._send(client, reading)
            finally:
                reading.cancel()

    async def _send(self, client, reading: "asyncio.Task[None]") -> None:  # type: ignore[no-untyped-def]
        from wyoming.audio import AudioChunk

        assert self._frames is not None
        while not self._closed.is_set():
            if reading.done():
                reading.result()  # the server went away: raises why
            try:
                raw = await asyncio.wait_for(self._frames.get(), 0.25)
            except asyncio.TimeoutError:
                continue
            await client.write_event(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=raw).event())

    async def _read(self, client, names: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
        from wyoming.wake import Detection

        last: dict[str, float] = {}
        while True:
            event = await client.read_event()
            if event is None:
                raise WyomingError("the server closed the connection")
            if not Detection.is_type(event.type):
                continue
            name = Detection.from_event(event).name or ""
            now = time.monotonic()
            if name in names and now - last.get(name, -REPEAT_SECONDS) >= REPEAT_SECONDS:
                last[name] = now
                log.info("the wake server detected %r", names[name])
                self._hits.put((names[name], now))


async def _models(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The server's wake models, by the words they answer to (``describe``)."""
    from wyoming.info import Describe, Info

    await client.write_event(Describe().event())
    while True:
        event = await asyncio.wait_for(client.read_event(), CONNECT_SECONDS)
        if event is None:
            raise WyomingError("the server closed the connection")
        if Info.is_type(event.type):
            info = Info.from_event(event)
            return {model_phrase(m.name, getattr(m, "phrase", None)): m.name for program in info.wake for m in program.models}


def server_models(uri: str) -> dict[str, str]:
    """The wake models of the server at ``uri`` (for `earpiece wake list`); WyomingError if it
    cannot be asked."""
    async def ask() -> dict[str, str]:
        async with connected(uri) as client:
            return await _models(client)

    try:
        return asyncio.run(ask())
    except (OSError, asyncio.TimeoutError, ValueError) as exc:
        raise WyomingError(f"the wake server at {uri} cannot be asked: {exc or type(exc).__name__}") from None


def _put_dropping_oldest(frames: "asyncio.Queue[bytes]", raw: bytes) -> None:
    if frames.full():
        frames.get_nowait()
    frames.put_nowait(raw)
