"""Stopping without cutting anyone off: shared by the daemon and `earpiece run`."""

from __future__ import annotations

import threading

STOP_GRACE = 5.0
"""Seconds of audio a stop waits for the sentence being spoken to end: it is heard out, not cut."""


class GracefulStop:
    """A request to stop (SIGTERM, Ctrl+C, the control socket's "stop") that lets the sentence
    being spoken end first, so it is recognized and acted on (a dictated sentence journaled),
    for at most ``grace`` seconds of audio."""

    def __init__(self, grace: float = STOP_GRACE) -> None:
        self._requested = threading.Event()
        self._grace = grace
        self._by: float | None = None

    def request(self) -> None:
        """Safe from a signal handler or another thread."""
        self._requested.set()

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def due(self, now: float, talking: bool) -> bool:
        """Stop now? ``now`` is audio time; ``talking`` whether an utterance is in progress."""
        if not self._requested.is_set():
            return False
        if self._by is None:
            self._by = now + self._grace
        return not (talking and now < self._by)
