"""Time from the end of "read my email" to the first reply word, with 50 messages in the inbox.

A real Dovecot (the test fixture's recipe, on loopback) holds 50 unread messages. Each run is
"Samantha, read my email." spoken by an espeak-ng voice through the real file-mode pipeline,
fed frame by frame on a simulated live clock (`feed_live` in bench/common.py: a slow frame, such
as a Whisper read, delays the ones queued behind it, as the capture queue does live). Latency = from the arrival
of the last speech sample to the end of the frame that handed the reply audio to the sink
(`speak_start`): what a listener waits before the first word.

Server time (the IMAP calls inside the mail store) is measured separately, for a cold start
(login on the first command) and with the connection kept, as the daemon keeps it.
The baseline, in the same run: "Samantha, what time is it?", a reply with no I/O at all.

Run: .venv/bin/python bench/mail.py   (writes the "Mail" section of docs/benchmarks.md)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from email.message import EmailMessage
from typing import Any, Callable

import numpy as np
from common import ROOT, VOICES, Runner, feed_live, say, speech_end, write_section

sys.path.insert(0, str(ROOT / "tests"))
from mailserver import Dovecot  # noqa: E402

from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import WavSink  # noqa: E402
from assistant.config import MailAccountSettings  # noqa: E402
from assistant.mail.store import ImapStore, MailStore  # noqa: E402
from assistant.pipeline import EARLY_LOOK  # noqa: E402

MESSAGES = 50
REPEATS = 2
SPLIT: list[tuple[float, float]] = []
"""(audio wait for the end of speech, processing behind the mic after it) per run."""


class TimedStore:
    """The real store, with the time spent inside each call kept (server + parsing)."""

    def __init__(self, store: MailStore) -> None:
        self._store = store
        self.spent: list[float] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self.spent.append(time.perf_counter() - began)

        return timed


def seed(server: Dovecot) -> None:
    server.reset()
    messages = []
    for n in range(MESSAGES):
        mail = EmailMessage()
        mail["From"] = f"Sender {n} <sender{n}@example.org>"
        mail["To"] = "theodore@example.org"
        mail["Subject"] = f"Message number {n}"
        mail["Message-ID"] = f"<bench-{n}@example.org>"
        mail.set_content(f"Body of message {n}.\n\n" + "Some text. " * 200)
        messages.append(bytes(mail))
    server.seed(messages)


def first_word(runner: Runner, audio: np.ndarray, store: Callable[[], MailStore] | None) -> tuple[float, str]:
    """Seconds from the end of speech to the reply audio leaving for the sink; and the reply."""
    pcm = float_to_int16(np.concatenate([np.zeros(8000, np.float32), audio, np.zeros(48000, np.float32)]))
    end = 0.5 + speech_end(audio)
    pipeline, log = runner.pipeline(mail_store=store)
    pipeline.start(WavSink(None))
    walls = feed_live(pipeline, log, pcm, stop=lambda new: any(e.type == "speak_start" for e in new))
    spoken = [i for i, e in enumerate(log.events) if e.type == "speak_start"]
    if not spoken:
        return float("nan"), ""  # nothing heard: counted as not recognized
    reply = next(e for e in reversed(log.events) if e.type == "reply")
    # the frame that replied arrived at reply.t: what came after that is processing lagging behind the mic
    SPLIT.append((reply.t - end, walls[spoken[0]] - reply.t))
    return walls[spoken[0]] - end, str(reply.data["text"])


def main() -> None:
    runner = Runner()
    server = Dovecot().start()
    os.environ["EP_BENCH_PASSWORD"] = server.password
    account = MailAccountSettings(imap_host="127.0.0.1", imap_port=server.port, security="none", username=server.user,
                                  password_env="EP_BENCH_PASSWORD")
    try:
        seed(server)
        mail, clock, cold_server, warm_server, replies = [], [], [], [], set()
        started = time.monotonic()
        for voice in VOICES:
            check = say("Samantha, read my email.", voice)
            baseline = say("Samantha, what time is it?", voice)
            for _ in range(REPEATS):
                timed = TimedStore(ImapStore("bench", account))  # a fresh connection: login included (cold)
                latency, text = first_word(runner, check, lambda: timed)  # type: ignore[arg-type, return-value]
                if text.startswith("You have"):
                    mail.append(latency)
                    cold_server.append(sum(timed.spent))
                    replies.add(text)
                    timed.spent.clear()
                    timed.unseen()  # the kept connection, as in the daemon after the first command
                    warm_server.append(sum(timed.spent))
                timed.close()
                base_latency, base_text = first_word(runner, baseline, None)
                if base_text.startswith("It's"):
                    clock.append(base_latency)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    p50, base = statistics.median(mail), statistics.median(clock)
    body = f"""Script: `bench/mail.py` ({len(VOICES)} espeak-ng voices x {REPEATS}, {MESSAGES} unread messages in a real
Dovecot on loopback, {elapsed:.0f} s). From the end of "Samantha, read my email." to the reply audio going to the
speaker (recognition, IMAP, TTS rendering), fed frame by frame as live:

| measure | read my email | baseline: "what time is it?" (no I/O) |
|---|---|---|
| end of speech to first word, p50 | {1000 * p50:.0f} ms | {1000 * base:.0f} ms |
| worst | {1000 * max(mail):.0f} ms | {1000 * max(clock):.0f} ms |
| ratio to baseline (p50) | {p50 / base:.2f}x | 1.00x |

Goal: p50 <= 600 ms. Server time inside that (IMAP login + SEARCH UNSEEN + header FETCH of {MESSAGES}, and parsing):
p50 {1000 * statistics.median(cold_server):.0f} ms on a new connection (first command after start),
p50 {1000 * statistics.median(warm_server):.0f} ms on the kept connection. Recognized as mail in {len(mail)} of {len(VOICES) * REPEATS} runs.
Of the whole chain (both commands): the end-of-speech pause that ends a complete command (audio)
p50 {1000 * statistics.median(a for a, _ in SPLIT):.0f} ms; then processing behind the mic (Whisper tiny.en's reads still
queued, the {int(EARLY_LOOK * 1000)} ms look-ahead read among them, then routing, the skill and TTS rendering in the frame
that replied) p50 {1000 * statistics.median(c for _, c in SPLIT):.0f} ms.
Reply: "{sorted(replies)[0] if replies else ''}"
"""
    print(body)
    write_section("Mail", body)


if __name__ == "__main__":
    main()
