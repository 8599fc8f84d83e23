"""Reminders at a time of day or after a while, spoken to the real file-mode pipeline (`earpiece
run`), kept across restarts in the state file and said once when due, or at the next start."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_skills import of, run

from assistant.skills.reminders import next_time_of_day, told_back

AFTERNOON = datetime(2026, 11, 25, 16, 50)


@pytest.mark.parametrize("now, hour, minute, ampm, due", [
    (datetime(2026, 11, 25, 16, 50), 5, 0, None, datetime(2026, 11, 25, 17, 0)),   # "at five", at ten to five pm
    (datetime(2026, 11, 25, 18, 0), 5, 0, None, datetime(2026, 11, 26, 5, 0)),     # past five pm: five in the morning
    (datetime(2026, 11, 25, 9, 0), 5, 30, "pm", datetime(2026, 11, 25, 17, 30)),
    (datetime(2026, 11, 25, 9, 0), 7, 0, "am", datetime(2026, 11, 26, 7, 0)),
    (datetime(2026, 11, 25, 9, 0), 21, 15, None, datetime(2026, 11, 25, 21, 15)),
    (datetime(2026, 11, 25, 23, 0), 12, 0, None, datetime(2026, 11, 26, 0, 0)),     # "at twelve" near midnight
])
def test_a_time_of_day_is_its_next_occurrence(now: datetime, hour: int, minute: int, ampm: str | None,
                                              due: datetime) -> None:
    assert next_time_of_day(now, hour, minute, ampm) == due


def test_the_words_are_said_back_to_the_user() -> None:
    assert told_back("call my mother and tell me what she said") == "call your mother and tell you what she said"


def test_a_reminder_in_a_while_is_said_when_due(cli, speech, tmp_path: Path) -> None:
    events = run(cli, speech, tmp_path, "oven", 0.5, "Samantha, remind me in one minute to check the oven.", 64.0)
    intent = of(events, "intent")[0]
    assert intent["name"] == "SetReminder" and intent["slots"]["minutes"] == 1
    replies = of(events, "reply", "text")
    assert replies[0] == "I'll remind you to check the oven in one minute."
    assert replies[1] == "A reminder: check the oven."
    fired = [e for e in of(events, "reminder") if e["action"] == "fired"]
    assert len(fired) == 1 and fired[0]["t"] == pytest.approx(intent["t"] + 60, abs=0.05)


def test_reminders_at_a_time_of_day_are_listed_cancelled_and_kept_across_restarts(cli, speech, tmp_path: Path) -> None:
    first = run(cli, speech, tmp_path, "set", 0.5, "Samantha, remind me to call my mother at five.", 4.0,
                "Samantha, remind me at seven to feed the cat.", 4.0, start=AFTERNOON)
    assert of(first, "reply", "text") == ["I'll remind you to call your mother at five o'clock in the afternoon.",
                                          "I'll remind you to feed the cat at seven o'clock in the evening."]
    # a restart: listed from the state file; a timer cancelled leaves the reminders alone
    listed = run(cli, speech, tmp_path, "list", 0.5, "Samantha, set a timer for ten minutes.", 4.0,
                 "Samantha, cancel the timer.", 4.0, "Samantha, what are my reminders?", 5.0,
                 start=AFTERNOON + timedelta(minutes=2))
    assert of(listed, "reply", "text")[1:] == [
        "Timer cancelled.",
        "You have two reminders: call your mother at five o'clock in the afternoon, "
        "and feed the cat at seven o'clock in the evening."]
    cancel = run(cli, speech, tmp_path, "cancel", 0.5, "Samantha, cancel the reminder about the cat.", 4.0,
                 start=AFTERNOON + timedelta(minutes=4))
    assert of(cancel, "reply", "text") == ["I cancelled the reminder to feed the cat."]
    # down at five: the reminder is said at the next start, once
    later = run(cli, speech, tmp_path, "later", 4.0, start=AFTERNOON + timedelta(minutes=40))
    assert of(later, "reply", "text") == ["A reminder: call your mother."]
    assert of(later, "reminder")[0]["t"] < 0.1
    again = run(cli, speech, tmp_path, "again", 0.5, "Samantha, what are my reminders?", 4.0,
                start=AFTERNOON + timedelta(minutes=41))
    assert of(again, "reply", "text") == ["You have no reminders."] and not of(again, "reminder")
