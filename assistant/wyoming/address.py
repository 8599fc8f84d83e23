"""Wyoming addresses (tcp://HOST:PORT, unix://PATH), checked in one place: for the server's
own, and for engines on other machines named in the config."""

from __future__ import annotations

from urllib.parse import urlparse

SCHEMES = ("tcp://", "unix://")


def is_address(value: str) -> bool:
    """Does this setting name a Wyoming server rather than a local engine?"""
    return value.startswith(SCHEMES)


def address_problem(uri: str) -> str:
    """What is wrong with ``uri`` as a Wyoming address, in words; "" where nothing is."""
    parsed = urlparse(uri)
    if parsed.scheme == "tcp":
        try:
            port = parsed.port
        except ValueError:
            port = None
        if not parsed.hostname or port is None:
            return f'"{uri}" needs a host and a port, e.g. tcp://127.0.0.1:10700'
        return ""
    if parsed.scheme == "unix":
        return "" if parsed.path else f'"{uri}" needs a socket path, e.g. unix:///run/earpiece.sock'
    return f'"{uri}" is not a Wyoming address: give tcp://HOST:PORT or unix://PATH'
