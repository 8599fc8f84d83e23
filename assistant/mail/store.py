"""Where mail is read from and acted on: an IMAP server or a local Maildir, behind one interface.

Guarantees the mail skill builds on: listing and reading never set \\Seen (BODY.PEEK, Maildir
flags untouched); every server fault becomes a ``MailError`` with a sentence to say; a dropped
connection is reopened once on the next call, so the command after a server restart works.

The two kinds live in assistant/mail/imap.py and assistant/mail/maildir.py, imported when a
store of theirs is opened: a daemon reading a Maildir, or no mail, loads no IMAP or SMTP code.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

from assistant.config import MailAccountSettings, Settings
from assistant.errors import MailError
from assistant.mail.accounts import default_account
from assistant.mail.message import Envelope, MailText


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
            from assistant.mail.maildir import MaildirStore

            return MaildirStore("local", HOME_MAILDIR.expanduser())
        raise MailError("no mail account is set up: add a [mail.accounts.NAME] table to the config, or create ~/Maildir",
                        "No mail account is set up yet.")
    name, account = chosen
    if account.maildir:
        from assistant.mail.maildir import MaildirStore

        return MaildirStore(name, Path(account.maildir).expanduser())
    if not account.imap_host:
        raise MailError(f"mail account {name} has no imap_host or maildir to read from", "I have no inbox to read.")
    from assistant.mail.imap import ImapStore

    return ImapStore(name, account, timeout)


