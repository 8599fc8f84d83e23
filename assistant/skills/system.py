"""The assistant's own business: its name, help, repeat, stop, and not understanding."""

from __future__ import annotations

from assistant.intents.router import IntentMatch
from assistant.skills.base import Reply, Skill, SkillContext

HELP_TOPICS = {
    "GetTime": "the time",
    "GetDate": "the date",
    "GetName": "my name",
    "Repeat": "to repeat what I said",
    "Stop": "to stop talking",
}


class SystemSkill(Skill):
    intents = frozenset({"GetName", "Help", "Repeat", "Stop"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        if intent.name == "GetName":
            return Reply(f"My name is {context.assistant_name}.")
        if intent.name == "Help":
            available = [topic for name, topic in HELP_TOPICS.items() if name in context.examples()]
            listing = ", ".join(available[:-1]) + f", or {available[-1]}" if len(available) > 1 else "".join(available)
            return Reply(f"Say {context.assistant_name}, then ask me for {listing}.")
        if intent.name == "Repeat":
            return Reply(context.last_reply or "I haven't said anything yet.")
        return Reply("", stop_speaking=True)


class UnknownSkill(Skill):
    intents = frozenset({"Unknown"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        return Reply("Sorry, I didn't catch that.")
