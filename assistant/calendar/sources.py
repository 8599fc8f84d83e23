"""Where events come from and go to: CalDAV servers (the `caldav` library) and local .ics files.

A CalDAV account finds its calendars once (discovery takes most of a second) and keeps the
connection; a query after that is a few milliseconds on a near server. Every failure is a
CalendarError with a sentence to say; a password never appears in one.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # imported where used (see agenda.py)
    import icalendar

from assistant import secrets
from assistant.calendar.agenda import Occurrence, occurrences
from assistant.config import CalendarAccountSettings, Settings
from assistant.errors import CalendarError
from assistant.files import write_atomically

log = logging.getLogger(__name__)

TIMEOUT = 10
"""Seconds a CalDAV server has to answer one request."""

PRODID = "-//earpiece//calendar//EN"


@dataclass(frozen=True)
class NewEvent:
    title: str
    start: datetime
    """Local, naive."""
    end: datetime
    uid: str

    @staticmethod
    def make(title: str, start: datetime, minutes: int = 60) -> "NewEvent":
        return NewEvent(title, start, start + timedelta(minutes=minutes), f"{uuid.uuid4()}@earpiece")

    def vcalendar(self) -> icalendar.Calendar:
        import icalendar

        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add_component(self.vevent())
        return calendar

    def vevent(self) -> icalendar.Event:
        import icalendar

        event = icalendar.Event()
        event.add("uid", self.uid)
        event.add("summary", self.title)
        event.add("dtstart", self.start.astimezone())  # this machine's offset now: an absolute time
        event.add("dtend", self.end.astimezone())
        event.add("dtstamp", datetime.now().astimezone())
        return event


class CalendarSource(Protocol):
    name: str

    def texts(self, start: datetime, end: datetime) -> list[bytes]:
        """The iCalendar texts of the events that may occur in [start, end) (recurring ones whole)."""
        ...

    def add(self, event: NewEvent) -> None: ...

    def close(self) -> None: ...


class IcsFile:
    """A local .ics file: read whole, added to by rewriting it atomically."""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def texts(self, start: datetime, end: datetime) -> list[bytes]:
        try:
            return [self.path.read_bytes()] if self.path.exists() else []
        except OSError as exc:
            raise CalendarError(f"calendar {self.name}: cannot read {self.path}: {exc.strerror}",
                                "I couldn't read your calendar file.") from None

    def add(self, event: NewEvent) -> None:
        import icalendar

        try:
            if self.path.exists():
                calendar = icalendar.Calendar.from_ical(self.path.read_bytes())
                calendar.add_component(event.vevent())
            else:
                calendar = event.vcalendar()
            write_atomically(self.path, calendar.to_ical(), private=False)
        except (OSError, ValueError) as exc:
            raise CalendarError(f"calendar {self.name}: cannot write {self.path}: {exc}",
                                "I couldn't write to your calendar file.") from None

    def close(self) -> None:
        pass


class CalDav:
    """One CalDAV account: its calendars found once, the connection kept, dropped after a failure."""

    def __init__(self, name: str, account: CalendarAccountSettings) -> None:
        self.name, self._account = name, account
        self._client: Any = None
        self._calendars: list[Any] = []

    def texts(self, start: datetime, end: datetime) -> list[bytes]:
        texts: list[bytes] = []
        for calendar in self._found():
            found = self._guard(lambda: calendar.search(start=start.astimezone(), end=end.astimezone(), event=True,
                                                        expand=False))
            texts += [item.data.encode() if isinstance(item.data, str) else item.data for item in found]
        return texts

    def add(self, event: NewEvent) -> None:
        calendar = self._found()[0]
        self._guard(lambda: calendar.save_event(event.vcalendar().to_ical().decode()), writing=True)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing is best effort
                pass
        self._client, self._calendars = None, []

    def _found(self) -> list[Any]:
        if self._calendars:
            return self._calendars
        import caldav

        account = self._account
        secret = secrets.find_password("calendar", self.name, account, CalendarError) if account.username else None
        # credentials sent with the first request: asking without them first cost a second at
        # Radicale, which delays every 401 against password guessing
        self._client = caldav.DAVClient(account.url, username=account.username or None, password=secret,
                                        timeout=TIMEOUT, enable_rfc6764=False,
                                        auth_type="basic" if account.username else None)
        calendars = self._guard(lambda: self._client.principal().calendars())
        if not calendars:  # the URL may be one calendar's own
            calendars = [self._client.calendar(url=account.url)]
        if account.calendar:
            calendars = [c for c in calendars if (self._guard(lambda c=c: c.get_display_name()) or "") == account.calendar]
            if not calendars:
                self.close()
                raise CalendarError(f"calendar account {self.name} has no calendar named {account.calendar!r}",
                                    f"I can't find your calendar {account.calendar}.")
        self._calendars = calendars
        return calendars

    def _guard(self, call: Any, writing: bool = False) -> Any:
        """Run one request; its failure becomes a CalendarError (and the connection is dropped)."""
        from caldav.lib import error

        try:
            return call()
        except error.AuthorizationError:
            self.close()
            raise CalendarError(f"the calendar server of {self.name} refused the login",
                                "The calendar server didn't accept your password.") from None
        except error.NotFoundError:
            self.close()
            raise CalendarError(f"calendar account {self.name}: nothing at {self._account.url}",
                                "I can't find your calendar on the server.") from None
        except error.DAVError as exc:
            self.close()
            what = "write to" if writing else "read"
            raise CalendarError(f"calendar account {self.name}: the server failed: {exc}",
                                f"I couldn't {what} your calendar.") from None
        except Exception as exc:  # connection refused, timeouts, TLS: niquests and OSError alike
            self.close()
            raise CalendarError(f"calendar account {self.name}: cannot reach {self._account.url}: {type(exc).__name__}: {exc}",
                                "I couldn't reach your calendar.") from None


class Calendars:
    """Every configured account; events are read from all and added to the first."""

    def __init__(self, sources: list[CalendarSource]) -> None:
        self.sources = sources

    @property
    def configured(self) -> bool:
        return bool(self.sources)

    def between(self, start: datetime, end: datetime) -> list[Occurrence]:
        texts: list[bytes] = []
        for source in self.sources:
            texts += source.texts(start, end)
        return occurrences(texts, start, end)

    def add(self, event: NewEvent) -> bool:
        """Add ``event`` unless an event of the same title already starts then (a retried "add"
        writes nothing twice). Returns whether it was written."""
        if any(o.title.casefold() == event.title.casefold() and o.start == event.start
               for o in self.between(event.start, event.end)):
            return False
        self.sources[0].add(event)
        return True

    def close(self) -> None:
        for source in self.sources:
            source.close()


def open_calendars(settings: Settings) -> Calendars:
    sources: list[CalendarSource] = []
    for name, account in settings.calendar.accounts.items():
        if account.path:
            sources.append(IcsFile(name, Path(account.path).expanduser()))
        else:
            sources.append(CalDav(name, account))
    return Calendars(sources)
