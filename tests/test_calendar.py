"""The calendar by voice, against a real Radicale CalDAV server on loopback (and a local .ics
file): `earpiece run` on spoken WAVs, in Berlin's time zone, on Wednesday 25 November 2026."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from calendarserver import PASSWORD, USER, Radicale
from speech import Voice
from test_skills import of, read_events, run

SLOW = Voice("en-us", 140, 50)
"""Titles are free words Whisper must get right letter by letter: at 160 wpm tiny.en reads "add
lunch with Anna" as "Adlunch, we landed" (docs/benchmarks.md, the intents bench, has the rate)."""


def said_slowly(cli, speech, tmp_path: Path, name: str, *scene, config: Path) -> list[dict]:  # type: ignore[no-untyped-def]
    wav = speech.write(speech.scene(*scene, voice=SLOW), f"{name}.wav")
    events = tmp_path / f"{name}.jsonl"
    cli("--config", config, "run", "--input", wav, "--events", events, "--start-time", START.isoformat(), check=True)
    return read_events(events)

from assistant.calendar.sources import open_calendars
from assistant.config import load_settings

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 25, 15, 10)
"""Wednesday, ten past three in the afternoon, Berlin time."""


@pytest.fixture()
def radicale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TZ", "Europe/Berlin")
    server = Radicale(tmp_path / "radicale")
    server.seed(BERLIN)
    yield server
    server.stop()


def account(tmp_path: Path, url: str, password: str = PASSWORD, extra: str = "") -> Path:
    config = tmp_path / "calendar.toml"
    config.write_text(f'[calendar]\nannounce = 10\n[calendar.accounts.home]\nurl = "{url}"\nusername = "{USER}"\n'
                      f'password_env = "CAL_PASSWORD"\n{extra}')
    return config


@pytest.fixture()
def config(tmp_path: Path, radicale: Radicale, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAL_PASSWORD", PASSWORD)
    return account(tmp_path, radicale.url)


def test_the_day_is_said_with_every_event_at_local_time(cli, speech, tmp_path: Path, config: Path) -> None:
    events = run(cli, speech, tmp_path, "today", 0.5, "Samantha, what's on my calendar today?", 9.0,
                 config=config, start=START)
    assert of(events, "intent", "name") == ["CalendarDay"]
    assert of(events, "reply", "text") == [
        "Today you have four events. All day, Anna's birthday. At nine in the morning, Team standup. "
        "At three in the afternoon, Call with New York. And at half past seven in the evening, Dinner with Tom."]


def test_recurring_events_are_expanded(config: Path, radicale: Radicale) -> None:
    calendars = open_calendars(load_settings(str(config)))
    wednesdays = [o.start for o in calendars.between(datetime(2026, 11, 30), datetime(2026, 12, 17))
                  if o.title == "Team standup"]
    # in this process's own time zone (the CLI runs above are in Berlin's)
    assert wednesdays == [datetime(2026, 12, day, 9, 0, tzinfo=BERLIN).astimezone().replace(tzinfo=None)
                          for day in (2, 9, 16)]


def test_next_meeting_and_am_i_free(cli, speech, tmp_path: Path, config: Path) -> None:
    events = run(cli, speech, tmp_path, "free", 0.5, "Samantha, when is my next meeting?", 7.0,
                 "Samantha, am I free at three?", 7.0, "Samantha, am I free tomorrow at ten?", 6.0,
                 config=config, start=START)
    assert of(events, "intent", "name") == ["NextEvent", "AmIFree", "AmIFree"]
    assert of(events, "reply", "text") == [
        "Your next event is Dinner with Tom, at half past seven in the evening.",
        "No, at three in the afternoon you have Call with New York, from three to four.",
        "Yes, you're free tomorrow at ten in the morning."]


def test_an_event_is_added_after_a_yes_once(cli, speech, tmp_path: Path, config: Path, radicale: Radicale) -> None:
    ask = ("Samantha, add lunch with Anna tomorrow at noon.", 6.0, "Yes.", 5.0)
    events = said_slowly(cli, speech, tmp_path, "add", 0.5, *ask, config=config)
    assert of(events, "intent", "name") == ["AddEvent", "Confirm"]
    assert of(events, "reply", "text") == ["Shall I add Lunch with anna, tomorrow at noon, for an hour?",
                                           "I've added Lunch with anna, tomorrow at noon."]
    added = [e for e in radicale.events() if "Lunch" in str(e.icalendar_component.get("summary"))]
    assert len(added) == 1  # read back by another CalDAV client
    component = added[0].icalendar_component
    assert component["dtstart"].dt == datetime(2026, 11, 26, 12, 0, tzinfo=BERLIN)
    assert component["dtend"].dt - component["dtstart"].dt == timedelta(hours=1)
    again = said_slowly(cli, speech, tmp_path, "again", 0.5, *ask, config=config)
    assert of(again, "reply", "text")[-1] == "Lunch with anna is already on your calendar tomorrow at noon."
    assert len([e for e in radicale.events() if "Lunch" in str(e.icalendar_component.get("summary"))]) == 1


def test_no_writes_without_a_yes(cli, speech, tmp_path: Path, config: Path, radicale: Radicale) -> None:
    before = len(radicale.events())
    events = said_slowly(cli, speech, tmp_path, "no", 0.5, "Samantha, add a haircut on Friday at ten thirty.", 6.0,
                         "No.", 5.0, config=config)
    assert of(events, "reply", "text") == ["Shall I add Haircut, on Friday at half past ten in the morning, for an hour?",
                                           "All right, I didn't add it."]
    assert len(radicale.events()) == before


def test_an_event_is_announced_before_it_starts(cli, speech, tmp_path: Path, config: Path) -> None:
    events = run(cli, speech, tmp_path, "announce", 70.0, config=config, start=datetime(2026, 11, 25, 19, 19))
    announced = of(events, "calendar")
    assert [(e["action"], e["title"]) for e in announced] == [("announce", "Dinner with Tom")]
    assert announced[0]["t"] == pytest.approx(60.0, abs=1.1)  # at 19:20, ten minutes before
    assert of(events, "reply", "text") == ["In ten minutes: Dinner with Tom."]


def test_a_wrong_password_and_a_server_down_are_said(cli, speech, tmp_path: Path, radicale: Radicale,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAL_PASSWORD", "wrong")
    events = run(cli, speech, tmp_path, "wrong", 0.5, "Samantha, what's on my calendar today?", 6.0,
                 config=account(tmp_path, radicale.url), start=START)
    assert of(events, "reply", "text") == ["The calendar server didn't accept your password."]
    assert any("refused the login" in m for m in of(events, "error", "message"))
    assert not any("wrong" in m for m in of(events, "error", "message"))
    monkeypatch.setenv("CAL_PASSWORD", PASSWORD)
    radicale.stop()
    events = said_slowly(cli, speech, tmp_path, "down", 0.5, "Samantha, add lunch with Anna tomorrow at noon.", 6.0,
                         "Yes.", 5.0, config=account(tmp_path, radicale.url))
    assert of(events, "reply", "text") == ["Shall I add Lunch with anna, tomorrow at noon, for an hour?",
                                           "I couldn't reach your calendar."]


def test_a_local_ics_file_is_read_and_added_to(cli, speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    ics = tmp_path / "mine.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:yoga@test\r\n"
                   "SUMMARY:Yoga\r\nDTSTART:20261126T080000\r\nDTEND:20261126T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    config = tmp_path / "ics.toml"
    config.write_text(f'[calendar.accounts.mine]\npath = "{ics}"\n')
    events = said_slowly(cli, speech, tmp_path, "ics", 0.5, "Samantha, what's on my calendar tomorrow?", 6.0,
                         "Samantha, schedule dinner with Tom tomorrow at seven pm.", 6.0, "Yes.", 5.0, config=config)
    assert of(events, "reply", "text")[0] == "Tomorrow you have one event. At eight in the morning, Yoga."
    assert of(events, "reply", "text")[-1] == "I've added Dinner with tom, tomorrow at seven in the evening."
    titles = [str(c.get("summary")) for c in icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")]
    assert titles == ["Yoga", "Dinner with tom"]
