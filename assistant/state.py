"""What the assistant remembers between runs: volume, timers, and its name.

State lives in one JSON file in the state dir, written atomically (temp file, fsync,
rename) so a crash or power loss leaves the old or the new state, never half of one.
The name goes into the user's config file too, keeping their comments (tomlkit).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import tomlkit

from assistant.config import default_config_text
from assistant.errors import ConfigError
from assistant.files import write_atomically

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timer:
    id: int
    """Increasing number, so timers are told apart."""

    seconds: int
    """The duration asked for."""

    due: datetime
    """Wall-clock time when it goes off."""

    text: str = ""
    """A reminder's words ("call your mother"); empty for a plain timer."""


@dataclass
class Remembered:
    volume: float | None = None
    """Speech volume chosen by voice; None keeps the config's."""

    timers: list[Timer] = field(default_factory=list)
    """Running timers."""


class StateStore:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "state.json"

    def load(self) -> Remembered:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Remembered()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable state file %s: %s", self.path, exc)
            return Remembered()
        timers = []
        for item in raw.get("timers", []):
            try:
                timers.append(Timer(int(item["id"]), int(item["seconds"]), datetime.fromisoformat(item["due"]),
                                    str(item.get("text", ""))))
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring a malformed timer in %s: %r", self.path, item)
        volume = raw.get("volume")
        return Remembered(float(volume) if isinstance(volume, (int, float)) else None, timers)

    def save(self, state: Remembered) -> None:
        data: dict[str, Any] = {
            "volume": state.volume,
            "timers": [dict(asdict(t), due=t.due.isoformat()) for t in state.timers],
        }
        write_atomically(self.path, json.dumps(data, indent=1))


def edit_config(config_path: Path, change: Callable[[tomlkit.TOMLDocument], None]) -> None:
    """Apply ``change`` to the config file (the commented default if there is none), keeping
    the user's comments and layout, and write it atomically."""
    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else default_config_text()
        document = tomlkit.parse(text)
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(f"{config_path}: cannot update it: {exc}") from None
    change(document)
    write_atomically(config_path, tomlkit.dumps(document))


def set_wake_words(document: tomlkit.TOMLDocument, words: list[str]) -> None:
    wake = document.setdefault("wake", tomlkit.table())
    array = tomlkit.array()
    array.extend(dict.fromkeys(words))
    wake["words"] = array


def set_wake_sensitivity(document: tomlkit.TOMLDocument, phrase: str, value: float | None) -> None:
    """Give ``phrase`` its own sensitivity in [wake].sensitivities (None removes it)."""
    wake = document.setdefault("wake", tomlkit.table())
    table = wake.get("sensitivities")
    if table is None:
        if value is None:
            return
        table = tomlkit.inline_table()
        wake["sensitivities"] = table
    for key in [k for k in table if str(k).casefold() == phrase.casefold()]:
        del table[key]
    if value is not None:
        table[phrase] = value
    elif not table:
        del wake["sensitivities"]


def persist_name(config_path: Path, old_name: str, new_name: str) -> None:
    """Set [assistant].name and swap the old name for the new one in [wake].words."""

    def change(document: tomlkit.TOMLDocument) -> None:
        document.setdefault("assistant", tomlkit.table())["name"] = new_name
        words = [str(w) for w in document.get("wake", {}).get("words", [old_name.casefold()])]
        new_word = new_name.casefold()
        replaced = [new_word if w.casefold() == old_name.casefold() else w for w in words]
        set_wake_words(document, replaced if new_word in replaced else [new_word, *replaced])

    edit_config(config_path, change)


class FilePersistence:
    """Saves volume and timers to the state file, and a new name to the config file."""

    def __init__(self, store: StateStore, config_path: Path) -> None:
        self.store = store
        self.config_path = config_path

    def save_state(self, session: Any) -> None:
        self.store.save(Remembered(session.volume, list(session.timers)))

    def save_name(self, old: str, new: str) -> None:
        persist_name(self.config_path, old, new)
