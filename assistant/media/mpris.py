"""The session bus's media players, as MPRIS (org.mpris.MediaPlayer2) describes them: mpv,
Spotify, browsers and Rhythmbox all speak it.

jeepney's blocking connection fits the audio loop: every call is a local round trip of well
under a millisecond, bounded by a short timeout, so a player that hangs costs that timeout once
and is skipped, never the loop.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from jeepney import DBusAddress, DBusErrorResponse, Properties, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from assistant.errors import MediaError

log = logging.getLogger(__name__)

PREFIX = "org.mpris.MediaPlayer2."
PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"

CALL_TIMEOUT = 0.5
"""Seconds a player has to answer one call; it runs on the audio loop, so a hung player costs
this once and is then left out."""

COMMANDS = frozenset({"Play", "Pause", "PlayPause", "Stop", "Next", "Previous"})


@dataclass(frozen=True)
class PlayerInfo:
    bus_name: str
    """The player's name on the bus, e.g. "org.mpris.MediaPlayer2.mpv"."""

    status: str
    """"Playing", "Paused" or "Stopped"."""

    title: str = ""
    """The track's title from its metadata (xesam:title), if it has one."""

    artists: tuple[str, ...] = ()
    """xesam:artist."""

    volume: float | None = None
    """0..1 (a player may allow more); None where the player has no volume."""

    @property
    def name(self) -> str:
        """As a person would name it: "mpv", "spotify", "firefox" (an instance suffix dropped)."""
        return self.bus_name.removeprefix(PREFIX).split(".instance")[0]

    @property
    def playing(self) -> bool:
        return self.status == "Playing"


def pick(players: list[PlayerInfo]) -> PlayerInfo | None:
    """The player a command means: one that is playing, else a paused one, else any."""
    for wanted in ("Playing", "Paused"):
        for player in players:
            if player.status == wanted:
                return player
    return players[0] if players else None


class Mpris:
    """The session bus's media players, over one connection opened at first use (and again
    after it breaks)."""

    def __init__(self, address: str | None = None, timeout: float = CALL_TIMEOUT) -> None:
        self._address = address
        self._timeout = timeout
        self._connection: DBusConnection | None = None

    @property
    def configured(self) -> bool:
        """There is a session bus to ask (a headless machine may have none, and that is normal)."""
        return bool(self._address or os.environ.get("DBUS_SESSION_BUS_ADDRESS"))

    def players(self) -> list[PlayerInfo]:
        """Every MPRIS player on the bus; one that does not answer is left out."""
        names = self._call(message_bus.ListNames())[0]
        found = []
        for bus_name in sorted(n for n in names if n.startswith(PREFIX)):
            try:
                found.append(self.player(bus_name))
            except MediaError as exc:
                log.warning("media player %s: %s", bus_name, exc)
        return found

    def player(self, bus_name: str) -> PlayerInfo:
        values = self._call(Properties(_address(bus_name)).get_all())[0]
        metadata = _value(values.get("Metadata")) or {}
        artists = _value(metadata.get("xesam:artist")) or ()
        volume = _value(values.get("Volume"))
        return PlayerInfo(bus_name, str(_value(values.get("PlaybackStatus")) or "Stopped"),
                          str(_value(metadata.get("xesam:title")) or ""), tuple(str(a) for a in artists),
                          float(volume) if isinstance(volume, (int, float)) else None)

    def command(self, bus_name: str, method: str) -> None:
        """Play, Pause, PlayPause, Stop, Next or Previous."""
        if method not in COMMANDS:
            raise ValueError(f"not an MPRIS command: {method}")
        self._call(new_method_call(_address(bus_name), method))

    def set_volume(self, bus_name: str, volume: float) -> None:
        self._call(Properties(_address(bus_name)).set("Volume", "d", max(0.0, volume)))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _call(self, message: Any) -> tuple[Any, ...]:
        connection = self._connect()
        try:
            reply = connection.send_and_get_reply(message, timeout=self._timeout)
        except DBusErrorResponse as exc:
            raise MediaError(f"the player refused: {exc.name}: {' '.join(map(str, exc.data))}".strip()) from None
        except TimeoutError:
            raise MediaError(f"no answer within {self._timeout:g} s") from None
        except (OSError, ConnectionError) as exc:
            self.close()
            raise MediaError(f"the session D-Bus connection broke: {exc}") from None
        return tuple(reply.body)

    def _connect(self) -> DBusConnection:
        if self._connection is not None:
            return self._connection
        address = self._address or os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        if not address:
            raise MediaError("there is no session D-Bus (DBUS_SESSION_BUS_ADDRESS is not set), "
                             "so no media player can be reached")
        try:
            self._connection = open_dbus_connection(address)
        except Exception as exc:  # jeepney raises OSError, ValueError or its own errors for bad addresses
            raise MediaError(f"the session D-Bus at {address} cannot be reached: {exc}") from None
        return self._connection


def _address(bus_name: str) -> DBusAddress:
    return DBusAddress(PATH, bus_name=bus_name, interface=PLAYER)


def _value(variant: Any) -> Any:
    """A D-Bus variant's value: jeepney gives (signature, value) pairs."""
    return variant[1] if isinstance(variant, tuple) and len(variant) == 2 else variant
