"""The assistant's own business: name, help, repeat, stop, sleep, volume, yes/no, not understanding."""

from __future__ import annotations

from assistant.intents.router import IntentMatch
from assistant.skills.base import Question, Reply, Skill, SkillContext

HELP_TOPICS = {
    "GetTime": "the time",
    "GetDate": "the date",
    "SetTimer": "a timer",
    "CheckMail": "your email",
    "CalendarDay": "your calendar",
    "MediaPause": "your music",
    "StartLetter": "a letter",
    "GetName": "my name",
}

VOLUME_STEP = 0.2


class SystemSkill(Skill):
    intents = frozenset({"GetName", "Help", "Repeat", "Stop", "Sleep", "VolumeUp", "VolumeDown", "Confirm", "Deny"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        session = context.session
        if intent.name == "GetName":
            return Reply(f"My name is {session.name}.")
        if intent.name == "Help":
            known = context.examples()
            topics = [topic for name, topic in HELP_TOPICS.items() if name in known]
            listing = ", ".join(topics[:-1]) + f", or {topics[-1]}" if len(topics) > 1 else "".join(topics)
            return Reply(f"Say {session.name}, then ask me for {listing}.")
        if intent.name == "Repeat":
            return Reply(session.last_reply or "I haven't said anything yet.")
        if intent.name == "Stop":
            return Reply("", stop_speaking=True)
        if intent.name == "Sleep":
            session.asleep = True
            return Reply(f"Going to sleep. Say {session.name} when you need me.")
        if intent.name in ("VolumeUp", "VolumeDown"):
            return self._volume(intent.name == "VolumeUp", context)
        return self._answer(intent.name == "Confirm", context)

    @staticmethod
    def _volume(up: bool, context: SkillContext) -> Reply:
        session = context.session
        before = session.volume
        session.volume = round(min(1.0, max(0.2, before + (VOLUME_STEP if up else -VOLUME_STEP))), 2)
        if session.volume == before:
            return Reply("That's as loud as I go." if up else "That's as quiet as I go.")
        context.persistence.save_state(session)
        return Reply("Is this better?" if up else "I'll speak more softly.")

    @staticmethod
    def _answer(yes: bool, context: SkillContext) -> Reply:
        question = context.session.pending
        if question is None:
            return Reply("There's nothing to confirm right now." if yes else "All right.")
        context.session.pending = None
        return question.on_yes(context) if yes else question.on_no(context)


class NameSkill(Skill):
    """SetName: asks first, then answers to the new name at once and remembers it."""

    intents = frozenset({"SetName"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        raw = str(intent.slots.get("name", "")).strip(" .,!?")
        new_name = " ".join(part.capitalize() for part in raw.split())
        if not new_name:
            return Reply("What would you like to call me?")
        if new_name.casefold() == context.session.name.casefold():
            return Reply(f"I'm already {new_name}.")

        def rename(ctx: SkillContext) -> Reply:
            old = ctx.session.name
            ctx.session.name = new_name
            words = [new_name.casefold() if w.casefold() == old.casefold() else w for w in ctx.session.wake_words]
            ctx.session.wake_words = tuple(dict.fromkeys([new_name.casefold(), *words] if new_name.casefold() not in words else words))
            ctx.persistence.save_name(old, new_name)
            return Reply(f"{new_name} it is. I'll answer to {new_name} from now on.")

        def keep(ctx: SkillContext) -> Reply:
            return Reply(f"All right, I'll stay {ctx.session.name}.")

        return Reply(f"You'd like to call me {new_name}? Say yes or no.", question=Question(rename, keep))


class UnknownSkill(Skill):
    intents = frozenset({"Unknown"})

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        return Reply("Sorry, I didn't catch that.")
