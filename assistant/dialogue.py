"""The dialogue state machine, in one place.

idle ──wake──▶ listening ──utterance──▶ thinking ──reply──▶ speaking ──played──▶ follow-up ──timeout──▶ idle
 ▲                │ timeout, or the wake withdrawn                                  │ utterance: thinking
 └────────────────┘
StartLetter ──▶ dictating ⇄ speaking (read back, questions) ──"save it"/"send it"/"cancel"──▶ follow-up

All deadlines are in audio time, so file mode and live mode take the same path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

from assistant.config import WakeSettings

ANSWERS_BEFORE_LAPSE = 2
"""Replies that are neither yes, no nor another command before a question is dropped as a no:
asking again and again held the user hostage (eleven times in a row, issue 27). Any command
makes a question lapse at once."""

SELF_HEARING_GUARD = 0.25
"""Seconds after playback during which the mic stays gated (room echo, device latency)."""


class State(enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    FOLLOW_UP = "follow_up"
    DICTATING = "dictating"


@dataclass(frozen=True)
class Transition:
    before: State
    after: State
    reason: str


class Dialogue:
    def __init__(self, settings: WakeSettings, on_change: Callable[[State, State], None] | None = None) -> None:
        self._settings = settings
        self._on_change = on_change
        """Told every change of state (before, after): media ducking follows the conversation."""
        self.state = State.IDLE
        self._deadline = 0.0
        self._speaking_until = 0.0
        self._asleep = False
        self._dictating = False

    @property
    def needs_wake_word(self) -> bool:
        return self.state is State.IDLE

    def dictate(self, on: bool) -> None:
        """Dictation mode: every utterance is for the letter, with no timeouts, until it ends."""
        self._dictating = on
        if on and self.state is not State.SPEAKING:
            self._go(State.DICTATING, 0.0)
        elif not on and self.state is State.DICTATING:
            self._after_reply(0.0)

    @property
    def mic_gated(self) -> bool:
        """True while the assistant's own voice could reach the mic."""
        return self.state is State.SPEAKING

    def woke(self, t: float) -> None:
        self._go(State.LISTENING, t + self._settings.listen_timeout)

    def withdraw(self) -> None:
        """Back to idle at once, with no follow-up window, as if it had never woken: the wake was
        a mistake (the whole utterance shows the name was not said), or the talk around the
        assistant is not for it."""
        self._go(State.IDLE, 0.0)

    def thinking(self) -> None:
        self._go(State.THINKING, 0.0)

    def speaking(self, until: float) -> None:
        self._speaking_until = until
        self._go(State.SPEAKING, until + SELF_HEARING_GUARD)

    def done(self, t: float) -> None:
        """A request finished without speech (e.g. Stop): straight to follow-up or idle."""
        self._after_reply(t)

    def sleep(self) -> None:
        """After the current reply, skip the follow-up window: only the wake word counts."""
        self._asleep = True

    def barge_in(self, t: float) -> None:
        """The user talked over the reply: it stops, and what they say needs no wake word."""
        self._speaking_until = min(self._speaking_until, t)
        self._asleep = False
        if self._dictating:
            self._go(State.DICTATING, 0.0)
        else:
            self._go(State.FOLLOW_UP, t + max(self._settings.follow_up, self._settings.listen_timeout))

    def interrupt(self, t: float) -> None:
        self._speaking_until = min(self._speaking_until, t)
        self._after_reply(t)

    def tick(self, t: float, in_speech: bool) -> Transition | None:
        """Advance timers; returns the transition that happened, if any."""
        before = self.state
        if self.state is State.SPEAKING and t >= self._deadline:
            self._after_reply(t)
            return Transition(before, self.state, "played")
        if self.state in (State.LISTENING, State.FOLLOW_UP) and t >= self._deadline and not in_speech:
            self._go(State.IDLE, 0.0)
            return Transition(before, self.state, "timeout")
        return None

    @property
    def speaking_until(self) -> float:
        return self._speaking_until

    def _after_reply(self, t: float) -> None:
        if self._dictating:
            self._go(State.DICTATING, 0.0)
        elif self._asleep:
            self._asleep = False
            self._go(State.IDLE, 0.0)
        elif self._settings.follow_up > 0:
            self._go(State.FOLLOW_UP, t + self._settings.follow_up)
        else:
            self._go(State.IDLE, 0.0)

    def _go(self, state: State, deadline: float) -> None:
        before, self.state, self._deadline = self.state, state, deadline
        if state is not before and self._on_change is not None:
            self._on_change(before, state)
