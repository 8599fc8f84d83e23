"""Ducking: music playing when the name is heard is lowered (or paused) so the user hears the
assistant and it hears them, and put back when the conversation ends.

What was changed is written to a state file before it is changed, so a crash or a kill never
leaves the music quiet or paused: the next start puts it back (``recover``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from assistant.config import MediaSettings
from assistant.errors import Complaint, MediaError
from assistant.files import write_atomically
from assistant.media.mpris import Mpris

log = logging.getLogger(__name__)

SAME_VOLUME = 0.005
"""Volumes this close are the one we set: anything else means the user changed it while ducked,
and their choice stands."""


@dataclass(frozen=True)
class Ducked:
    bus_name: str
    """The player."""

    volume: float | None
    """Its volume before (lowered) or None (paused)."""

    lowered_to: float | None = None
    """The volume it was lowered to: restored only if it still has it."""

    @property
    def paused(self) -> bool:
        return self.volume is None


class Ducker:
    """Lowers or pauses the playing players, remembers them, and puts them back."""

    def __init__(self, mpris: Mpris, settings: MediaSettings, state_path: Path | None = None) -> None:
        self.mpris = mpris
        self._settings = settings
        self._state_path = state_path
        self._ducked: dict[str, Ducked] = {}
        self._complaint = Complaint()

    @property
    def ducked(self) -> tuple[str, ...]:
        """The players held down now."""
        return tuple(self._ducked)

    def duck(self) -> tuple[list[str], str]:
        """Lower or pause every playing player. Returns the players ducked and a problem, if
        any (said once until ducking works again: a missing bus is no news at every wake)."""
        if self._settings.duck == "off" or self._ducked or not self.mpris.configured:
            return [], ""
        try:
            playing = [p for p in self.mpris.players() if p.playing]
        except MediaError as exc:
            self._complaint.failed(f"media: {exc}")
            return [], self._complaint.take()
        for player in playing:
            if self._settings.duck == "pause":
                self._ducked[player.bus_name] = Ducked(player.bus_name, None)
            elif player.volume is not None:
                lowered = round(player.volume * self._settings.duck_level, 4)
                self._ducked[player.bus_name] = Ducked(player.bus_name, player.volume, lowered)
        self._save()
        done, failed = [], False
        for held in list(self._ducked.values()):
            try:
                if held.paused:
                    self.mpris.command(held.bus_name, "Pause")
                else:
                    assert held.lowered_to is not None
                    self.mpris.set_volume(held.bus_name, held.lowered_to)
                done.append(held.bus_name)
            except MediaError as exc:
                del self._ducked[held.bus_name]
                self._complaint.failed(f"media: {exc}")
                failed = True
        if len(done) != len(playing):
            self._save()
        if not failed:
            self._complaint.worked()
        return done, self._complaint.take()

    def restore(self) -> list[str]:
        """Put back what ``duck`` changed; a player that is gone or that the user changed
        meanwhile is left as it is."""
        restored = []
        for held in self._ducked.values():
            try:
                if self._put_back(held):
                    restored.append(held.bus_name)
            except MediaError as exc:
                log.warning("media player %s cannot be put back: %s", held.bus_name, exc)
        self._ducked.clear()
        self._save()
        return restored

    def recover(self) -> list[str]:
        """At start: put back what a run that died while ducking left (its state file)."""
        if self._state_path is None or not self._state_path.exists():
            return []
        try:
            saved = json.loads(self._state_path.read_text(encoding="utf-8"))
            self._ducked = {item["bus_name"]: Ducked(**item) for item in saved.get("ducked", [])}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("the ducking state %s is unreadable (%s); it is dropped", self._state_path, exc)
            self._ducked = {}
        return self.restore()

    def user_played_or_paused(self, bus_name: str) -> None:
        """The user paused or played this player themselves: a pause of ours is theirs now, and
        is not undone at restore (a lowered volume still is)."""
        held = self._ducked.get(bus_name)
        if held is not None and held.paused:
            del self._ducked[bus_name]
            self._save()

    def volume_to_restore(self, bus_name: str) -> float | None:
        held = self._ducked.get(bus_name)
        return held.volume if held is not None else None

    def rebase(self, bus_name: str, volume: float) -> None:
        """"Louder" while lowered: this is the volume to go back to."""
        held = self._ducked.get(bus_name)
        if held is not None and not held.paused:
            self._ducked[bus_name] = replace(held, volume=volume)
            self._save()

    def _put_back(self, held: Ducked) -> bool:
        player = self.mpris.player(held.bus_name)
        if held.paused:
            if player.status != "Paused":
                return False  # the user played or stopped it meanwhile
            self.mpris.command(held.bus_name, "Play")
            return True
        if held.lowered_to is not None and (player.volume is None or abs(player.volume - held.lowered_to) > SAME_VOLUME):
            return False  # the user set another volume meanwhile
        assert held.volume is not None
        self.mpris.set_volume(held.bus_name, held.volume)
        return True

    def _save(self) -> None:
        if self._state_path is None:
            return
        try:
            if self._ducked:
                write_atomically(self._state_path, json.dumps({"ducked": [asdict(d) for d in self._ducked.values()]}))
            else:
                self._state_path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("the ducking state %s cannot be written: %s", self._state_path, exc)
