"""A private session D-Bus with a real media player on it: mpv, whose MPRIS plugin (Debian
`mpv-mpris`, loaded from /etc/mpv/scripts) makes it org.mpris.MediaPlayer2.mpv.

Set-up as issue 29 checked it: `dbus-daemon --session --fork --print-address=1 --print-pid=1`,
then mpv with DBUS_SESSION_BUS_ADDRESS pointing at it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from jeepney import DBusAddress, Properties, new_method_call
from jeepney.io.blocking import open_dbus_connection

PLAYER = DBusAddress("/org/mpris/MediaPlayer2", bus_name="org.mpris.MediaPlayer2.mpv",
                     interface="org.mpris.MediaPlayer2.Player")


class SessionBus:
    def __init__(self) -> None:
        out = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.address, self.pid = out[0], int(out[1])

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


class Mpv:
    """mpv playing ``media`` in a loop on ``bus``; its state is read over MPRIS like any client would."""

    def __init__(self, bus: SessionBus, media: Path, title: str, env: dict[str, str] | None = None,
                 audio_out: str = "null") -> None:
        self.title = title
        self.bus_address = bus.address
        self.log = Path(tempfile.mkstemp(prefix="mpv-", suffix=".log")[1])
        self.proc = subprocess.Popen(
            ["mpv", "--no-video", "--no-config", "--no-terminal", f"--log-file={self.log}",
             "--script=/etc/mpv/scripts/mpris.so", f"--ao={audio_out}", "--loop=inf", "--volume=100",
             f"--force-media-title={title}", str(media)],
            env=dict(env or os.environ, DBUS_SESSION_BUS_ADDRESS=bus.address),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._connection = open_dbus_connection(bus.address)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mpv exited:\n{self.log.read_text(errors='replace')[-2000:]}")
            try:
                if self.status() == "Playing":
                    return
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError("mpv did not appear on the session bus as an MPRIS player")

    def _get(self, name: str):  # type: ignore[no-untyped-def]
        return self._connection.send_and_get_reply(Properties(PLAYER).get(name), timeout=2).body[0][1]

    def status(self) -> str:
        return str(self._get("PlaybackStatus"))

    def status_after(self, expected: str, timeout: float = 5.0) -> str:
        """The status once it is ``expected`` (or ``timeout`` passed): mpv's MPRIS methods return
        before the player has acted, and a loaded machine showed the old status right after."""
        deadline = time.monotonic() + timeout
        while (status := self.status()) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return status

    def volume(self) -> float:
        return float(self._get("Volume"))

    def set_volume(self, volume: float) -> None:
        self._connection.send_and_get_reply(Properties(PLAYER).set("Volume", "d", volume), timeout=2)

    def play(self) -> None:
        self._connection.send_and_get_reply(new_method_call(PLAYER, "Play"), timeout=2)

    def watch_volume(self) -> "VolumeWatch":
        return VolumeWatch(self)

    def stop(self) -> None:
        self._connection.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.unlink(missing_ok=True)


class VolumeWatch:
    """Samples the player's volume and status every few milliseconds from its own connection, to
    see what a listener hears while the assistant runs."""

    def __init__(self, player: Mpv) -> None:
        self.seen: list[tuple[float, float, str]] = []
        self._player = player
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "VolumeWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        connection = open_dbus_connection(self._player.bus_address)
        try:
            while not self._stop.is_set():
                volume = connection.send_and_get_reply(Properties(PLAYER).get("Volume"), timeout=2).body[0][1]
                status = connection.send_and_get_reply(Properties(PLAYER).get("PlaybackStatus"), timeout=2).body[0][1]
                self.seen.append((time.monotonic(), float(volume), str(status)))
                time.sleep(0.005)
        finally:
            connection.close()

    @property
    def volumes(self) -> list[float]:
        return [volume for _, volume, _ in self.seen]

    @property
    def statuses(self) -> list[str]:
        return [status for _, _, status in self.seen]
