"""Where mail is read from and acted on: an IMAP server or a local Maildir, behind one interface.

Guarantees the mail skill builds on: listing and reading never set \\Seen (BODY.PEEK, Maildir
flags untouched); every server fault becomes a ``MailError`` with a sentence to say; a dropped
connection is reopened once on the next call, so the command after a server restart works.
"""

from __future__ import annotations

import email
import imaplib
import logging
import mailbox
import os
import socket
import ssl
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Callable, Sequence, TypeVar

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxLoginError

from assistant.config import MailAccountSettings, Settings
from assistant.errors import MailError
from assistant.mail.accounts import default_account, password, ssl_context
from assistant.mail.message import Envelope, MailText, envelope_of, read

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECTION_ERRORS = (imaplib.IMAP4.abort, OSError, EOFError)
"""A dropped or unreachable server shows up as any of these (ssl.SSLError and timeouts are OSErrors)."""


class MailStore(ABC):
    """One account's inbox, seen from a voice assistant."""

    name: str
    """The account name from the config (for messages)."""

    @abstractmethod
    def unread(self) -> list[str]:
        """The UIDs of the unread messages in the inbox, newest first; no header is read (a
        SEARCH, or a Maildir's file names), so this stays cheap with thousands unread."""

    @abstractmethod
    def envelopes(self, uids: Sequence[str]) -> list[Envelope]:
        """The headers of these messages, in the order asked (those gone meanwhile left out); sets no flag."""

    def unseen(self, limit: int | None = None) -> list[Envelope]:
        """The newest ``limit`` unread messages (all where None), newest first, headers only."""
        return self.envelopes(self.unread()[:limit])

    @abstractmethod
    def fetch(self, uid: str) -> MailText:
        """One whole message, parsed for reading; sets no flag."""

    @abstractmethod
    def mark_seen(self, uid: str) -> None: ...

    @abstractmethod
    def archive(self, uid: str) -> str:
        """Move to the archive folder; returns its name."""

    @abstractmethod
    def delete(self, uid: str) -> str:
        """Move to the trash folder (recoverable); returns its name."""

    @abstractmethod
    def save_sent(self, raw: bytes) -> None:
        """Keep a copy of a sent message in the Sent folder, marked read."""

    def wait_for_change(self, timeout: float) -> None:
        """Block until the inbox may have changed or ``timeout`` passes (polling by default)."""
        time.sleep(timeout)

    def close(self) -> None:
        """Release the connection; the store may be used again (it reconnects)."""


HOME_MAILDIR = Path("~/Maildir")
"""Read when no account is configured: the zero-setup default (fetchmail, mbsync fill it)."""


def mail_configured(settings: Settings) -> bool:
    """Is there an inbox to watch (a configured account, or ~/Maildir)?"""
    return bool(settings.mail.accounts) or HOME_MAILDIR.expanduser().is_dir()


def open_store(settings: Settings, name: str | None = None, timeout: float = 15) -> MailStore:
    """The store of account ``name``; by default the first configured account, else ~/Maildir if it exists."""
    if name is not None:
        if name not in settings.mail.accounts:
            raise MailError(f'no mail account "{name}" (accounts: {", ".join(settings.mail.accounts) or "none"})',
                            "I don't know that mail account.")
        chosen: tuple[str, MailAccountSettings] | None = (name, settings.mail.accounts[name])
    else:
        chosen = default_account(settings)
    if chosen is None:
        if HOME_MAILDIR.expanduser().is_dir():
            return MaildirStore("local", HOME_MAILDIR.expanduser())
        raise MailError("no mail account is set up: add a [mail.accounts.NAME] table to the config, or create ~/Maildir",
                        "No mail account is set up yet.")
    name, account = chosen
    if account.maildir:
        return MaildirStore(name, Path(account.maildir).expanduser())
    if not account.imap_host:
        raise MailError(f"mail account {name} has no imap_host or maildir to read from", "I have no inbox to read.")
    return ImapStore(name, account, timeout)


class ImapStore(MailStore):
    def __init__(self, name: str, account: MailAccountSettings, timeout: float = 15) -> None:
        self.name = name
        self.account = account
        self.timeout = timeout
        self._box: BaseMailBox | None = None
        self._folders: dict[str, str] | None = None

    # --- connection ------------------------------------------------------------------------

    def _connect(self) -> BaseMailBox:
        account = self.account
        secret = password(self.name, account)
        try:
            if account.security == "tls":
                box: BaseMailBox = MailBox(account.imap_host, account.imap_port, timeout=self.timeout,
                                           ssl_context=ssl_context(account))
            elif account.security == "starttls":
                box = MailBoxStartTls(account.imap_host, account.imap_port, timeout=self.timeout,
                                      ssl_context=ssl_context(account))
            else:
                box = MailBoxUnencrypted(account.imap_host, account.imap_port, timeout=self.timeout)
            box.login(account.username, secret)
        except Exception as exc:
            raise self._explain(exc) from None
        log.info("connected to %s:%s as %s", account.imap_host, account.imap_port, account.username)
        return box

    def _call(self, action: Callable[[BaseMailBox], T]) -> T:
        """Run ``action`` on a live connection. A connection kept from before may have died
        (server restarted, NAT timeout): that costs one reconnect, not the user's command."""
        reused = self._box is not None
        for attempt in (1, 2):
            if self._box is None:
                self._box = self._connect()
            try:
                return action(self._box)
            except CONNECTION_ERRORS as exc:
                self._drop()
                if reused and attempt == 1:
                    log.info("the mail connection had gone (%s); reconnecting", type(exc).__name__)
                    continue
                raise self._explain(exc) from None
            except ImapToolsError as exc:
                raise MailError(f"the mail server refused: {exc}", "The mail server refused that.") from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            try:
                box.client.shutdown()
            except Exception:  # already gone
                pass

    def close(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            try:
                box.logout()
            except Exception:  # a dead connection has nothing to log out of
                pass

    def _explain(self, exc: BaseException) -> MailError:
        host = f"{self.account.imap_host}:{self.account.imap_port}"
        if isinstance(exc, MailError):
            return exc
        if isinstance(exc, MailboxLoginError) or (isinstance(exc, imaplib.IMAP4.error)
                                                   and not isinstance(exc, imaplib.IMAP4.abort)):
            return MailError(f"{host} refused the login for {self.account.username} (mail account {self.name}): "
                             "check the password", "The mail server didn't accept your password.")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return MailError(f"the certificate of {host} is not trusted ({exc.verify_message}); "
                             "if it is your own server, set ca_file for mail account " + self.name,
                             "I couldn't make a secure connection to the mail server.")
        if isinstance(exc, ssl.SSLError):
            return MailError(f"TLS with {host} failed: {exc.reason or exc}",
                             "I couldn't make a secure connection to the mail server.")
        if isinstance(exc, (ConnectionRefusedError, socket.gaierror, TimeoutError, socket.timeout)):
            return MailError(f"cannot reach the mail server {host}: {exc.strerror or type(exc).__name__}",
                             "I can't reach the mail server right now.")
        return MailError(f"lost the connection to {host}: {type(exc).__name__}: {exc}",
                         "I lost the connection to the mail server.")

    # --- folders ---------------------------------------------------------------------------

    def _special(self, box: BaseMailBox, use: str, fallback: str) -> str:
        """The folder marked with a special use (RFC 6154), else one named ``fallback`` (created if need be)."""
        if self._folders is None:
            self._folders = {}
            for folder in box.folder.list():
                for flag in folder.flags:
                    self._folders.setdefault(flag.lower(), folder.name)
                self._folders.setdefault(folder.name.lower(), folder.name)
        found = self._folders.get(use.lower()) or self._folders.get(fallback.lower())
        if found:
            return found
        box.folder.create(fallback)
        self._folders[fallback.lower()] = fallback
        return fallback

    # --- operations ------------------------------------------------------------------------

    def unread(self) -> list[str]:
        def search(box: BaseMailBox) -> list[str]:
            box.folder.set("INBOX")
            return sorted(box.uids(AND(seen=False)), key=int, reverse=True)  # UIDs grow with arrival

        return self._call(search)

    def envelopes(self, uids: Sequence[str]) -> list[Envelope]:
        if not uids:
            return []

        def headers(box: BaseMailBox) -> list[Envelope]:
            box.folder.set("INBOX")
            found = {m.uid: envelope_of(m.obj, m.uid or "", seen="\\Seen" in m.flags)
                     for m in box.fetch(uid_list=list(uids), mark_seen=False, headers_only=True, bulk=True)}
            return [found[uid] for uid in uids if uid in found]

        return self._call(headers)

    def fetch(self, uid: str) -> MailText:
        def one(box: BaseMailBox) -> MailText:
            box.folder.set("INBOX")
            for message in box.fetch(uid_list=[uid], mark_seen=False):
                return read(message.obj, uid, seen="\\Seen" in message.flags)
            raise MailError(f"message {uid} is no longer in the inbox", "That message is gone; it was moved or deleted.")

        return self._call(one)

    def mark_seen(self, uid: str) -> None:
        self._call(lambda box: (box.folder.set("INBOX"), box.flag(uid, "\\Seen", True)))

    def archive(self, uid: str) -> str:
        return self._move(uid, "\\Archive", "Archive")

    def delete(self, uid: str) -> str:
        return self._move(uid, "\\Trash", "Trash")

    def _move(self, uid: str, use: str, fallback: str) -> str:
        def move(box: BaseMailBox) -> str:
            folder = self._special(box, use, fallback)
            box.folder.set("INBOX")
            box.move(uid, folder)
            return folder

        return self._call(move)

    def save_sent(self, raw: bytes) -> None:
        self._call(lambda box: box.append(raw, self._special(box, "\\Sent", "Sent"), flag_set=["\\Seen"]))

    def save_draft(self, raw: bytes) -> None:
        self._call(lambda box: box.append(raw, self._special(box, "\\Drafts", "Drafts"), flag_set=["\\Draft"]))

    def wait_for_change(self, timeout: float) -> None:
        """IMAP IDLE on the inbox: returns when the server reports a change, or after ``timeout``.
        Keepalives ("* OK Still here") count as no change. A dead connection raises MailError."""
        def idle(box: BaseMailBox) -> None:
            box.folder.set("INBOX")
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                if _idle_round(box, min(left, IDLE_ROUND)):
                    return
        self._call(idle)


IDLE_ROUND = 120.0
"""Seconds per IDLE command; well under the 29 minutes RFC 2177 allows, so a lost notification costs at most this."""

CHANGES = ("EXISTS", "EXPUNGE", "FETCH")
"""Untagged responses that mean the inbox changed (keepalives and RECENT alone do not)."""


def _idle_round(box: BaseMailBox, timeout: float) -> bool:
    """One IDLE command; True when the inbox changed.

    A notification can arrive in the same packet as the "+ idling" continuation, and then it
    sits in imaplib's read buffer (or the TLS layer's) where select() cannot see it; waiting on
    the socket would miss it for a whole round. So buffered input ends the round at once, and
    every line read, including those read while leaving IDLE, is checked.
    """
    client = box.client
    for kind in (*CHANGES, "RECENT"):
        client.untagged_responses.pop(kind, None)
    box.idle.start()
    lines: list[bytes] = []
    try:
        if not _has_buffered_input(client):
            lines = box.idle.poll(timeout=timeout)  # a dropped server looks like an empty poll; stop() then raises
    finally:
        _, tail = box.idle.stop()
    seen = [line for line in (*lines, *tail) if isinstance(line, bytes)]
    return any(change.encode() in line for line in seen for change in CHANGES) or any(
        kind in client.untagged_responses for kind in CHANGES)


def _has_buffered_input(client: imaplib.IMAP4) -> bool:
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    old = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bool(client.file.peek(1))
    except OSError:  # nothing there (would block)
        return False
    finally:
        sock.settimeout(old)


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
