"""Events: everything that happens, as JSON lines stamped with audio time.

The monitor, the tests and the benchmarks all read this one stream, so an event's
fields are part of the outside contract (see ../shared/design/contract.md).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    type: str
    """Event type, e.g. "wake" or "intent"."""

    t: float
    """Seconds of input audio consumed when it happened."""

    data: Mapping[str, Any] = field(default_factory=dict)
    """Type-specific fields, plain JSON values."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "t": round(self.t, 3), **self.data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


Subscriber = Callable[[Event], None]


class EventBus:
    """Fans events out to subscribers; a failing subscriber is logged, never fatal."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def emit(self, type_: str, t: float, **data: Any) -> Event:
        event = Event(type_, t, data)
        log.debug("event %s", event.to_json())
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a monitor or writer must not take the assistant down
                log.exception("event subscriber failed on %s", event.type)
        return event


class JsonLinesWriter:
    """Writes each event as one flushed JSON line, so a crash loses at most the line being written."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def __call__(self, event: Event) -> None:
        self._stream.write(event.to_json() + "\n")
        self._stream.flush()


class EventLog:
    """Keeps events in memory: for tests, benchmarks and 'repeat'-style lookbacks."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of_type(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]
