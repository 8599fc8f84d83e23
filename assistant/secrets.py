"""Account passwords, for mail and calendar alike: from an environment variable, a command, the
system keyring (``earpiece mail login`` / ``earpiece calendar login``) or, discouraged, the
config file. They never appear in a log line, event or error message."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Callable, Protocol

from assistant.errors import EarpieceError

KEYRING_SERVICE = "earpiece"


class HasSecret(Protocol):
    username: str
    password_env: str
    password_command: str
    password: str


Failure = Callable[[str, str], EarpieceError]
"""Makes the error to raise from (detail, what is said aloud)."""


def keyring_user(kind: str, name: str, account: HasSecret) -> str:
    """The keyring entry of an account: kind, account name and login, so no two share one (mail
    keeps its entries of before calendars, without the kind)."""
    return f"{name}:{account.username}" if kind == "mail" else f"{kind}:{name}:{account.username}"


def store_password(kind: str, name: str, account: HasSecret, secret: str, failure: Failure) -> str:
    """Put the password in the system keyring; returns the backend's name."""
    import keyring
    from keyring.errors import KeyringError

    backend = keyring.get_keyring()
    if type(backend).__name__ == "Keyring" and "fail" in type(backend).__module__:
        raise failure("no system keyring is available (install and unlock one, e.g. gnome-keyring or kwallet), "
                      "or use password_env / password_command instead", "")
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(kind, name, account), secret)
    except (KeyringError, RuntimeError) as exc:
        raise failure(f"cannot store the password in the keyring: {exc}", "") from None
    return type(backend).__name__


def find_password(kind: str, name: str, account: HasSecret, failure: Failure) -> str:
    """The password of ``kind`` ("mail", "calendar") account ``name``, from the first source it names."""
    missing, unobtainable = f"I don't have the password for your {kind}.", f"I couldn't get the password for your {kind}."
    if account.password_env:
        value = os.environ.get(account.password_env)
        if value is None:
            raise failure(f"the password for {kind} account {name} should be in ${account.password_env}, which is not set",
                          missing)
        return value
    if account.password_command:
        try:
            result = subprocess.run(shlex.split(account.password_command), capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise failure(f"the password command for {kind} account {name} failed: {exc}", unobtainable) from None
        if result.returncode:
            raise failure(f"the password command for {kind} account {name} exited with {result.returncode}", unobtainable)
        return result.stdout.splitlines()[0] if result.stdout else ""
    if account.password:
        return account.password
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, keyring_user(kind, name, account))
    except Exception:  # no keyring backend on this machine
        stored = None
    if stored is None:
        raise failure(f"no password for {kind} account {name}: run 'earpiece {kind} login {name}', "
                      "or set password_env or password_command", missing)
    return stored
