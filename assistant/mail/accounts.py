"""Mail accounts from the config, their passwords, and sending through SMTP.

Passwords: assistant/secrets.py.
"""

from __future__ import annotations

import os
import ssl
from email.message import EmailMessage

from assistant import secrets
from assistant.config import MailAccountSettings, Settings
from assistant.errors import MailError


def default_account(settings: Settings) -> tuple[str, MailAccountSettings] | None:
    accounts = list(settings.mail.accounts.items())
    return accounts[0] if accounts else None


def store_password(name: str, account: MailAccountSettings, secret: str) -> str:
    """Put the password in the system keyring (``earpiece mail login``); returns the backend's name."""
    return secrets.store_password("mail", name, account, secret, MailError)


def password(name: str, account: MailAccountSettings) -> str:
    return secrets.find_password("mail", name, account, MailError)


def send(name: str, account: MailAccountSettings, message: EmailMessage, timeout: float = 30) -> None:
    """Send through the account's SMTP server with TLS, STARTTLS or (loopback only) plain."""
    import smtplib  # here, not at the top: a daemon that never sends loads no SMTP code

    if not account.smtp_host:
        raise MailError(f"mail account {name} has no smtp_host", "This mail account can't send mail.")
    context = ssl_context(account)
    try:
        if account.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(account.smtp_host, account.smtp_port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=timeout)
        with client:
            if account.smtp_security == "starttls":
                client.starttls(context=context)
            if account.username:
                client.login(account.username, password(name, account))
            client.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"the mail server refused the password for {name}",
                        "The mail server didn't accept your password.") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"sending through {account.smtp_host} failed: {type(exc).__name__}: {exc}",
                        "I couldn't send it: the mail server can't be reached.") from None


def save_draft(name: str, account: MailAccountSettings, message: EmailMessage, timeout: float = 30) -> None:
    """APPEND the message to the account's Drafts folder, flagged \\Draft."""
    from assistant.mail.imap import ImapStore

    if not account.imap_host:
        raise MailError(f"mail account {name} has no imap_host", "This mail account has no server for drafts.")
    store = ImapStore(name, account, timeout)
    try:
        store.save_draft(bytes(message))
    finally:
        store.close()


def ssl_context(account: MailAccountSettings) -> ssl.SSLContext:
    """A verifying context (imaplib's and smtplib's defaults do not verify), plus the account's own CA."""
    try:
        return ssl.create_default_context(cafile=os.path.expanduser(account.ca_file) if account.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise MailError(f"cannot use ca_file {account.ca_file}: {exc}", "The mail certificate file is unusable.") from None
