"""Mail accounts from the config, their passwords, and sending through SMTP.

Passwords come from an environment variable, a command, the system keyring (``earpiece mail
login``) or, discouraged, the config file;
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
from assistant.errors import MailError


def default_account(settings: Settings) -> tuple[str, MailAccountSettings] | None:
    accounts = list(settings.mail.accounts.items())
    return accounts[0] if accounts else None


KEYRING_SERVICE = "earpiece"


def keyring_user(name: str, account: MailAccountSettings) -> str:
    """The keyring entry of an account: account name and login, so two accounts never share one."""
    return f"{name}:{account.username}"


def store_password(name: str, account: MailAccountSettings, secret: str) -> str:
    """Put the password in the system keyring (``earpiece mail login``); returns the backend's name."""
    import keyring
    from keyring.errors import KeyringError

    backend = keyring.get_keyring()
    if type(backend).__name__ == "Keyring" and "fail" in type(backend).__module__:
        raise MailError("no system keyring is available (install and unlock one, e.g. gnome-keyring or kwallet), "
                        "or use password_env / password_command instead")
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(name, account), secret)
    except (KeyringError, RuntimeError) as exc:
        raise MailError(f"cannot store the password in the keyring: {exc}") from None
    return type(backend).__name__


def password(name: str, account: MailAccountSettings) -> str:
    if account.password_env:
        value = os.environ.get(account.password_env)
        if value is None:
            raise MailError(f"the password for mail account {name} should be in ${account.password_env}, which is not set",
                            "I don't have the password for your mail.")
        return value
    if account.password_command:
        try:
            result = subprocess.run(shlex.split(account.password_command), capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailError(f"the password command for mail account {name} failed: {exc}",
                            "I couldn't get the password for your mail.") from None
        if result.returncode:
            raise MailError(f"the password command for mail account {name} exited with {result.returncode}",
                            "I couldn't get the password for your mail.")
        return result.stdout.splitlines()[0] if result.stdout else ""
    if account.password:
        return account.password
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, keyring_user(name, account))
    except Exception:  # no keyring backend on this machine
        stored = None
    if stored is None:
        raise MailError(f"no password for mail account {name}: run 'earpiece mail login {name}', or set password_env or password_command",
                    "I don't have the password for your mail.")
    return stored


def send(name: str, account: MailAccountSettings, message: EmailMessage, timeout: float = 30) -> None:
    """Send through the account's SMTP server with TLS, STARTTLS or (loopback only) plain."""
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
    from assistant.mail.store import ImapStore

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
