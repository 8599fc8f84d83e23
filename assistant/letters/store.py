"""Finished letters on disk: Markdown for reading, .eml ready to send, in the letters dir."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from assistant.config import Settings, data_dir
from assistant.files import write_atomically
from assistant.letters.model import Letter


def letters_dir(settings: Settings) -> Path:
    return Path(settings.letters.dir).expanduser() if settings.letters.dir else data_dir() / "letters"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "letter"


def email_message(letter: Letter, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = letter.subject or f"A letter for {letter.recipient}"
    if sender:
        message["From"] = sender
    if letter.email:
        message["To"] = f"{letter.recipient} <{letter.email}>"
    message["Date"] = formatdate(localtime=True)
    domain = sender.rsplit("@", 1)[-1].strip(">") if "@" in sender else "earpiece.local"
    message["Message-ID"] = make_msgid(domain=domain)
    if letter.in_reply_to:
        message["In-Reply-To"] = letter.in_reply_to
        message["References"] = " ".join(part for part in (letter.references, letter.in_reply_to) if part)
    message.set_content(letter.render())
    return message


@dataclass(frozen=True)
class Saved:
    markdown: Path
    eml: Path


def save(letter: Letter, settings: Settings, sender: str) -> Saved:
    """Write the letter under its id: saving it again (after a crash) overwrites, never doubles."""
    folder = letters_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    eml = folder / f"{letter.id}.eml"
    write_atomically(eml, bytes(email_message(letter, sender)), private=False)
    markdown = folder / f"{letter.id}.md"  # last: its presence says the save was under way
    write_atomically(markdown, f"# Letter to {letter.recipient}\n\n{letter.render()}", private=False)
    return Saved(markdown, eml)


def saved_letters(settings: Settings) -> list[Path]:
    folder = letters_dir(settings)
    return sorted(folder.glob("*.md")) if folder.is_dir() else []
