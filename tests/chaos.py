"""kill -9 anywhere loses nothing: a scripted session run in file mode and killed with SIGKILL at
random moments, each run starting in the home the last one left (issue 27).

Shared by tests/test_chaos.py (which asserts) and bench/chaos.py (which reports the figures).
The session: the time, a timer, a reminder, a letter dictated and saved, the mail read and marked, a rename
(config file and state), and a second letter left open. After every kill the home is checked:
every sentence acknowledged by a ``letter append`` event is in a letter (open, unfinished or
saved), every timer acknowledged is still set with its due time, the config is readable with a
whole name, and the mailbox holds its message once. Each run's first "<name>, what time is it?"
must be answered with the time: after a restart it answers first.
"""

from __future__ import annotations

import json
import mailbox
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from speech import SpeechMaker

from assistant.letters.journal import Journal
from assistant.letters.model import Letter
from assistant.letters.shelf import Shelf

NAMES = ("Samantha", "Maya")
START = datetime(2026, 11, 25, 15, 10)
TIME_ANSWER = "It's ten past three in the afternoon."
FIRST_LETTER = ["I hope you are well.", "The garden is full of roses.", "Your mother sends her love."]
SECOND_LETTER = ["We walked by the river on Sunday.", "Please write back soon."]


def script(name: str, other: str) -> list[str | float]:
    """One session, from the name it answers to now; it renames itself to ``other`` on the way."""
    return [
        0.5, f"{name}, what time is it?", 5.0,
        f"{name}, set a timer for five hours.", 4.5,
        f"{name}, remind me in four hours to call Anna.", 5.0,
        f"{name}, take a letter to Tom.", 3.5,
        *[part for sentence in FIRST_LETTER for part in (sentence, 1.2)],
        "That's all.", 5.0, "Save it.", 4.0,
        f"{name}, read my email.", 6.0, "Mark it as read.", 4.0,
        f"{name}, I'll call you {other}.", 5.0, "Yes.", 5.0,
        f"{other}, take a letter to Anna.", 3.5,
        *[part for sentence in SECOND_LETTER for part in (sentence, 1.2)],
    ]


@dataclass
class Figures:
    runs: int = 0
    kills: int = 0
    """SIGKILLs that landed on a running process (each one checked to be running)."""
    answered_first: int = 0
    """Runs whose first reply was the time."""
    sentences_acknowledged: int = 0
    sentences_kept: int = 0
    letters_saved: int = 0
    letters_doubled: int = 0
    letters_empty: int = 0
    timers_acknowledged: int = 0
    timers_kept: int = 0
    configs_whole: int = 0
    mailbox_whole: int = 0
    problems: list[str] = field(default_factory=list)


class Home:
    """The XDG dirs and $HOME one user's runs share."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config"
        self.data = root / "data"
        self.state = root / "state"
        self.home = root / "home"
        for path in (self.config, self.data, self.state, self.home):
            path.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(self.home / "Maildir", create=True)
        message = EmailMessage()
        message["From"] = "Anna Field <anna@example.org>"
        message["To"] = "theodore@example.org"
        message["Subject"] = "Lunch on Friday"
        message["Message-ID"] = "<lunch-friday@example.org>"
        message.set_content("Shall we have lunch on Friday?")
        self.maildir.add(mailbox.MaildirMessage(message))

    def env(self) -> dict[str, str]:
        env = dict(os.environ, HOME=str(self.home), XDG_CONFIG_HOME=str(self.config), XDG_DATA_HOME=str(self.data),
                   XDG_STATE_HOME=str(self.state))
        env.pop("EARPIECE_CONFIG", None)
        return env

    @property
    def config_file(self) -> Path:
        return self.config / "earpiece" / "config.toml"

    @property
    def letters(self) -> Path:
        return self.data / "earpiece" / "letters"

    @property
    def journal(self) -> Path:
        return self.state / "earpiece" / "letters" / "current.jsonl"

    def name(self) -> str | None:
        """The name in the config, or None when the config is unreadable or the name half-written."""
        from assistant.config import load_settings
        from assistant.errors import EarpieceError

        if not self.config_file.exists():
            return NAMES[0]  # never renamed yet: the default config
        try:
            settings = load_settings(str(self.config_file))
        except EarpieceError:
            return None
        name = settings.assistant.name
        return name if name in NAMES and name.casefold() in settings.wake.words else None

    def open_letters(self) -> list[Letter]:
        """The letter being written and the unfinished ones."""
        current = Journal.recover(self.journal)
        return ([current[1]] if current is not None else []) + Shelf(self.journal).letters()

    def letter_texts(self) -> list[str]:
        """Every letter in the home, as text: saved, open and unfinished."""
        texts = [path.read_text(encoding="utf-8") for path in sorted(self.letters.glob("*.md"))] if self.letters.is_dir() else []
        return texts + [letter.render() for letter in self.open_letters()]

    def timers(self) -> list[tuple[int, str]]:
        path = self.state / "earpiece" / "state.json"
        try:
            return [(int(t["id"]), t["due"]) for t in json.loads(path.read_text())["timers"]]
        except FileNotFoundError:
            return []

    def messages(self) -> list[str]:
        box = mailbox.Maildir(self.home / "Maildir", create=False)
        found = [str(message["Message-ID"]) for message in box]
        for folder in box.list_folders():
            found += [str(message["Message-ID"]) for message in box.get_folder(folder)]
        return found


def _empty(markdown: str) -> bool:
    """A saved letter with nothing between its greeting and its sign-off."""
    lines = [line for line in markdown.splitlines()
             if line.strip() and not line.startswith(("# ", "Dear ")) and line.strip() != "With love,"]
    return not lines


def read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except ValueError:
            pass  # the line being written when the kill came
    return events


class Chaos:
    def __init__(self, root: Path, speech: SpeechMaker, seed: int = 20261206) -> None:
        self.home = Home(root)
        self.out = root / "runs"
        self.out.mkdir(parents=True, exist_ok=True)
        self.wavs = {name: speech.write(speech.scene(*script(name, other)), f"chaos-{name}.wav")
                     for name, other in (NAMES, NAMES[::-1])}
        self.rng = random.Random(seed)
        self.figures = Figures()
        self.saved_ids: set[str] = set()

    def run(self, index: int, kill_after: int | None) -> list[dict[str, Any]]:
        """One run from the name the config holds; killed after the ``kill_after``-th event."""
        name = self.home.name() or NAMES[0]
        events_path = self.out / f"events-{index}.jsonl"
        start = (START + timedelta(seconds=index)).isoformat()  # letter ids differ, timers stay due
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "run", "--input", str(self.wavs[name]), "--events", str(events_path),
             "--start-time", start], env=self.home.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.figures.runs += 1
        if kill_after is None:
            _, stderr = proc.communicate(timeout=300)
            if proc.returncode != 0:
                self.figures.problems.append(f"run {index} failed: {stderr[-500:]}")
        else:
            deadline = time.monotonic() + 120
            while len(read_events(events_path)) < kill_after and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(self.rng.uniform(0.0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                self.figures.kills += 1
            else:
                self.figures.problems.append(f"run {index} ended before its kill after event {kill_after}")
            proc.wait()
            proc.stderr.close()  # type: ignore[union-attr]
        events = read_events(events_path)
        self.check(index, events)
        return events

    def check(self, index: int, events: list[dict[str, Any]]) -> None:
        figures = self.figures
        replies = [e["text"] for e in events if e["type"] == "reply"]
        if replies and replies[0].startswith(TIME_ANSWER):  # perhaps with the unfinished letter offered
            figures.answered_first += 1
        else:
            figures.problems.append(f"run {index}: first reply {replies[:1]}")
        texts = " ".join(self.home.letter_texts())
        acknowledged = [e["text"] for e in events if e["type"] == "letter" and e["action"] == "append"]
        figures.sentences_acknowledged += len(acknowledged)
        kept = [text for text in acknowledged if text in texts]
        figures.sentences_kept += len(kept)
        if len(kept) < len(acknowledged):
            figures.problems.append(f"run {index}: lost {set(acknowledged) - set(kept)}")
        self.saved_ids |= {Path(e["text"]).stem for e in events if e["type"] == "letter" and e["action"] == "save"}
        timers = self.home.timers()
        # a reminder is a timer with words: kept in the same list, with its due time
        set_ = [(e["id"], e["due"]) for e in events if e["type"] in ("timer", "reminder") and e["action"] == "set"]
        figures.timers_acknowledged += len(set_)
        figures.timers_kept += sum(1 for timer in set_ if timer in timers)
        if any(timer not in timers for timer in set_):
            figures.problems.append(f"run {index}: timers {set_} not all in {timers}")
        if self.home.name() is not None:
            figures.configs_whole += 1
        else:
            figures.problems.append(f"run {index}: the config is unreadable or its name half-written")
        if self.home.messages() == ["<lunch-friday@example.org>"]:
            figures.mailbox_whole += 1
        else:
            figures.problems.append(f"run {index}: the mailbox holds {self.home.messages()}")

    def finish(self, index: int) -> None:
        """A last clean run settles what the kills left; then no letter is empty or doubled."""
        self.run(index, None)
        saved = sorted(self.home.letters.glob("*.md")) if self.home.letters.is_dir() else []
        self.figures.letters_saved = len(saved)
        self.figures.letters_empty = sum(1 for path in saved if _empty(path.read_text(encoding="utf-8")))
        self.figures.letters_empty += sum(1 for letter in self.home.open_letters() if letter.is_empty)
        # one file per letter: every saved file is a letter some run said it saved, once
        self.figures.letters_doubled = len(saved) - len({path.stem for path in saved} & self.saved_ids)

    def kills(self, count: int) -> Figures:
        """A clean run first (it shows where the script's events fall), then ``count`` killed runs."""
        reference = self.run(0, None)
        first_reply = next(i for i, e in enumerate(reference) if e["type"] == "reply")
        for index in range(1, count + 1):
            self.run(index, self.rng.randint(first_reply + 2, len(reference) - 3))
        self.finish(count + 1)
        return self.figures


def chaos(root: Path, speech: SpeechMaker, kills: int, homes: int = 2) -> Figures:
    """``kills`` killed runs shared among ``homes`` homes run side by side (one per core: the
    kills are as random, the wall time shorter); their figures added up."""
    from concurrent.futures import ThreadPoolExecutor

    shares = [kills // homes + (1 if i < kills % homes else 0) for i in range(homes)]
    runners = [Chaos(root / f"home-{i}", speech, seed=20261206 + i) for i in range(homes)]
    with ThreadPoolExecutor(homes) as pool:
        results = list(pool.map(lambda pair: pair[0].kills(pair[1]), zip(runners, shares)))
    total = Figures()
    for figures in results:
        for name, value in vars(figures).items():
            setattr(total, name, getattr(total, name) + value)
    return total
