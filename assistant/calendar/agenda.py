"""Events as occurrences in local time, from iCalendar text: recurring events expanded
(recurring-ical-events), other time zones converted to this machine's, all-day events kept as days.
And the words for them: "at nine in the morning, team standup"."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # imported where a calendar is read: 4 MB a daemon with no calendar never needs
    import icalendar

from assistant.intents.numbers import cardinal, ordinal, part_of_day, spoken_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Occurrence:
    uid: str
    """The event's UID (every occurrence of a recurring event shares it)."""

    title: str
    """SUMMARY."""

    start: datetime
    """Local wall-clock time, naive (the machine's time zone), like the pipeline's clock."""

    end: datetime
    """Local, naive; an all-day event ends at midnight after its last day."""

    all_day: bool = False
    """A DATE event (a birthday, a holiday): never makes you busy."""

    location: str = ""

    def busy_at(self, moment: datetime) -> bool:
        return not self.all_day and self.start <= moment < self.end


def occurrences(calendars: Iterable[str | bytes], start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence overlapping [start, end) in the given iCalendar texts, soonest first
    (all-day ones first on their day). A text that does not parse is logged and skipped."""
    import icalendar
    import recurring_ical_events

    found: list[Occurrence] = []
    for text in calendars:
        try:
            calendar = icalendar.Calendar.from_ical(text)
            components = recurring_ical_events.of(calendar).between(_aware(start), _aware(end))
        except Exception as exc:  # a broken event elsewhere must not hide the rest
            log.warning("a calendar entry cannot be read: %s", exc)
            continue
        for component in components:
            occurrence = _occurrence(component)
            if occurrence is not None and occurrence.end > start and occurrence.start < end:
                found.append(occurrence)
    unique = {(o.uid, o.start): o for o in found}
    return sorted(unique.values(), key=lambda o: (o.start, not o.all_day, o.title))


def _occurrence(component: icalendar.cal.Component) -> Occurrence | None:
    if component.name != "VEVENT" or "DTSTART" not in component:
        return None
    begins = component["DTSTART"].dt
    if "DTEND" in component:
        ends = component["DTEND"].dt
    elif "DURATION" in component:
        ends = begins + component["DURATION"].dt
    else:
        ends = begins + (timedelta(days=1) if not isinstance(begins, datetime) else timedelta(0))
    all_day = not isinstance(begins, datetime)
    return Occurrence(str(component.get("UID", "")), str(component.get("SUMMARY", "")).strip() or "an event without a title",
                      _local(begins), _local(ends), all_day, str(component.get("LOCATION", "")).strip())


def _local(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value.astimezone().replace(tzinfo=None) if value.tzinfo is not None else value


def _aware(moment: datetime) -> datetime:
    return moment.astimezone() if moment.tzinfo is None else moment


# --- the words ---------------------------------------------------------------------------------


def spoken_day(day: date, today: date) -> str:
    """"today", "tomorrow", "on Friday", "on Friday the eleventh of December"."""
    ahead = (day - today).days
    if ahead == 0:
        return "today"
    if ahead == 1:
        return "tomorrow"
    if ahead == -1:
        return "yesterday"
    if 1 < ahead < 7:
        return f"on {day:%A}"
    return f"on {day:%A} the {ordinal(day.day)} of {day:%B}"


def _bare_time(moment: datetime) -> str:
    """spoken_time without its "o'clock": "nine", "half past two", "noon"."""
    return spoken_time(moment).removesuffix(" o'clock")


def spoken_clock(moment: datetime) -> str:
    """"nine in the morning", "half past two in the afternoon", "noon"."""
    said = _bare_time(moment)
    return said if said in ("noon", "midnight") else f"{said} {part_of_day(moment)}"


def spoken_event(occurrence: Occurrence, today: date | None = None) -> str:
    """"at nine in the morning, team standup" or "all day, Anna's birthday"; with ``today``, the
    day too when it is another ("tomorrow at noon, lunch with Anna")."""
    day = f"{spoken_day(occurrence.start.date(), today)} " if today and occurrence.start.date() != today else ""
    if occurrence.all_day:
        return f"{day}all day, {occurrence.title}".strip()
    return f"{day}at {spoken_clock(occurrence.start)}, {occurrence.title}"


def spoken_listing(occurrences: list[Occurrence], day: date, today: date) -> str:
    when = spoken_day(day, today)
    if not occurrences:
        return f"You have nothing on your calendar {when}."
    count = "one event" if len(occurrences) == 1 else f"{cardinal(len(occurrences))} events"
    said = [spoken_event(o) for o in occurrences]
    if len(said) > 1:
        said[-1] = f"and {said[-1]}"
    # a sentence each: the voice starts on the short first one while it renders the rest
    return " ".join([f"{when[0].upper()}{when[1:]} you have {count}.", *(f"{s[0].upper()}{s[1:]}." for s in said)])


def spoken_span(occurrence: Occurrence) -> str:
    """"from two to three", "from half past two to four"."""
    return f"from {_bare_time(occurrence.start)} to {_bare_time(occurrence.end)}"
