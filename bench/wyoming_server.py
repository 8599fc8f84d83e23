"""Wyoming: what the protocol costs against the same engines in-process, and many clients at once.

- ASR: the same clips transcribed by Whisper in this process and through `earpiece serve wyoming`
  (the wyoming library's client, a new connection per clip as Home Assistant opens them);
  overhead ratio = Wyoming wall time / in-process wall time (goal <= 1.10x).
- TTS: time to the first audio-chunk of a reply over Wyoming, against the first sentence
  rendered in-process.
- 20 clients transcribing at once: all answered, none dropped; the wall time of all against
  the same 20 one after another.

Run: .venv/bin/python bench/wyoming_server.py   (writes "Wyoming" in docs/benchmarks.md)
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, VOICES, say, write_section

from assistant.config import Settings
from assistant.speech.loader import load_dictation
from assistant.speech.voice import Voice as Tts

CLIPS = ["What time is it?", "Set a timer for ten minutes.", "Read my new messages.",
         "Please remind me to water the garden tomorrow morning.", "Turn the volume up a little."]
REPLIES = ["It's ten past three.", "Timer set for ten minutes. I'll tell you when it's done.",
           "You have three new messages, from Anna, from Tom and from the bank. Shall I read them?"]
CONCURRENT = 20
CHUNK = 1024


def pcm16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def transcribe(port: int, clip: np.ndarray) -> str:
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe().event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        raw = clip.tobytes()
        for at in range(0, len(raw), CHUNK * 2):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=raw[at : at + CHUNK * 2]).event())
        await client.write_event(AudioStop().event())
        while True:
            event = await client.read_event()
            if event is None:
                raise RuntimeError("the server closed the connection")
            if Transcript.is_type(event.type):
                return Transcript.from_event(event).text


async def first_chunk(port: int, text: str) -> float:
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize

    async with AsyncTcpClient("127.0.0.1", port) as client:
        started = time.perf_counter()
        await client.write_event(Synthesize(text=text).event())
        first = None
        while True:
            event = await client.read_event()
            if event is None:
                raise RuntimeError("the server closed the connection")
            if event.type == "audio-chunk" and first is None:
                first = time.perf_counter() - started
            if event.type == "audio-stop":
                return first if first is not None else float("nan")


def main() -> None:
    started = time.monotonic()
    clips = [pcm16(say(text, voice)) for voice in VOICES[:2] for text in CLIPS]
    settings = Settings()
    whisper = load_dictation(settings)
    assert whisper is not None
    for clip in clips[:2]:
        whisper.transcribe(clip, beam=1)  # warm, as the server is
    local: list[float] = []
    for _ in range(2):
        for clip in clips:
            at = time.perf_counter()
            whisper.transcribe(clip, beam=1)
            local.append(time.perf_counter() - at)
    tts = Tts(settings.voice)
    tts.load()
    next(tts.pieces(REPLIES[0], rate=None))
    local_first = []
    for text in REPLIES * 2:
        at = time.perf_counter()
        next(tts.pieces(text, rate=None))
        local_first.append(time.perf_counter() - at)
    del whisper

    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="earpiece-bench-wyoming-"))
    env = dict(os.environ, **{f"XDG_{n.upper()}_HOME": str(home / n) for n in ("config", "data", "state")})
    env.pop("EARPIECE_CONFIG", None)
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "wyoming", "--uri", f"tcp://127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        for clip in clips[:2]:
            asyncio.run(transcribe(port, clip))
        remote: list[float] = []
        for _ in range(2):
            for clip in clips:
                at = time.perf_counter()
                asyncio.run(transcribe(port, clip))
                remote.append(time.perf_counter() - at)
        asyncio.run(first_chunk(port, REPLIES[0]))
        remote_first = [asyncio.run(first_chunk(port, text)) for text in REPLIES * 2]

        at = time.perf_counter()
        in_a_row = [asyncio.run(transcribe(port, clips[i % len(clips)])) for i in range(CONCURRENT)]
        row_seconds = time.perf_counter() - at

        async def together() -> list[object]:
            return await asyncio.gather(*(transcribe(port, clips[i % len(clips)]) for i in range(CONCURRENT)),
                                        return_exceptions=True)

        at = time.perf_counter()
        at_once = asyncio.run(together())
        once_seconds = time.perf_counter() - at
    finally:
        server.terminate()
        server.wait(30)
    answered = sum(isinstance(text, str) for text in at_once)
    same = sum(a == b for a, b in zip(in_a_row, at_once))
    elapsed = time.monotonic() - started
    ratio = sum(remote) / sum(local)
    body = f"""Script: `bench/wyoming_server.py` ({len(clips)} clips x 2 rounds: {len(CLIPS)} commands in {", ".join(v.name for v in VOICES[:2])};
{len(REPLIES)} replies x 2; {CONCURRENT} clients; {elapsed:.0f} s). `earpiece serve wyoming` on loopback, driven by the
`wyoming` library's AsyncTcpClient, a new connection per request (as Home Assistant opens them).

| measure | in-process | over Wyoming | ratio |
|---|---|---|---|
| speech to text (Whisper tiny.en), mean per clip | {1000 * statistics.mean(local):.0f} ms | {1000 * statistics.mean(remote):.0f} ms | {ratio:.2f}x (goal <= 1.10x) |
| text to speech, first audio (Piper), p50 | {1000 * statistics.median(local_first):.0f} ms | {1000 * statistics.median(remote_first):.0f} ms | {statistics.median(remote_first) / statistics.median(local_first):.2f}x |
| {CONCURRENT} clients transcribing: answered | | {answered} of {CONCURRENT} ({same} the same text as one at a time) | |
| {CONCURRENT} clients: all at once against one after another | {row_seconds:.1f} s in a row | {once_seconds:.1f} s at once | {once_seconds / row_seconds:.2f}x |

The engines run one request at a time in the server's worker thread, so clients at once take
about as long as in a row (a 2-core machine gains nothing from two Whisper reads at once); none
waits on another's network. Text to speech over Wyoming: from the request to the first
audio-chunk (the first sentence rendered, then sent in 1024-sample chunks).
"""
    print(body)
    write_section("Wyoming", body)


if __name__ == "__main__":
    main()
