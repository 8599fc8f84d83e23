"""The calendar by voice: a day's events, the next one, "am I free at three?", and adding an
event (asked back first, then written once). A calendar fault is said in one short sentence and
sent as an ``error`` event; nothing is written unless the user said yes."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import Callable

from assistant.calendar.agenda import spoken_clock, spoken_day, spoken_listing, spoken_span
from assistant.calendar.sources import Calendars, NewEvent
from assistant.errors import CalendarError
from assistant.intents.router import IntentMatch
from assistant.skills.base import Question, Reply, Skill, SkillContext

log = logging.getLogger(__name__)

NO_CALENDAR = "You have no calendar set up. Add one to the config under calendar accounts."
NEXT_WITHIN = timedelta(days=30)
"""How far ahead "when is my next meeting?" looks."""
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
AFTERNOON_HOURS = range(1, 7)
"""Without am or pm, "at three" is in the afternoon: nobody meets at 3 am."""


def day_of(slot: str | None, today: date) -> date:
    """"today", "tomorrow" or a weekday (the next one, today included)."""
    if slot in (None, "", "today"):
        return today
    if slot == "tomorrow":
        return today + timedelta(days=1)
    return today + timedelta(days=(WEEKDAYS.index(str(slot)) - today.weekday()) % 7)


def time_on(day: date, hour: int, minute: int, ampm: str | None) -> datetime:
    if ampm == "pm" and hour < 12 or ampm is None and hour in AFTERNOON_HOURS:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return datetime(day.year, day.month, day.day, hour % 24, minute)


def moment_of(slots: dict, now: datetime) -> datetime:
    """The time a question names: on its day, or (no day) today, or tomorrow once today's is past."""
    hour, minute, ampm = int(slots.get("hour", 0)), int(slots.get("minute", 0)), slots.get("ampm")
    at = time_on(day_of(slots.get("day"), now.date()), hour, minute, ampm)
    if not slots.get("day") and at < now - timedelta(minutes=30):
        at += timedelta(days=1)
    return at


class CalendarSkill(Skill):
    intents = frozenset({"CalendarDay", "NextEvent", "AmIFree", "AddEvent"})

    def __init__(self, calendars: Callable[[], Calendars]) -> None:
        self._open = calendars
        self._calendars: Calendars | None = None

    @property
    def calendars(self) -> Calendars:
        if self._calendars is None:
            self._calendars = self._open()
        return self._calendars

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        if not self.calendars.configured:
            return Reply(NO_CALENDAR)
        try:
            if intent.name == "CalendarDay":
                return self._day(day_of(intent.slots.get("day"), context.now.date()), context.now)
            if intent.name == "NextEvent":
                return self._next(context.now)
            if intent.name == "AmIFree":
                return self._free(moment_of(intent.slots, context.now), context.now)
            return self._offer(intent.slots, context.now)
        except CalendarError as exc:
            return failed(exc)

    def close(self) -> None:
        if self._calendars is not None:
            self._calendars.close()
            self._calendars = None

    def _day(self, day: date, now: datetime) -> Reply:
        start = datetime(day.year, day.month, day.day)
        found = self.calendars.between(start, start + timedelta(days=1))
        return Reply(spoken_listing(found, day, now.date()))

    def _next(self, now: datetime) -> Reply:
        ahead = [o for o in self.calendars.between(now, now + NEXT_WITHIN) if not o.all_day and o.start > now]
        if not ahead:
            return Reply("You have nothing on your calendar in the next thirty days.")
        return Reply(f"Your next event is {ahead[0].title}, {when(ahead[0].start, now)}.")

    def _free(self, at: datetime, now: datetime) -> Reply:
        said = when(at, now)
        busy = [o for o in self.calendars.between(at, at + timedelta(minutes=1)) if o.busy_at(at)]
        if not busy:
            return Reply(f"Yes, you're free {said}.")
        names = " and ".join(f"{o.title}, {spoken_span(o)}" for o in busy)
        return Reply(f"No, {said} you have {names}.")

    def _offer(self, slots: dict, now: datetime) -> Reply:
        title = re.sub(r"^(an?|the|my)\s+", "", str(slots.get("title", "")).strip(" .,!?"))
        if not title:
            return Reply("What should I add to your calendar?")
        title = title[0].upper() + title[1:]
        at = moment_of(slots, now)
        if at < now:
            return Reply(f"{spoken_day(at.date(), now.date()).capitalize()} at {spoken_clock(at)} has passed.")
        event = NewEvent.make(title, at)
        said = f"{spoken_day(at.date(), now.date())} at {spoken_clock(at)}"

        def add(context: SkillContext) -> Reply:
            try:
                written = self.calendars.add(event)
            except CalendarError as exc:
                return failed(exc)
            if not written:
                return Reply(f"{title} is already on your calendar {said}.")
            return Reply(f"I've added {title}, {said}.", events=(
                ("calendar", {"action": "add", "uid": event.uid, "title": title, "start": at.isoformat()}),))

        def keep(context: SkillContext) -> Reply:
            return Reply("All right, I didn't add it.")

        return Reply(f"Shall I add {title}, {said}, for an hour?", question=Question(add, keep))


def when(at: datetime, now: datetime) -> str:
    """"at noon" (today), "tomorrow at nine in the morning"."""
    clock = f"at {spoken_clock(at)}"
    return clock if at.date() == now.date() else f"{spoken_day(at.date(), now.date())} {clock}"


def failed(exc: CalendarError) -> Reply:
    log.warning("calendar: %s", exc)
    return Reply(exc.spoken, events=(("error", {"message": f"calendar: {exc}"}),))
