"""The address book: a small TOML file in the config dir (contacts.toml).

    [[contact]]
    name = "Tom"
    email = "tom@example.org"
    greeting = "Dear Tom,"        # optional; default "Dear <name>,"
    sign_off = "Love,"            # optional; default "With love,"
    aliases = ["my son"]          # optional: other ways you say their name
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ConfigError


@dataclass(frozen=True)
class Contact:
    name: str
    email: str = ""
    greeting: str = ""
    sign_off: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


class AddressBook:
    def __init__(self, contacts: list[Contact]) -> None:
        self.contacts = contacts

    @classmethod
    def load(cls, path: Path) -> "AddressBook":
        if not path.is_file():
            return cls([])
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the address book: {exc}") from None
        contacts = []
        for number, entry in enumerate(data.get("contact", []), start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ConfigError(f"{path}: contact {number} needs a name")
            contacts.append(Contact(entry["name"], str(entry.get("email", "")), str(entry.get("greeting", "")),
                                    str(entry.get("sign_off", "")), tuple(map(str, entry.get("aliases", [])))))
        return cls(contacts)

    def find(self, spoken: str) -> Contact | None:
        wanted = " ".join(spoken.casefold().replace(".", "").split())
        for contact in self.contacts:
            if wanted in (contact.name.casefold(), *(a.casefold() for a in contact.aliases)):
                return contact
        for contact in self.contacts:  # "Tom Smith" said as "Tom"
            if wanted and contact.name.casefold().split()[0] == wanted:
                return contact
        return None
