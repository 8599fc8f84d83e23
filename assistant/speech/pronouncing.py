"""PocketSphinx's pronouncing dictionary, looked up in place instead of held in memory.

Each PocketSphinx decoder loads the whole CMU dictionary (134,860 entries) into its own memory:
22 MB a decoder (27 MB with the full dictionary against 5 MB with a few words, measured), and
the daemon runs two (the command grammar and the wake spotter), which need a few hundred words
between them. So the decoders start with no words and are given the ones their grammar and key
phrases use, looked up here: the file is mapped, not read, and its lines are sorted by word, so
a lookup is a binary search that touches a few pages.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from assistant.errors import ModelError


class PronouncingDictionary:
    """A CMU-format dictionary file (``word PH ON ES`` lines, variants as ``word(2)``, sorted
    by word), searched where it lies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with open(path, "rb") as file:
                self._data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:  # missing, unreadable or empty
            raise ModelError(f"cannot read the pronouncing dictionary {path}: {exc}") from None

    def entries(self, word: str) -> list[tuple[str, str]]:
        """Every pronunciation of ``word`` as (the dictionary's name for it, its phones):
        ``[("what", "W AH T"), ("what(2)", "HH W AH T")]``; empty when the word is not there."""
        key = word.lower().encode("utf-8")
        data = self._data
        low, high = 0, len(data)
        while low < high:  # the first line whose word is >= key
            middle = (low + high) // 2
            start = data.rfind(b"\n", 0, middle) + 1
            if self._word_at(start) < key:
                end = data.find(b"\n", middle)
                low = len(data) if end < 0 else end + 1
            else:
                high = start
        found: list[tuple[str, str]] = []
        position = low
        while position < len(data) and self._word_at(position) == key:
            end = data.find(b"\n", position)
            end = len(data) if end < 0 else end
            name, _, phones = data[position:end].decode("utf-8").partition(" ")
            found.append((name, phones.strip()))
            position = end + 1
        return found

    def phones(self, word: str) -> list[str] | None:
        """The first pronunciation's phones, or None when the word is not there."""
        entries = self.entries(word)
        return entries[0][1].split() if entries else None

    def __contains__(self, word: str) -> bool:
        return bool(self.entries(word))

    def _word_at(self, start: int) -> bytes:
        """The word (variant number dropped) of the line that starts at ``start``."""
        end = self._data.find(b" ", start, start + 256)
        name = self._data[start : end if end >= 0 else start]
        return name.split(b"(", 1)[0]

    def close(self) -> None:
        self._data.close()
