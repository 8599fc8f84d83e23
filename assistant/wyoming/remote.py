"""Engines on another machine, over Wyoming: a bigger Whisper or another voice on a server,
used from the headset.

A remote engine that is down or slow never hangs the assistant: every request has a time limit,
a failure is said once (``take_problem``) and the local engine answers instead, and the remote
one is tried again after RETRY_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Iterator

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.errors import WyomingError
from assistant.speech.engines import DictationEngine, Transcript
from assistant.speech.synth import Chunk, Synthesizer, sentences
from assistant.wyoming.address import address_problem

log = logging.getLogger(__name__)

CONNECT_SECONDS = 2.0
"""Time to connect to a remote engine before the local one answers."""

ANSWER_SECONDS = 10.0
"""Time for a remote transcript, after the last audio was sent."""

RETRY_SECONDS = 30.0
"""After a failure, the local engine answers alone this long before the remote one is tried again."""

CHUNK_SAMPLES = 1024

FAILURES = (OSError, asyncio.TimeoutError, WyomingError, ValueError)
"""What a remote engine that is down, slow or misbehaving raises."""


class Outage:
    """A remote engine's failures: whether to try it now, and why it did not answer (said once)."""

    def __init__(self, what: str, uri: str, instead: str) -> None:
        self._what, self._uri, self._instead = what, uri, instead
        self._until = 0.0
        self._problem = ""

    def up(self) -> bool:
        """Try the remote engine now? Not for RETRY_SECONDS after a failure."""
        return time.monotonic() >= self._until

    def failed(self, exc: BaseException) -> None:
        reason = "no answer in time" if isinstance(exc, asyncio.TimeoutError) else str(exc) or type(exc).__name__
        log.warning("the %s at %s failed (%s): %s", self._what, self._uri, reason, self._instead)
        self._problem = f"the {self._what} at {self._uri} failed ({reason}); {self._instead}"
        self._until = time.monotonic() + RETRY_SECONDS

    def take_problem(self) -> str:
        """Why the remote engine did not answer, once (for an error event and a spoken notice)."""
        problem, self._problem = self._problem, ""
        return problem


@asynccontextmanager
async def connected(uri: str) -> AsyncIterator[Any]:
    """A Wyoming client connected to ``uri`` within CONNECT_SECONDS, disconnected after use."""
    from wyoming.client import AsyncClient

    client = AsyncClient.from_uri(uri)
    await asyncio.wait_for(client.connect(), CONNECT_SECONDS)
    try:
        yield client
    finally:
        await client.disconnect()


async def _transcribe(uri: str, audio: np.ndarray) -> str:
    from wyoming.asr import Transcribe, Transcript as WyomingTranscript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.error import Error

    async with connected(uri) as client:
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


class RemoteDictation(DictationEngine):
    """Transcripts from a Wyoming speech-to-text server (wyoming-faster-whisper, or another
    earpiece); the local engine where it fails. It cannot weigh sentences (``score``): the local
    engine does that where it is loaded."""

    def __init__(self, uri: str, local: Callable[[], DictationEngine | None]) -> None:
        if problem := address_problem(uri):
            raise WyomingError(problem)
        self.uri = uri
        self.name = f"wyoming ({uri})"
        self._make_local = local
        self._local: DictationEngine | None = None
        self._outage = Outage("speech server", uri, "reading on this machine")
        self.take_problem = self._outage.take_problem

    def local(self) -> DictationEngine | None:
        """The local engine, loaded on first need."""
        if self._local is None:
            self._local = self._make_local()
        return self._local

    def transcribe(self, audio: np.ndarray, prompt: str = "", words: bool = False, careful: bool = False,
                   glance: bool = False, draft: bool = False, beam: int = 1) -> Transcript:
        if self._outage.up():
            pcm = audio if audio.dtype == np.int16 else (np.clip(audio, -1, 1) * 32767).astype(np.int16)
            try:
                return Transcript(asyncio.run(_transcribe(self.uri, pcm)), engine=self.name)
            except FAILURES as exc:
                self._outage.failed(exc)
        local = self.local()
        if local is None:
            return Transcript("", engine=self.name)
        return local.transcribe(audio, prompt, words, careful, glance, draft, beam)

    def score(self, audio: np.ndarray, texts: list[str], prompt: str = "") -> list[float] | None:  # type: ignore[override]
        return self._local.score(audio, texts, prompt) if self._local is not None else None


async def _synthesize(uri: str, text: str, voice: str) -> tuple[np.ndarray, int]:
    from wyoming.audio import AudioChunk, AudioStart
    from wyoming.error import Error
    from wyoming.tts import Synthesize, SynthesizeVoice

    async with connected(uri) as client:
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None).event())
        rate, width, channels, pieces = SAMPLE_RATE, 2, 1, []
        while True:
            event = await asyncio.wait_for(client.read_event(), ANSWER_SECONDS)
            if event is None:
                raise WyomingError("the server closed the connection before the end of the audio")
            if AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                rate, width, channels = start.rate, start.width, start.channels
            elif AudioChunk.is_type(event.type):
                pieces.append(AudioChunk.from_event(event).audio)
            elif event.type == "audio-stop":
                break
            elif Error.is_type(event.type):
                raise WyomingError(f"the server said: {Error.from_event(event).text}")
    if width != 2:
        raise WyomingError(f"the server sent {8 * width}-bit audio; 16-bit is expected")
    samples = np.frombuffer(b"".join(pieces), np.int16).reshape(-1, channels).mean(axis=1)
    return (samples / 32768.0).astype(np.float32), rate


class RemoteSynth(Synthesizer):
    """Speech from a Wyoming text-to-speech server (wyoming-piper, or another earpiece), a
    sentence at a time; the local voice where it fails."""

    name = "wyoming"

    def __init__(self, uri: str, voice: str, local: Callable[[], Synthesizer]) -> None:
        self.uri = uri
        self.voice = voice
        self._make_local = local
        self._local: Synthesizer | None = None
        self._outage = Outage("voice server", uri, "speaking on this machine")
        self.take_problem = self._outage.take_problem

    def render(self, text: str) -> Iterator[Chunk]:
        for sentence in sentences(text):
            if self._outage.up():
                try:
                    samples, rate = asyncio.run(_synthesize(self.uri, sentence, self.voice))
                    yield Chunk(samples, rate)
                    continue
                except FAILURES as exc:
                    self._outage.failed(exc)
            if self._local is None:
                self._local = self._make_local()
            yield from self._local.render(sentence)
