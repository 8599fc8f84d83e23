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


EVENT_TYPES: Mapping[str, str] = {
    "listening": "the pipeline started (file, live or daemon, or again after a reload)",
    "speech_start": "someone started talking (the VAD's start of an utterance)",
    "speech_end": "the utterance ended (`t` is its end of speech)",
    "wake": "the name was heard: `word` (the wake phrase), `by` (`glance`, `neural`, `remote` or `reading`)",
    "wake_withdrawn": "a wake taken early turned out not to be one: `word`, `heard` (nothing is said)",
    "partial": "streaming text while listening for a command: `text`",
    "transcript": "the command (or dictated sentence) as read: `text`",
    "intent": "what it was routed to: `name`, `slots`",
    "reply": "what it says: `text`",
    "speak_start": "the reply starts on the speaker; `resumed: true` for the rest of a cut reply going on",
    "speak_end": "the reply ended: `interrupted` (true when barge-in cut it)",
    "timer": "`action` `set` (`id`, `seconds`, `due`) or `fired` (`id`, `seconds`)",
    "reminder": "`action` `set` (`id`, `text`, `due`), `cancel` (`id`, `text`) or `fired` (`id`, `text`)",
    "letter": ("dictation: `action` (`start`, `append`, `new_paragraph`, `scratch`, `replace`, `sign`, `read_back`, "
               "`save`, `send`, `cancel`, `discard` for an empty letter, `unfinished` for one kept from an "
               "earlier run, `resume`) and `text`"),
    "mail": ("`action` (`list` with `count`, `read`, `mark_read`, `archive`, `delete`, `reply`, `new` with "
             "`sender` and `subject`, `reconnected`), with the message's `uid`"),
    "calendar": "`action` `add` (an event written) or `announce` (one about to start), with `uid`, `title`, `start`",
    "media": ("a media player (MPRIS) was changed: `action` (`duck` and `restore` with `players`; `pause`, "
              "`play`, `next`, `previous`, `louder`, `quieter` with `player`, and `volume` for the last two)"),
    "device": "the headset went away or came back: `action` (`lost`, `back`), `input`, `output`",
    "mute": "the daemon's microphone was turned off (`earpiece mute`)",
    "unmute": "and back on",
    "reload": "the daemon re-read its config: `source` (the file, or `defaults`)",
    "error": "something failed and the loop goes on: `message`",
}
"""Every event type, and what its fields mean: the README's event list is made from this
(python -m assistant.docs), and tests/test_docs.py checks that every type emitted is here."""

Subscriber = Callable[[Event], None]


class EventBus:
    """Fans events out to subscribers; a failing subscriber is logged, never fatal."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def emit(self, type_: str, t: float, **data: Any) -> Event:
        if type_ not in EVENT_TYPES:
            log.error("event type %r is not in EVENT_TYPES (the documented contract)", type_)
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
