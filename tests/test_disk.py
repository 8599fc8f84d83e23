"""A full or read-only disk under the letters: a specific spoken error, the letter kept, nothing
half-written (issue 27). On real file systems: small tmpfs mounts, filled or remounted read-only."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from conftest import read_events

from assistant.config import LettersSettings, Settings
from assistant.letters.journal import Journal
from assistant.letters.model import Letter
from assistant.letters.session import LetterDictation


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self) -> None:
        """Write until no byte more fits."""
        with open(self.path / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
            try:
                while True:
                    f.write(b"\0")
            except OSError:
                pass

    def free(self) -> None:
        (self.path / "filler").unlink()

    def read_only(self, on: bool = True) -> None:
        subprocess.run(["mount", "-o", f"remount,{'ro' if on else 'rw'}", str(self.path)], check=True)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root): {mounted.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_mid_letter_loses_no_sentence_and_the_journal_catches_up(small_disk: SmallDisk) -> None:
    journal_path = small_disk.path / "letters" / "current.jsonl"
    letter = Letter("20261201-100000-tom", "Tom", greeting="Dear Tom,")
    session = LetterDictation(letter, Journal.create(journal_path, letter), Settings())
    assert session.hear("We miss you very much.").say == ""
    small_disk.fill()
    roses = "The garden is full of roses. " * 200  # more than the journal's last page has room for
    outcome = session.hear(roses)
    assert "I can't write to my journal: the disk is full." in outcome.say
    assert {"action": "error", "text": "letter journal: the disk is full"} in outcome.events
    assert session.hear("Come home soon.").say == ""  # said once, not after every sentence
    assert letter.pieces == ["We miss you very much.", roses.strip(), "Come home soon."]
    small_disk.free()
    session.hear("Bring your guitar.")
    assert Journal.recover(journal_path)[1].pieces == [  # type: ignore[index]
        "We miss you very much.", roses.strip(), "Come home soon.", "Bring your guitar."]


def test_saving_to_a_full_or_read_only_disk_says_why_and_keeps_the_letter(small_disk: SmallDisk, tmp_path: Path) -> None:
    settings = Settings(letters=LettersSettings(dir=str(small_disk.path / "letters")))
    journal_path = tmp_path / "state" / "current.jsonl"
    letter = Letter("20261201-100000-tom", "Tom", greeting="Dear Tom,")
    session = LetterDictation(letter, Journal.create(journal_path, letter), settings)
    session.hear("We miss you very much. " * 2000)  # more than the disk holds
    (small_disk.path / "letters").mkdir()
    small_disk.fill()
    outcome = session.hear("Save it.")
    assert outcome.say == "I couldn't save the letter: the disk is full. It is still open, and safe in my journal."
    assert not outcome.done and journal_path.exists()
    assert [p.name for p in (small_disk.path / "letters").iterdir()] == []  # nothing half-written
    small_disk.free()
    small_disk.read_only()
    try:
        outcome = session.hear("Save it.")
        assert outcome.say == "I couldn't save the letter: the disk is read-only. It is still open, and safe in my journal."
    finally:
        small_disk.read_only(False)
    outcome = session.hear("Save it.")
    assert outcome.done and outcome.say == "Saved the letter to Tom."
    assert sorted(p.suffix for p in (small_disk.path / "letters").iterdir()) == [".eml", ".md"]
    assert not journal_path.exists()


def test_starting_a_letter_on_a_read_only_disk_says_so(cli, speech, small_disk: SmallDisk, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(small_disk.path))
    small_disk.read_only()
    try:
        events_path = tmp_path / "events.jsonl"
        wav = speech.write(speech.scene(0.5, "Samantha, take a letter to Tom.", 4.0), "start.wav")
        result = cli("run", "--input", wav, "--events", events_path)
    finally:
        small_disk.read_only(False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    events = read_events(events_path)
    replies = [e["text"] for e in events if e["type"] == "reply"]
    assert replies == ["Sorry, I can't start a letter: the disk is read-only."]
    assert any("cannot start the letter" in e["message"] for e in events if e["type"] == "error")
