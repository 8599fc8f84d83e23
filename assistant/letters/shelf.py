"""Letters left unfinished: parked journals, offered at the first wake, taken up on request.

A run that dies while a letter is open leaves its journal (``current.jsonl``). The next start
does not ask about it into a silent room, nor hold every command hostage to the answer: the
journal is parked in ``unfinished/`` (one file per letter, so starting another letter never
overwrites it), the pipeline mentions it once at the first wake, and "continue my letter" moves
it back. Every move is a rename, so a kill -9 at any point leaves each letter in one place.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.files import fsync_dir
from assistant.letters.journal import Journal
from assistant.letters.model import Letter
from assistant.letters.store import letters_dir, save

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tidied:
    """What the start found in the journal a dead run left."""

    saved: Path | None = None
    """A letter that was saved or sent just before the crash, saved again in the same place."""

    discarded: Letter | None = None
    """A letter with nothing dictated, dropped."""

    parked: Letter | None = None
    """An unfinished letter, now on the shelf."""


class Shelf:
    def __init__(self, current: Path) -> None:
        self.current = current
        """The journal of the letter being dictated (at most one)."""
        self.folder = current.parent / "unfinished"
        """Parked journals, one per unfinished letter, named by the letter's id."""

    def tidy(self, settings: Settings, sender: str = "") -> Tidied:
        """At start: settle the journal a dead run left. A letter whose save had begun (its
        Markdown exists) or that was sent is saved again under the same name, so once in all; an
        empty one is dropped; any other is parked for the user to take up."""
        recovered = Journal.recover(self.current)
        if recovered is None:
            self.current.unlink(missing_ok=True)  # unreadable from its first line: nothing to keep
            return Tidied()
        journal, letter = recovered
        if letter.sent or (letters_dir(settings) / f"{letter.id}.md").exists():
            saved = save(letter, settings, sender)
            journal.close()
            log.info("the %s to %s was saved or sent before the last run ended: kept once, in %s",
                     letter.kind, letter.recipient, saved.markdown)
            return Tidied(saved=saved.markdown)
        if letter.is_empty:
            journal.close()
            log.info("dropped an empty %s to %s left by the last run", letter.kind, letter.recipient)
            return Tidied(discarded=letter)
        self.park(recovered)
        return Tidied(parked=letter)

    def park(self, recovered: tuple[Journal, Letter] | None = None) -> None:
        """Move the current journal onto the shelf (before another letter starts in its place);
        ``recovered``: its letter, where the caller has just read it."""
        recovered = recovered or Journal.recover(self.current)
        if recovered is None:
            return
        letter = recovered[1]
        if letter.is_empty:
            recovered[0].close()
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        os.replace(self.current, self.folder / f"{letter.id}.jsonl")
        fsync_dir(self.folder)
        fsync_dir(self.current.parent)

    def letters(self) -> list[Letter]:
        """The unfinished letters, oldest first."""
        found = []
        for path in sorted(self.folder.glob("*.jsonl")) if self.folder.is_dir() else []:
            recovered = Journal.recover(path)
            if recovered is not None:
                found.append(recovered[1])
        return sorted(found, key=lambda letter: letter.started)

    def take(self, recipient: str = "") -> tuple[Journal, Letter] | None:
        """Take up the newest unfinished letter (to ``recipient``, where given) as the current one."""
        letters = self.letters()
        if recipient:
            wanted = recipient.casefold()
            letters = [letter for letter in letters if wanted in letter.recipient.casefold()
                       or letter.recipient.casefold() in wanted]
        if not letters:
            return None
        self.park()  # never over a letter in progress
        os.replace(self.folder / f"{letters[-1].id}.jsonl", self.current)
        fsync_dir(self.current.parent)
        fsync_dir(self.folder)
        return Journal.recover(self.current)
