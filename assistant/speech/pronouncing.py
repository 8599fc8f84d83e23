"""PocketSphinx's pronouncing dictionary, looked up in place instead of held in memory.

Each PocketSphinx decoder loads the whole CMU dictionary (134,860 entries) into its own memory:
22 MB a decoder (27 MB with the full dictionary against 5 MB with a few words, measured), and
the daemon runs two (the command grammar and the wake spotter), which need a few hundred words
between them. So the decoders start with no words and are given the ones their grammar and key
phrases use, looked up here: the file's lines are sorted by word, so a lookup is a binary search
that reads a few hundred bytes at a time. The file is read, not mapped: mapped pages count in the
process's memory once touched, and the lookups of the grammar's words at start touched all
3.2 MB of it; pages read stay in the system's cache, shared, and given up under pressure.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.errors import ModelError

CHUNK = 512
"""Bytes read at a time: longer than any line of the dictionary (the longest has 97)."""


class PronouncingDictionary:
    """A CMU-format dictionary file (``word PH ON ES`` lines, variants as ``word(2)``, sorted
    by word), searched where it lies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self._size = os.fstat(self._fd).st_size
        except OSError as exc:  # missing or unreadable
            raise ModelError(f"cannot read the pronouncing dictionary {path}: {exc}") from None
        if self._size == 0:
            os.close(self._fd)
            raise ModelError(f"cannot read the pronouncing dictionary {path}: the file is empty")

    def entries(self, word: str) -> list[tuple[str, str]]:
        """Every pronunciation of ``word`` as (the dictionary's name for it, its phones):
        ``[("what", "W AH T"), ("what(2)", "HH W AH T")]``; empty when the word is not there."""
        key = word.lower().encode("utf-8")
        low, high = 0, self._size
        while low < high:  # the first line whose word is >= key
            start = self._line_start((low + high) // 2)
            line = self._line_at(start)
            if _word_of(line) < key:
                low = start + len(line) + 1
            else:
                high = start
        found: list[tuple[str, str]] = []
        position = low
        while position < self._size:
            line = self._line_at(position)
            if _word_of(line) != key:
                break
            name, _, phones = line.decode("utf-8").partition(" ")
            found.append((name, phones.strip()))
            position += len(line) + 1
        return found

    def phones(self, word: str) -> list[str] | None:
        """The first pronunciation's phones, or None when the word is not there."""
        entries = self.entries(word)
        return entries[0][1].split() if entries else None

    def __contains__(self, word: str) -> bool:
        return bool(self.entries(word))

    def _line_start(self, position: int) -> int:
        """Where the line holding byte ``position`` starts."""
        end = position
        while end > 0:
            begin = max(0, end - CHUNK)
            newline = os.pread(self._fd, end - begin, begin).rfind(b"\n")
            if newline >= 0:
                return begin + newline + 1
            end = begin
        return 0

    def _line_at(self, start: int) -> bytes:
        """The line that starts at ``start``, without its newline."""
        line = b""
        while start + len(line) < self._size:
            chunk = os.pread(self._fd, CHUNK, start + len(line))
            newline = chunk.find(b"\n")
            if newline >= 0:
                return line + chunk[:newline]
            line += chunk
        return line

    def close(self) -> None:
        os.close(self._fd)


def _word_of(line: bytes) -> bytes:
    """A line's word, its variant number dropped: ``what`` for ``what(2) HH W AH T``."""
    return line.split(b" ", 1)[0].split(b"(", 1)[0]
