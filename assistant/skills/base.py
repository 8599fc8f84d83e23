"""The one interface every skill implements, and the registry that dispatches to them."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from assistant.intents.router import IntentMatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkillContext:
    now: datetime
    """Wall-clock time at the moment of the request (audio time based, so file mode is repeatable)."""

    assistant_name: str
    """What the assistant is called right now."""

    last_reply: str
    """The last thing said, for Repeat."""

    examples: Callable[[], dict[str, list[str]]]
    """Example sentences per intent, for Help."""


@dataclass(frozen=True)
class Reply:
    text: str
    """What to say; empty means say nothing."""

    stop_speaking: bool = False
    """Interrupt whatever is playing (Stop)."""

    effects: dict[str, object] = field(default_factory=dict)
    """Extra facts for events and tests."""


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
        skill = self._by_intent.get(intent.name, self._fallback)
        return skill.handle(intent, context)
