"""A letter as the list of what was dictated, so "scratch that" is exact and replays are deterministic."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.letters.spoken import join

PARAGRAPH = "\n\n"


@dataclass
class Letter:
    id: str
    """Stable identifier: start time and recipient, e.g. 20261125-151000-tom."""

    recipient: str
    """Who it is to, as said or as in the address book."""

    email: str = ""
    """The recipient's address, when the address book has one."""

    greeting: str = ""
    """Salutation line, e.g. "Dear Tom,"."""

    sign_off: str = "With love,"
    """Closing line before the signature."""

    signature: str = ""
    """The name under the letter ("sign it from Theodore")."""

    started: datetime = field(default_factory=datetime.now)
    """When dictation began."""

    subject: str = ""
    """Email subject; empty means "A letter for <recipient>"."""

    in_reply_to: str = ""
    """Message-ID this letter answers (a reply to an email), for threading."""

    references: str = ""
    """The References header of a reply: the thread's Message-IDs, space separated."""

    pieces: list[str] = field(default_factory=list)
    """Dictated phrases and paragraph breaks (PARAGRAPH), in order; "scratch that" drops the last."""

    sent: bool = False
    """It went out by mail: a journal left by a crash after that only needs saving, not sending again."""

    def apply(self, op: dict[str, Any]) -> None:
        """One journal operation (also how live edits are made, so replay equals what happened)."""
        kind = op["op"]
        if kind == "append":
            self.pieces.append(op["text"])
        elif kind == "break":
            if self.pieces and self.pieces[-1] != PARAGRAPH:
                self.pieces.append(PARAGRAPH)
        elif kind == "scratch":
            if self.pieces:
                self.pieces.pop()
        elif kind == "replace":
            self._replace(op["old"], op["new"])
        elif kind == "sign":
            self.signature = op["name"]
        elif kind == "sent":
            self.sent = True

    def _replace(self, old: str, new: str) -> bool:
        pattern = re.compile(rf"\b{re.escape(old)}\b", re.IGNORECASE)
        for index in range(len(self.pieces) - 1, -1, -1):
            matches = list(pattern.finditer(self.pieces[index]))
            if matches:
                last = matches[-1]
                found = last.group(0)
                replacement = new[:1].upper() + new[1:] if found[:1].isupper() else new
                piece = self.pieces[index]
                self.pieces[index] = piece[: last.start()] + replacement + piece[last.end() :]
                return True
        return False

    def contains(self, word: str) -> bool:
        return any(re.search(rf"\b{re.escape(word)}\b", p, re.IGNORECASE) for p in self.pieces)

    @property
    def last_piece(self) -> str:
        return self.pieces[-1] if self.pieces else ""

    def paragraphs(self) -> list[str]:
        paragraphs: list[str] = [""]
        for piece in self.pieces:
            if piece == PARAGRAPH:
                paragraphs.append("")
            else:
                paragraphs[-1] = join(paragraphs[-1], piece)
        return [p for p in paragraphs if p.strip()]

    @property
    def is_empty(self) -> bool:
        """Nothing dictated: greeting and sign-off alone are no letter."""
        return not self.paragraphs()

    def body(self) -> str:
        return PARAGRAPH.join(self.paragraphs())

    def render(self) -> str:
        """The whole letter as plain text: greeting, paragraphs, sign-off and signature."""
        parts = [self.greeting] if self.greeting else []
        parts += self.paragraphs()
        closing = "\n".join(p for p in (self.sign_off, self.signature) if p)
        if closing:
            parts.append(closing)
        return PARAGRAPH.join(parts) + "\n"

    def as_ops(self) -> list[dict[str, Any]]:
        """Journal operations that rebuild the letter as it is now (a journal written anew)."""
        ops: list[dict[str, Any]] = [{"op": "start", **self.header()}]
        ops += [{"op": "break"} if piece == PARAGRAPH else {"op": "append", "text": piece} for piece in self.pieces]
        if self.signature:
            ops.append({"op": "sign", "name": self.signature})
        if self.sent:
            ops.append({"op": "sent"})
        return ops

    def header(self) -> dict[str, Any]:
        return {"id": self.id, "recipient": self.recipient, "email": self.email, "greeting": self.greeting,
                "sign_off": self.sign_off, "signature": self.signature, "started": self.started.isoformat(),
                "subject": self.subject, "in_reply_to": self.in_reply_to, "references": self.references}

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> "Letter":
        return cls(id=header["id"], recipient=header["recipient"], email=header.get("email", ""),
                   greeting=header.get("greeting", ""), sign_off=header.get("sign_off", ""),
                   signature=header.get("signature", ""), started=datetime.fromisoformat(header["started"]),
                   subject=header.get("subject", ""), in_reply_to=header.get("in_reply_to", ""),
                   references=header.get("references", ""))

    @property
    def is_reply(self) -> bool:
        return bool(self.in_reply_to) or self.subject.casefold().startswith("re:")

    @property
    def kind(self) -> str:
        """How to speak of it: "reply" or "letter"."""
        return "reply" if self.is_reply else "letter"


@dataclass(frozen=True)
class ReplyContext:
    """What a reply to an email needs to know about the message it answers."""

    recipient: str
    """The sender's name, as it will be spoken and greeted."""

    email: str
    """Where the reply goes (Reply-To, else From)."""

    subject: str
    """The original subject; "Re: " is added once."""

    message_id: str
    """The original Message-ID (In-Reply-To)."""

    references: tuple[str, ...] = ()
    """The original References, to which its Message-ID is appended."""

    uid: str = ""
    """The original's UID in the inbox, for the ``mail`` event."""
