"""SetReminder, ListReminders and CancelReminder. A reminder is a timer with words: it is kept
with the timers (state.json, across restarts) and said by the pipeline when it is due, or at the
next start if it fell due while earpiece was down (once: it is dropped as it is said)."""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta

from assistant.intents.numbers import cardinal, part_of_day, spoken_duration, spoken_time
from assistant.intents.router import IntentMatch
from assistant.skills.base import Reply, Skill, SkillContext
from assistant.skills.timers import keep_timer
from assistant.state import Timer

MAX_AHEAD = timedelta(days=1)
"""The longest "in ..." a reminder takes (a time of day is always its next occurrence)."""

CANCEL_LIKENESS = 0.5
"""How alike the words of "cancel the reminder about ..." and a reminder's must be."""

_PERSON = {"my": "your", "me": "you", "i": "you", "i'm": "you're", "mine": "yours", "myself": "yourself",
           "we": "you", "our": "your", "us": "you"}


def told_back(task: str) -> str:
    """The user's words as said back to them: "call my mother" -> "call your mother"."""
    return " ".join(_PERSON.get(word, word) for word in task.split())


def next_time_of_day(now: datetime, hour: int, minute: int, ampm: str | None) -> datetime:
    """The next hour:minute after ``now``; without am or pm, a 12-hour clock's next one ("at five"
    at 4 pm is 5 pm, at 6 pm it is 5 am)."""
    if ampm == "pm" and hour < 12:
        hours = [hour + 12]
    elif ampm == "am":
        hours = [hour % 12]
    elif hour <= 12:
        hours = [hour % 12, hour % 12 + 12]
    else:
        hours = [hour]
    candidates = []
    for day in (0, 1):
        for h in hours:
            at = (now + timedelta(days=day)).replace(hour=h, minute=minute, second=0, microsecond=0)
            if at > now:
                candidates.append(at)
    return min(candidates)


def when(due: datetime, now: datetime) -> str:
    """When a reminder goes off, as said: "at five o'clock in the afternoon", "at ten past six in the
    morning tomorrow"."""
    time = spoken_time(due)
    said = f"at {time}" if time in ("noon", "midnight") else f"at {time} {part_of_day(due)}"
    return f"{said} tomorrow" if due.date() != now.date() else said


class ReminderSkill(Skill):
    intents = frozenset({"SetReminder", "ListReminders", "CancelReminder"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        if intent.name == "SetReminder":
            return self._set(intent, context)
        reminders = [t for t in context.session.timers if t.text]
        if intent.name == "ListReminders":
            if not reminders:
                return Reply("You have no reminders.")
            said = [f"{t.text} {when(t.due, context.now)}" for t in reminders]
            listing = said[0] if len(said) == 1 else ", ".join(said[:-1]) + f", and {said[-1]}"
            count = "one reminder" if len(said) == 1 else f"{cardinal(len(said))} reminders"
            return Reply(f"You have {count}: {listing}.")
        return self._cancel(str(intent.slots.get("task", "")), reminders, context)

    @staticmethod
    def _set(intent: IntentMatch, context: SkillContext) -> Reply:
        slots, now = intent.slots, context.now
        task = told_back(re.sub(r"^(to|that)\s+", "", str(slots.get("task", "")).strip(" .,!?")))
        if not task:
            return Reply("What should I remind you of?")
        if "minutes" in slots or "hours" in slots:
            seconds = int(slots.get("minutes", 0)) * 60 + int(slots.get("hours", 0)) * 3600
            if not 0 < seconds <= MAX_AHEAD.total_seconds():
                return Reply("I can remind you from a minute up to a day ahead.")
            due, said = now + timedelta(seconds=seconds), f"in {spoken_duration(seconds)}"
        else:
            hour, minute = int(slots.get("hour", 0)), int(slots.get("minute", 0))
            due = next_time_of_day(now, hour, minute, slots.get("ampm"))
            said = when(due, now)
        reminder = keep_timer(context, int((due - now).total_seconds()), due, task)
        return Reply(f"I'll remind you to {task} {said}.", events=(
            ("reminder", {"action": "set", "id": reminder.id, "text": task, "due": due.isoformat()}),))

    @staticmethod
    def _cancel(words: str, reminders: list[Timer], context: SkillContext) -> Reply:
        if not reminders:
            return Reply("You have no reminders.")
        wanted = told_back(words.strip(" .,!?"))

        def likeness(reminder: Timer) -> float:
            if wanted and wanted in reminder.text:
                return 1.0
            return difflib.SequenceMatcher(None, wanted, reminder.text).ratio()

        best = max(reminders, key=likeness)
        if likeness(best) < CANCEL_LIKENESS:
            return Reply(f"I have no reminder about {wanted}.")
        context.session.timers = [t for t in context.session.timers if t is not best]
        context.persistence.save_state(context.session)
        return Reply(f"I cancelled the reminder to {best.text}.", events=(
            ("reminder", {"action": "cancel", "id": best.id, "text": best.text}),))


def reminder_announcement(reminder: Timer) -> str:
    return f"A reminder: {reminder.text}."
