"""SetTimer and CancelTimer; the pipeline announces timers when they are due."""

from __future__ import annotations

from datetime import datetime, timedelta

from assistant.intents.numbers import cardinal, spoken_duration
from assistant.intents.router import IntentMatch
from assistant.skills.base import Reply, Skill, SkillContext
from assistant.state import Timer

MAX_SECONDS = 24 * 3600


class TimerSkill(Skill):
    intents = frozenset({"SetTimer", "CancelTimer"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        session = context.session
        if intent.name == "SetTimer":
            seconds = int(intent.slots.get("seconds", 0))
            if not 0 < seconds <= MAX_SECONDS:
                return Reply("I can set timers from one second up to a day.")
            timer = keep_timer(context, seconds, context.now + timedelta(seconds=seconds))
            return Reply(f"Timer set for {spoken_duration(seconds)}.", events=(
                ("timer", {"action": "set", "id": timer.id, "seconds": seconds, "due": timer.due.isoformat()}),))
        count = sum(1 for t in session.timers if not t.text)  # reminders are cancelled by their words
        if not count:
            return Reply("There's no timer running.")
        session.timers = [t for t in session.timers if t.text]
        context.persistence.save_state(session)
        return Reply("Timer cancelled." if count == 1 else f"I cancelled all {cardinal(count)} timers.")


def keep_timer(context: SkillContext, seconds: int, due: datetime, text: str = "") -> Timer:
    """A new timer (with ``text``, a reminder) among the session's, soonest first, and saved."""
    session = context.session
    timer = Timer(max((t.id for t in session.timers), default=0) + 1, seconds, due, text)
    session.timers = sorted([*session.timers, timer], key=lambda t: t.due)
    context.persistence.save_state(session)
    return timer


def announcement(timer: Timer) -> str:
    return f"Your {spoken_duration(timer.seconds)} timer is done."
