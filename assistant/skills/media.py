"""The music on the headset: pause, play, next, previous, what's playing, louder and quieter,
for whichever MPRIS player is playing (or was, before the wake ducked it).

Commands that only change the music say nothing (the music is the answer) and end the
conversation, so it comes back up at once. A bare "louder" means the music while music plays,
and the assistant's voice otherwise ("speak louder" always means the voice).
"""

from __future__ import annotations

import logging

from assistant.config import MediaSettings
from assistant.errors import MediaError
from assistant.intents.router import IntentMatch
from assistant.media.ducking import Ducker
from assistant.media.mpris import PlayerInfo, pick
from assistant.skills.base import Reply, Skill, SkillContext

log = logging.getLogger(__name__)

NO_PLAYER = "No media player is running."
UNREACHABLE = "I can't reach your media players."

MAX_VOLUME = 1.0
"""Players allow more than 1 (mpv up to 1.3), but louder stops at full volume: beyond it music clips."""

_COMMANDS = {"MediaPause": "Pause", "MediaPlay": "Play", "MediaNext": "Next", "MediaPrevious": "Previous"}


class MediaSkill(Skill):
    intents = frozenset({*_COMMANDS, "MediaWhatsPlaying", "MediaLouder", "MediaQuieter", "VolumeUp", "VolumeDown"})

    def __init__(self, ducker: Ducker | None, settings: MediaSettings, voice_volume: Skill) -> None:
        self._ducker = ducker
        self._settings = settings
        self._voice_volume = voice_volume
        """Who answers VolumeUp/VolumeDown when they mean the assistant's voice."""

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        if intent.name in ("VolumeUp", "VolumeDown") and not self._music_on(intent):
            return self._voice_volume.handle(intent, context)
        if self._ducker is None or not self._ducker.mpris.configured:
            return Reply(UNREACHABLE)
        try:
            players = self._ducker.mpris.players()
            player = self._meant(players)
            if player is None:
                return Reply(NO_PLAYER)
            if intent.name == "MediaWhatsPlaying":
                return Reply(playing_now(player, held=player.bus_name in self._ducker.ducked))
            if intent.name in ("MediaLouder", "MediaQuieter", "VolumeUp", "VolumeDown"):
                return self._volume(player, up=intent.name in ("MediaLouder", "VolumeUp"))
            if intent.name == "MediaPlay" and intent.slots.get("what"):
                return Reply(f"I can't choose what to play. I can play, pause or skip what {player.name} has.")
            return self._command(player, _COMMANDS[intent.name])
        except MediaError as exc:
            log.warning("media: %s", exc)
            return Reply(UNREACHABLE, events=(("error", {"message": f"media: {exc}"}),))

    def _music_on(self, intent: IntentMatch) -> bool:
        """A bare "louder" is for the music while some plays (or was ducked at the wake)."""
        if intent.slots.get("of") == "voice" or self._ducker is None or not self._ducker.mpris.configured:
            return False
        if self._ducker.ducked:
            return True
        try:
            return any(player.playing for player in self._ducker.mpris.players())
        except MediaError:
            return False

    def _meant(self, players: list[PlayerInfo]) -> PlayerInfo | None:
        """The player ducked at the wake (it was playing), else the usual pick."""
        assert self._ducker is not None
        held = [p for p in players if p.bus_name in self._ducker.ducked]
        return held[0] if held else pick(players)

    def _command(self, player: PlayerInfo, method: str) -> Reply:
        assert self._ducker is not None
        if method in ("Pause", "Play"):
            self._ducker.user_played_or_paused(player.bus_name)
        self._ducker.mpris.command(player.bus_name, method)
        return Reply("", follow_up=False, events=(("media", {"action": method.lower(), "player": player.name}),))

    def _volume(self, player: PlayerInfo, up: bool) -> Reply:
        assert self._ducker is not None
        base = self._ducker.volume_to_restore(player.bus_name)
        current = base if base is not None else player.volume
        if current is None:
            return Reply(f"{player.name} has no volume I can change.")
        step = self._settings.step if up else -self._settings.step
        volume = round(min(MAX_VOLUME, max(0.0, current + step)), 3)
        if volume == round(current, 3):
            return Reply("The music is as loud as it goes." if up else "The music is already off.")
        if base is not None:
            self._ducker.rebase(player.bus_name, volume)  # set when the conversation ends, in a moment
        else:
            self._ducker.mpris.set_volume(player.bus_name, volume)
        action = "louder" if up else "quieter"
        return Reply("", follow_up=False, events=(("media", {"action": action, "player": player.name,
                                                            "volume": volume}),))


def playing_now(player: PlayerInfo, held: bool = False) -> str:
    """"Playing Clair de Lune by Debussy, on mpv." """
    what = player.title or "something without a title"
    if player.artists:
        what += " by " + " and ".join(player.artists)
    if player.playing or held:
        return f"Playing {what}, on {player.name}."
    if player.status == "Paused":
        return f"{what[0].upper()}{what[1:]} is paused, on {player.name}."
    return f"Nothing is playing on {player.name}."
