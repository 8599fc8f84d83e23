"""Mail accounts from the config, their passwords, and sending through SMTP.

Passwords come from an environment variable, a command, or (discouraged) the config file;
they never appear in a log line, event or error message.
"""

from __future__ import annotations

import os
import shlex
import smtplib
import ssl
import subprocess
from email.message import EmailMessage

from assistant.config import MailAccountSettings, Settings
from assistant.errors import EarpieceError


class MailError(EarpieceError):
    """Mail could not be sent or read; the message is safe to say aloud."""


def default_account(settings: Settings) -> tuple[str, MailAccountSettings] | None:
    accounts = list(settings.mail.accounts.items())
    return accounts[0] if accounts else None


def password(name: str, account: MailAccountSettings) -> str:
    if account.password_env:
        value = os.environ.get(account.password_env)
        if value is None:
            raise MailError(f"the password for mail account {name} should be in ${account.password_env}, which is not set")
        return value
    if account.password_command:
        try:
            result = subprocess.run(shlex.split(account.password_command), capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailError(f"the password command for mail account {name} failed: {exc}") from None
        if result.returncode:
            raise MailError(f"the password command for mail account {name} exited with {result.returncode}")
        return result.stdout.splitlines()[0] if result.stdout else ""
    if account.password:
        return account.password
    try:
        import keyring

        stored = keyring.get_password("earpiece", f"{name}:{account.username}")
    except Exception:  # no keyring backend on this machine
        stored = None
    if stored is None:
        raise MailError(f"no password for mail account {name}: set password_env or password_command")
    return stored


def send(name: str, account: MailAccountSettings, message: EmailMessage, timeout: float = 30) -> None:
    """Send through the account's SMTP server with TLS, STARTTLS or (loopback only) plain."""
    if not account.smtp_host:
        raise MailError(f"mail account {name} has no smtp_host")
    context = ssl.create_default_context()
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
        raise MailError(f"the mail server refused the password for {name}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"sending through {account.smtp_host} failed: {type(exc).__name__}: {exc}") from None


def save_draft(name: str, account: MailAccountSettings, message: EmailMessage, folder: str = "Drafts",
               timeout: float = 30) -> None:
    """APPEND the message to the account's Drafts folder, flagged \\Draft."""
    import imaplib
    import time as _time

    if not account.imap_host:
        raise MailError(f"mail account {name} has no imap_host")
    context = ssl.create_default_context()
    try:
        if account.security == "tls":
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(account.imap_host, account.imap_port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(account.imap_host, account.imap_port, timeout=timeout)
            if account.security == "starttls":
                client.starttls(ssl_context=context)
        try:
            client.login(account.username, password(name, account))
            status, detail = client.append(folder, "(\\Draft)", imaplib.Time2Internaldate(_time.time()), bytes(message))
            if status != "OK":
                raise MailError(f"the mail server would not save the draft: {detail!r}")
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
    except imaplib.IMAP4.error as exc:
        raise MailError(f"the mail server refused the draft for {name}: {exc}") from None
    except (ssl.SSLError, OSError) as exc:
        raise MailError(f"cannot reach {account.imap_host}: {type(exc).__name__}: {exc}") from None
