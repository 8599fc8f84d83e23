"""sd_notify without libsystemd: READY, STATUS, WATCHDOG and STOPPING datagrams to $NOTIFY_SOCKET."""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = os.environ.get("WATCHDOG_USEC", "")
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else 0.0
        self._last_watchdog = 0.0
        self._last_status = ""

    def send(self, message: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), self._address)
        except OSError as exc:  # systemd gone or a bad path: never fatal
            log.debug("sd_notify %r failed: %s", message, exc)

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")
        self._last_status = status

    def status(self, status: str) -> None:
        if status != self._last_status:
            self.send(f"STATUS={status}")
            self._last_status = status

    def watchdog(self) -> None:
        """Called from the audio loop, so a stuck loop stops the pings and systemd restarts us."""
        if self.watchdog_interval and time.monotonic() - self._last_watchdog >= self.watchdog_interval:
            self.send("WATCHDOG=1")
            self._last_watchdog = time.monotonic()

    def stopping(self) -> None:
        self.send("STOPPING=1")
