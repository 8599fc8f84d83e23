"""The one interface every skill implements, the session they act on, and the registry."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Protocol

from assistant.intents.router import IntentMatch
from assistant.letters.model import ReplyContext
from assistant.state import Timer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    text: str
    """What to say; empty means say nothing."""

    stop_speaking: bool = False
    """Interrupt whatever is playing (Stop)."""

    question: "Question | None" = None
    """A yes/no question this reply asks; the next Confirm/Deny answers it."""

    events: tuple[tuple[str, dict[str, Any]], ...] = ()
    """Events (type, fields) the pipeline emits with this reply, e.g. ("mail", {"action": "delete", "uid": "7"})."""

    reply_to: ReplyContext | None = None
    """Start dictating an answer to this email (ReplyMail)."""

    resume_letter: str | None = None
    """Take up an unfinished letter: to this recipient, or the newest where empty."""

    follow_up: bool = True
    """False: no follow-up window after it, the conversation ends (a media command: the user
    went back to their music, which comes back up at once)."""


@dataclass(frozen=True)
class Question:
    """What to do on "yes" and on "no"."""

    on_yes: Callable[["SkillContext"], Reply]
    on_no: Callable[["SkillContext"], Reply]
    """Also what happens when the question lapses: not answering is not a yes."""

    misses: int = 0
    """Replies so far that were neither yes nor no nor another command."""


@dataclass
class Session:
    """The assistant's situation right now, owned by one pipeline and changed by skills."""

    name: str
    """What it calls itself."""

    wake_words: tuple[str, ...]
    """What it answers to."""

    volume: float
    """Speech volume 0..1."""

    timers: list[Timer] = field(default_factory=list)
    """Running timers, soonest first."""

    last_reply: str = ""
    """For Repeat."""

    pending: Question | None = None
    """An open yes/no question."""

    asleep: bool = False
    """Set by Sleep: no follow-up window until the wake word."""


class Persistence(Protocol):
    """Where skills save what must survive a restart."""

    def save_state(self, session: Session) -> None: ...
    def save_name(self, old: str, new: str) -> None: ...


@dataclass(frozen=True)
class SkillContext:
    now: datetime
    """Wall-clock time of the request (audio-time based, so file mode is repeatable)."""

    session: Session
    """The assistant's state, which skills may change."""

    examples: Callable[[], dict[str, list[str]]]
    """Example sentences per intent, for Help."""

    persistence: Persistence
    """Saves state and the name."""


class Skill(ABC):
    intents: frozenset[str]

    @abstractmethod
    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        """Answer one routed intent."""


class SkillRegistry:
    def __init__(self, skills: Iterable[Skill], fallback: Skill) -> None:
        self._by_intent: dict[str, Skill] = {}
        for skill in skills:
            for name in skill.intents:
                self._by_intent[name] = skill
        self._fallback = fallback

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        return self._by_intent.get(intent.name, self._fallback).handle(intent, context)
