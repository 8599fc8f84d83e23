"""A real Radicale CalDAV server on a loopback port, private to a test (PyPI `radicale`), with
htpasswd logins, seeded through the `caldav` library as any other client would.

Set-up as issue 29 checked it: `python -m radicale --storage-filesystem-folder=DIR --server-hosts
127.0.0.1:PORT --auth-type htpasswd --auth-htpasswd-filename F --auth-htpasswd-encryption plain`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

USER, PASSWORD = "theodore", "s3cret-cal"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Radicale:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "users").write_text(f"{USER}:{PASSWORD}\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", f"--storage-filesystem-folder={root / 'store'}",
             "--server-hosts", f"127.0.0.1:{self.port}", "--auth-type", "htpasswd",
             "--auth-htpasswd-filename", str(root / "users"), "--auth-htpasswd-encryption", "plain"],
            stdout=subprocess.DEVNULL, stderr=open(root / "radicale.log", "w"))
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Radicale did not start:\n" + (root / "radicale.log").read_text())
                time.sleep(0.05)

    def client(self):  # type: ignore[no-untyped-def]
        import caldav

        return caldav.DAVClient(self.url, username=USER, password=PASSWORD, enable_rfc6764=False)

    def calendar(self):  # type: ignore[no-untyped-def]
        principal = self.client().principal()
        calendars = principal.calendars()
        return calendars[0] if calendars else principal.make_calendar(name="Personal")

    def seed(self, local: ZoneInfo) -> None:
        """Wednesday 25 November 2026, as the tests' clock starts: a weekly standup (since 4 Nov),
        a birthday all day, a call set in New York's time, a dinner in the evening."""
        calendar = self.calendar()
        calendar.save_event(dtstart=datetime(2026, 11, 4, 9, 0, tzinfo=local), dtend=datetime(2026, 11, 4, 9, 30, tzinfo=local),
                            summary="Team standup", rrule={"FREQ": "WEEKLY"}, uid="standup@test")
        calendar.save_event(dtstart=date(2026, 11, 25), dtend=date(2026, 11, 26), summary="Anna's birthday",
                            uid="birthday@test")
        new_york = ZoneInfo("America/New_York")
        calendar.save_event(dtstart=datetime(2026, 11, 25, 9, 0, tzinfo=new_york),
                            dtend=datetime(2026, 11, 25, 10, 0, tzinfo=new_york), summary="Call with New York",
                            uid="call@test")
        calendar.save_event(dtstart=datetime(2026, 11, 25, 19, 30, tzinfo=local),
                            dtend=datetime(2026, 11, 25, 21, 0, tzinfo=local), summary="Dinner with Tom",
                            uid="dinner@test")

    def events(self) -> list:  # type: ignore[type-arg]
        return self.calendar().events()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
