"""An IMAP account as a mail store (imap_tools over imaplib, TLS verified)."""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import time
from typing import Callable, Sequence, TypeVar

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxLoginError

from assistant.config import MailAccountSettings
from assistant.errors import MailError
from assistant.mail.accounts import password, ssl_context
from assistant.mail.message import Envelope, MailText, envelope_of, read
from assistant.mail.store import MailStore

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECTION_ERRORS = (imaplib.IMAP4.abort, OSError, EOFError)
"""A dropped or unreachable server shows up as any of these (ssl.SSLError and timeouts are OSErrors)."""


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
