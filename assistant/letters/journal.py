"""The letter journal: every change is a JSON line, fsynced before it is acknowledged.

After a crash, kill -9 or power loss, replaying the journal gives the letter exactly as it
was up to the last acknowledged change. A torn last line (the write that was cut off) is
ignored, and sequence numbers make a replay idempotent, so nothing is lost or doubled.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from assistant.files import fsync_dir, write_atomically
from assistant.letters.model import Letter

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seq = 0

    @classmethod
    def create(cls, path: Path, letter: Letter) -> "Journal":
        path.parent.mkdir(parents=True, exist_ok=True)
        journal = cls(path)
        with open(path, "w", encoding="utf-8") as f:
            f.flush()
        journal.write({"op": "start", **letter.header()})
        fsync_dir(path.parent)
        return journal

    def write(self, op: dict[str, Any]) -> None:
        """Append one operation and make it durable before returning."""
        self._seq += 1
        line = json.dumps({"seq": self._seq, **op}, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def rewrite(self, letter: Letter) -> None:
        """Write the journal anew from the letter (after writes the disk refused): a temporary
        file, fsynced, renamed over the old one, so a crash meanwhile leaves the old or the new."""
        ops = [{"seq": seq, **op} for seq, op in enumerate(letter.as_ops(), start=1)]
        write_atomically(self.path, _lines(ops), private=False)
        self._seq = len(ops)

    @classmethod
    def recover(cls, path: Path) -> tuple["Journal", Letter] | None:
        """Rebuild the letter from the journal; None when there is no usable journal."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        ops: dict[int, dict[str, Any]] = {}
        damaged = False
        for number, line in enumerate(lines, start=1):
            try:
                op = json.loads(line)
                if int(op["seq"]) in ops:
                    damaged = True
                ops.setdefault(int(op["seq"]), op)
            except (ValueError, KeyError, TypeError):
                damaged = True
                if number == len(lines):
                    log.info("ignoring the torn last line of %s", path)
                else:
                    log.warning("skipping unreadable line %d of %s", number, path)
        ordered = [ops[k] for k in sorted(ops)]
        if not ordered or ordered[0].get("op") != "start":
            return None
        letter = Letter.from_header(ordered[0])
        for op in ordered[1:]:
            letter.apply(op)
        if damaged:  # rewrite it clean, so the next append does not land on a torn line
            write_atomically(path, _lines(ordered), private=False)
        journal = cls(path)
        journal._seq = max(ops)
        return journal, letter

    def close(self) -> None:
        """The letter is saved, sent or cancelled: the journal has done its job. Where the disk
        will not let it go (read-only), it stays; the next start sees the letter saved and
        settles it (Shelf.tidy)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("the finished letter's journal %s stays: %s", self.path, exc)
            return
        fsync_dir(self.path.parent)


def _lines(ops: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(op, ensure_ascii=False) + "\n" for op in ops)
