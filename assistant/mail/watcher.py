"""Watching the inbox while idle: IMAP IDLE (or Maildir polling), reconnecting with back-off.

This is a network edge, so like the audio edges it runs in its own thread and only hands
results over: ``report`` receives ``NewMail`` and ``WatchProblem`` notices, which the daemon
queues and applies between two audio frames. Mail that arrives while the server is away is
still announced after the reconnect, because what was already known is kept across it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Union

from assistant.errors import MailError
from assistant.mail.message import Envelope
from assistant.mail.store import MailStore

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


@dataclass(frozen=True)
class NewMail:
    envelopes: tuple[Envelope, ...]
    """The newest of the unread messages that were not there before (at most NEWS_HEADERS), newest first."""

    count: int = 0
    """How many arrived in all (a sync can bring hundreds at once); 0 means len(envelopes)."""


NEWS_HEADERS = 5
"""Headers fetched for an announcement: it names the newest few and counts the rest."""


@dataclass(frozen=True)
class WatchProblem:
    message: str
    """What went wrong (said once per distinct problem, not on every retry)."""

    recovered: bool = False
    """True once the watcher is connected again after a problem."""


Notice = Union[NewMail, WatchProblem]


class MailWatcher:
    def __init__(self, open_store: Callable[[], MailStore], report: Callable[[Notice], None],
                 idle_seconds: float = 600.0, backoff_max: float = BACKOFF_MAX) -> None:
        self._open_store = open_store
        self._report = report
        self._idle_seconds = idle_seconds
        self._backoff_max = backoff_max
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-watcher", daemon=True)
        self.listed = threading.Event()
        """Set once the first listing is in: what arrives after it is news, what was there is not."""

    def start(self) -> "MailWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to end; it finishes its current wait (an IDLE round) in the background."""
        self._stop.set()

    def _run(self) -> None:
        known: set[str] | None = None
        store: MailStore | None = None
        delay = BACKOFF_FIRST
        problem = ""
        while not self._stop.is_set():
            try:
                if store is None:
                    store = self._open_store()
                unread = store.unread()
                if problem:
                    self._report(WatchProblem(problem, recovered=True))
                    problem = ""
                delay = BACKOFF_FIRST
                if known is not None:
                    fresh = [uid for uid in unread if uid not in known]
                    if fresh and not self._stop.is_set():
                        self._report(NewMail(tuple(store.envelopes(fresh[:NEWS_HEADERS])), len(fresh)))
                known = set(unread)  # the unread ones: a mailbox of any size costs only these
                self.listed.set()
                store.wait_for_change(self._idle_seconds)
            except MailError as exc:
                if str(exc) != problem:
                    problem = str(exc)
                    self._report(WatchProblem(problem))
                log.info("mail watcher: %s; retrying in %.0f s", exc, delay)
                if store is not None:
                    store.close()
                    store = None
                self._stop.wait(delay)
                delay = min(delay * 2, self._backoff_max)
            except Exception as exc:  # never let the watcher thread die silently
                log.exception("mail watcher failed")
                self._report(WatchProblem(f"watching the inbox failed: {exc}"))
                self._stop.wait(self._backoff_max)
        if store is not None:
            store.close()
