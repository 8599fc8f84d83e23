"""A local Maildir as a mail store (the zero-setup default), through the standard library's ``mailbox``."""

from __future__ import annotations

import email
import mailbox
import os
import time
from pathlib import Path
from typing import IO, Sequence

from assistant.errors import MailError
from assistant.mail.message import Envelope, MailText, envelope_of, read
from assistant.mail.store import MailStore


class MaildirStore(MailStore):
    """A local Maildir (the zero-setup default; fetchmail, mbsync or offlineimap fill it)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._files: dict[str, str] = {}
        """Where the last listing found each unread message: its headers are read from there,
        without ``mailbox`` listing the whole folder again."""

    def _box(self) -> mailbox.Maildir:
        if not (self.path / "cur").is_dir() and not (self.path / "new").is_dir():
            raise MailError(f"{self.path} is not a Maildir (it has no cur/ and new/)", "I can't find your mailbox.")
        return mailbox.Maildir(self.path, factory=None, create=False)

    def unread(self) -> list[str]:
        """From the file names alone (Maildir keeps the flags there): new/ is unread, cur/ unless
        it carries S. Newest first by delivery time (the file's mtime, as ``mailbox`` dates it)."""
        self._box()  # says so when it is no Maildir
        found: list[tuple[float, str]] = []
        files: dict[str, str] = {}
        for subdir in ("new", "cur"):
            try:
                entries = os.scandir(self.path / subdir)
            except FileNotFoundError:
                continue
            with entries:  # one entry at a time: a folder of 20,000 read messages is never held
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    key, _, info = entry.name.partition(MAILDIR_INFO)
                    if subdir == "cur" and "S" in info:
                        continue
                    try:
                        found.append((entry.stat().st_mtime, key))
                    except FileNotFoundError:  # moved away by another program meanwhile
                        continue
                    files[key] = entry.path
        self._files = files
        return [key for _, key in sorted(found, reverse=True)]

    def envelopes(self, uids: Sequence[str]) -> list[Envelope]:
        envelopes = []
        box: mailbox.Maildir | None = None
        for uid in uids:
            listed = self._files.get(uid)
            path = Path(listed) if listed else None
            try:
                if path is None or not path.exists():  # not listed, or flagged or moved since
                    box = box or self._box()
                    path = self.path / box._lookup(uid)  # type: ignore[attr-defined]  # how Maildir finds a key's file
                with open(path, "rb") as f:
                    header = _header_block(f)
            except (KeyError, OSError):  # moved away by another program meanwhile
                continue
            flags = path.name.partition(MAILDIR_INFO)[2]
            envelopes.append(envelope_of(email.message_from_bytes(header), uid, seen="S" in flags))
        return envelopes

    def fetch(self, uid: str) -> MailText:
        message = self._message(self._box(), uid)
        return read(message, uid, seen="S" in message.get_flags())

    def mark_seen(self, uid: str) -> None:
        box = self._box()
        message = self._message(box, uid)
        message.set_subdir("cur")
        message.add_flag("S")
        box[uid] = message

    def archive(self, uid: str) -> str:
        return self._move(uid, "Archive")

    def delete(self, uid: str) -> str:
        return self._move(uid, "Trash")

    def _move(self, uid: str, folder: str) -> str:
        box = self._box()
        message = self._message(box, uid)
        _folder(box, folder).add(message)  # copy first: a crash in between leaves a duplicate, never a loss
        box.discard(uid)
        return folder

    def save_sent(self, raw: bytes) -> None:
        message = mailbox.MaildirMessage(raw)
        message.set_subdir("cur")
        message.add_flag("S")
        _folder(self._box(), "Sent").add(message)

    def _message(self, box: mailbox.Maildir, uid: str) -> mailbox.MaildirMessage:
        try:
            return box.get_message(uid)
        except (KeyError, OSError):
            raise MailError(f"message {uid} is no longer in {self.path}", "That message is gone; it was moved or deleted.") from None

    def wait_for_change(self, timeout: float) -> None:
        """Poll new/ once a second: cheap, and a Maildir has no push."""
        new = self.path / "new"
        before = _mtime(new)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            if _mtime(new) != before:
                return


MAILDIR_INFO = ":2,"
"""What separates a Maildir file's unique name from its flags ("1700000000.M1P2.host:2,S")."""

HEADER_READ = 8192


def _header_block(f: IO[bytes]) -> bytes:
    """A message's header, read up to the blank line that ends it: not its body, which may be
    megabytes of attachment."""
    data = b""
    while True:
        chunk = f.read(HEADER_READ)
        data += chunk
        for end in (b"\r\n\r\n", b"\n\n"):
            at = data.find(end)
            if at >= 0:
                return data[: at + len(end)]
        if not chunk or len(data) > 1_000_000:
            return data


def _folder(box: mailbox.Maildir, name: str) -> mailbox.Maildir:
    """A Maildir++ subfolder, created on first use."""
    return box.get_folder(name) if name in box.list_folders() else box.add_folder(name)


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
