"""GetTime and GetDate."""

from __future__ import annotations

from assistant.intents.numbers import part_of_day, spoken_date, spoken_time
from assistant.intents.router import IntentMatch
from assistant.skills.base import Reply, Skill, SkillContext


class ClockSkill(Skill):
    intents = frozenset({"GetTime", "GetDate"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        if intent.name == "GetTime":
            time = spoken_time(context.now)
            suffix = "" if time in ("noon", "midnight") else f" {part_of_day(context.now)}"
            return Reply(f"It's {time}{suffix}.")
        return Reply(f"It's {spoken_date(context.now)}.")
