"""Saying an event shortly before it starts ("In ten minutes: team standup."), like new mail.

The events of the next hours are fetched every REFRESH of the pipeline's clock: in file mode
at once, on that clock (so `--start-time` runs are repeatable); in the daemon on a thread of
its own, so a slow or dead server never holds up the audio loop.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from assistant.calendar.agenda import Occurrence
from assistant.calendar.sources import Calendars
from assistant.errors import CalendarError, Complaint
from assistant.intents.numbers import cardinal

log = logging.getLogger(__name__)

REFRESH = timedelta(minutes=5)
"""How often the coming events are fetched again (an event added elsewhere is said in time)."""


class Announcer:
    def __init__(self, calendars: Calendars, lead_minutes: int, background: bool) -> None:
        self._calendars = calendars
        self._lead = timedelta(minutes=lead_minutes)
        self._background = background
        self._coming: list[Occurrence] = []
        self._fetched_at: datetime | None = None
        self._said: set[tuple[str, datetime]] = set()
        self._complaint = Complaint()
        self._lock = threading.Lock()
        """Guards ``_coming``, which the fetching thread replaces."""
        self._fetching: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._calendars.configured and self._lead > timedelta(0)

    def due(self, now: datetime) -> list[Occurrence]:
        """Events starting within the lead time, not yet said (soonest first)."""
        if not self.active:
            return []
        if self._fetched_at is None or now - self._fetched_at >= REFRESH:
            self._fetched_at = now
            self._fetch(now)
        with self._lock:
            coming = list(self._coming)
        return [o for o in coming if not o.all_day and o.start - self._lead <= now < o.start
                and (o.uid, o.start) not in self._said]

    def said(self, occurrence: Occurrence) -> None:
        self._said.add((occurrence.uid, occurrence.start))

    def take_problem(self) -> str:
        """A failure to fetch, once until fetching works again."""
        return self._complaint.take()

    def _fetch(self, now: datetime) -> None:
        if not self._background:
            self._fetch_now(now)
        elif self._fetching is None or not self._fetching.is_alive():
            self._fetching = threading.Thread(target=self._fetch_now, args=(now,), name="calendar", daemon=True)
            self._fetching.start()

    def _fetch_now(self, now: datetime) -> None:
        try:
            coming = self._calendars.between(now, now + self._lead + 2 * REFRESH)
        except CalendarError as exc:
            self._complaint.failed(f"calendar: {exc}")
            return
        self._complaint.worked()
        with self._lock:
            self._coming = coming


def announcement(occurrence: Occurrence, now: datetime) -> str:
    minutes = max(0, round((occurrence.start - now).total_seconds() / 60))
    if minutes <= 1:
        return f"Starting now: {occurrence.title}."
    return f"In {cardinal(minutes)} minutes: {occurrence.title}."
