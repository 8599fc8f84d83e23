"""Engines on another machine, over Wyoming: a bigger Whisper on a server, read from the headset.

A remote engine that is down or slow never hangs the assistant: every request has a time limit,
a failure is said once (``take_problem``) and the local engine answers instead, and the remote
one is tried again after RETRY_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable
from urllib.parse import urlparse

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.errors import WyomingError
from assistant.speech.engines import DictationEngine, Transcript

log = logging.getLogger(__name__)

CONNECT_SECONDS = 2.0
"""Time to connect to a remote engine before the local one answers."""

ANSWER_SECONDS = 10.0
"""Time for a remote transcript, after the last audio was sent."""

RETRY_SECONDS = 30.0
"""After a failure, the local engine answers alone this long before the remote one is tried again."""

CHUNK_SAMPLES = 1024


def is_uri(value: str) -> bool:
    return value.startswith(("tcp://", "unix://"))


async def _transcribe(uri: str, audio: np.ndarray) -> str:
    from wyoming.asr import Transcribe, Transcript as WyomingTranscript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncClient
    from wyoming.error import Error

    client = AsyncClient.from_uri(uri)
    await asyncio.wait_for(client.connect(), CONNECT_SECONDS)
    try:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event())
        raw = audio.astype(np.int16).tobytes()
        for at in range(0, len(raw), CHUNK_SAMPLES * 2):
            await client.write_event(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1,
                                                audio=raw[at : at + CHUNK_SAMPLES * 2]).event())
        await client.write_event(AudioStop().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), ANSWER_SECONDS)
            if event is None:
                raise WyomingError("the server closed the connection before the transcript")
            if WyomingTranscript.is_type(event.type):
                return WyomingTranscript.from_event(event).text.strip()
            if Error.is_type(event.type):
                raise WyomingError(f"the server said: {Error.from_event(event).text}")
    finally:
        await client.disconnect()


class RemoteDictation(DictationEngine):
    """Transcripts from a Wyoming speech-to-text server (wyoming-faster-whisper, or another
    earpiece); the local engine where it fails. It cannot weigh sentences (``score``): the local
    engine does that where it is loaded."""

    def __init__(self, uri: str, local: Callable[[], DictationEngine | None]) -> None:
        parsed = urlparse(uri)
        if parsed.scheme not in ("tcp", "unix") or (parsed.scheme == "tcp" and not parsed.port):
            raise WyomingError(f'"{uri}" is not a Wyoming address: give tcp://HOST:PORT or unix://PATH')
        self.uri = uri
        self.name = f"wyoming ({uri})"
        self._make_local = local
        self._local: DictationEngine | None = None
        self._down_until = 0.0
        self._problem = ""

    def local(self) -> DictationEngine | None:
        """The local engine, loaded on first need."""
        if self._local is None:
            self._local = self._make_local()
        return self._local

    def take_problem(self) -> str:
        """Why the remote engine did not answer, once (for an error event and a spoken notice)."""
        problem, self._problem = self._problem, ""
        return problem

    def transcribe(self, audio: np.ndarray, prompt: str = "", words: bool = False, careful: bool = False,
                   glance: bool = False, draft: bool = False, beam: int = 1) -> Transcript:
        if time.monotonic() >= self._down_until:
            pcm = audio if audio.dtype == np.int16 else (np.clip(audio, -1, 1) * 32767).astype(np.int16)
            try:
                return Transcript(asyncio.run(_transcribe(self.uri, pcm)), engine=self.name)
            except (OSError, asyncio.TimeoutError, WyomingError, ValueError) as exc:
                reason = str(exc) or type(exc).__name__
                if isinstance(exc, asyncio.TimeoutError):
                    reason = "no answer in time"
                log.warning("the speech server at %s failed (%s): reading on this machine", self.uri, reason)
                self._problem = f"the speech server at {self.uri} failed ({reason}); reading on this machine"
                self._down_until = time.monotonic() + RETRY_SECONDS
        local = self.local()
        if local is None:
            return Transcript("", engine=self.name)
        return local.transcribe(audio, prompt, words, careful, glance, draft, beam)

    def score(self, audio: np.ndarray, texts: list[str], prompt: str = "") -> list[float] | None:  # type: ignore[override]
        return self._local.score(audio, texts, prompt) if self._local is not None else None
