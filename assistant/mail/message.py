"""Turning a MIME message into something worth hearing.

Real mail is messy: HTML-only bodies, RFC 2047 headers, raw 8-bit headers, unknown charsets,
bad base64, missing boundaries. Nothing here raises on such input; the worst case is a body
read as "I can't read the text of this message", and no character is silently dropped
(undecodable bytes fall back to Windows-1252, which maps every byte).
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from assistant.speech.spoken_text import link_host

LONG_URL = 30
"""URLs longer than this are read as "a link to host" instead of letter by letter."""

_QUOTE_INTRO = re.compile(r"^\s*(On .{4,200}wrote:|Am .{4,200}schrieb .*:|-{2,} ?(Original|Forwarded) Message ?-{2,})\s*$",
                          re.IGNORECASE)
_OUTLOOK_QUOTE = re.compile(r"^\s*From: .+$")
_URL = re.compile(r"<?(https?://|www\.)[^\s<>]+>?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SIGN_OFF_NOISE = re.compile(r"^\s*(Sent from my \w+.*|Get Outlook for \w+.*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Envelope:
    """What a listing says about a message: who, what, when; no body."""

    uid: str
    sender_name: str
    sender_address: str
    subject: str
    seen: bool = False
    message_id: str = ""
    reply_to: str = ""
    """The Reply-To address, when there is one (a reply goes there rather than to the sender)."""

    references: tuple[str, ...] = ()
    """The thread's Message-IDs (References), which a reply extends."""

    @property
    def sender(self) -> str:
        """The name to say: the display name, else the address's local part."""
        return self.sender_name or self.sender_address.split("@")[0] or "an unknown sender"

    @property
    def spoken_subject(self) -> str:
        return self.subject or "no subject"


@dataclass(frozen=True)
class Attachment:
    name: str
    size: int


@dataclass(frozen=True)
class MailText:
    """A message ready to be read aloud."""

    envelope: Envelope
    paragraphs: tuple[str, ...]
    attachments: tuple[Attachment, ...] = ()

    def chunks(self, limit: int) -> list[str]:
        """The body in pieces of about ``limit`` characters, split at paragraph ends."""
        pieces: list[str] = []
        current = ""
        for paragraph in self.paragraphs:
            if current and len(current) + len(paragraph) > limit:
                pieces.append(current)
                current = ""
            current = f"{current}\n\n{paragraph}" if current else paragraph
        if current:
            pieces.append(current)
        return pieces

    def attachment_note(self) -> str:
        if not self.attachments:
            return ""
        items = [f"{a.name or 'an unnamed file'}, {spoken_size(a.size)}" for a in self.attachments]
        if len(items) == 1:
            return f"There is one attachment: {items[0]}."
        return f"There are {len(items)} attachments: " + "; ".join(items) + "."


def parse(raw: bytes) -> Message:
    """Parse bytes leniently (compat32 keeps raw 8-bit headers for ``header_text`` to repair)."""
    return email.message_from_bytes(raw)


def header_text(value: object) -> str:
    """A header as readable text: RFC 2047 decoded, raw 8-bit repaired, whitespace folded."""
    if value is None:
        return ""
    if isinstance(value, Header):  # compat32 wraps raw 8-bit header bytes as charset "unknown-8bit"
        return _decoded_words(decode_header(value))
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # raw 8-bit bytes smuggled in as surrogates
        text = _decode_bytes(text.encode("ascii", "surrogateescape"), None)
    try:
        parts = decode_header(text)
    except Exception:  # a malformed encoded word: read it as it stands
        return " ".join(text.split())
    return _decoded_words(parts)


def _decoded_words(parts: list[tuple[bytes | str, str | None]]) -> str:
    """decode_header's pieces joined into one line of text, each in its own charset."""
    text = "".join(_decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in parts)
    return " ".join(text.split())


def envelope_of(message: Message, uid: str, seen: bool = False) -> Envelope:
    name, address = "", ""
    try:
        pairs = getaddresses([header_text(message.get("From"))])
        if pairs:
            name, address = pairs[0]
    except Exception:  # an unparsable From: keep what can be said
        name = header_text(message.get("From"))
    return Envelope(uid=uid, sender_name=name.strip(' "'), sender_address=address, subject=header_text(message.get("Subject")),
                    seen=seen, message_id=str(message.get("Message-ID", "")).strip(),
                    reply_to=parseaddr(header_text(message.get("Reply-To")))[1],
                    references=tuple(str(message.get("References", "")).split()))


def read(message: Message, uid: str, seen: bool = False) -> MailText:
    """The envelope, the body as clean paragraphs, and the attachments (named, never read)."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    for part in message.walk() if message.is_multipart() else [message]:
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        kind = part.get_content_type()
        if filename or disposition == "attachment" or not kind.startswith("text/"):
            if part is message and not filename and kind.startswith("multipart/"):
                continue
            payload = _payload(part)
            attachments.append(Attachment(header_text(filename) if filename else "", len(payload)))
            continue
        text = _decode_bytes(_payload(part), part.get_content_charset())
        if kind == "text/html":
            html.append(_html_to_text(text))
        else:
            plain.append(text)
    body = "\n\n".join(plain) if plain else "\n\n".join(html)
    return MailText(envelope_of(message, uid, seen), tuple(clean_paragraphs(body)), tuple(attachments))


def clean_paragraphs(body: str) -> list[str]:
    """Drop what nobody wants read aloud: quoted replies, signatures, phone footers, long URLs."""
    kept: list[str] = []
    body = _CONTROL.sub("", body.replace("\r\n", "\n").replace("\r", "\n"))
    for line in body.split("\n"):
        stripped = line.strip()
        if line.rstrip() == "--" or line == "-- ":
            break  # the signature separator: the rest is the signature
        if _QUOTE_INTRO.match(line) or (_OUTLOOK_QUOTE.match(line) and kept and not kept[-1].strip()):
            break  # what follows is the message being replied to
        if stripped.startswith(">"):
            continue
        if _SIGN_OFF_NOISE.match(line):
            continue
        kept.append(_URL.sub(_spoken_url, line))
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", "\n".join(kept)):
        text = " ".join(block.split())
        if text and not re.fullmatch(r"[\W_]+", text):
            paragraphs.append(text)
    return paragraphs


def spoken_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{round(size / 1000)} kilobytes"
    return f"{size / 1_000_000:.1f} megabytes".replace(".0 ", " ")


def _spoken_url(match: re.Match[str]) -> str:
    url = match.group(0).strip("<>")
    if len(url) <= LONG_URL:
        return url
    host = link_host(url)
    return f"(a link to {host})" if host else "(a link)"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: the raw text is better than nothing
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _decode_bytes(data: bytes, charset: str | None) -> str:
    for candidate in (charset if charset and charset != "unknown-8bit" else None, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def _html_to_text(html: str) -> str:
    from inscriptis import get_text  # imported on first use: it brings lxml, which an idle daemon need not hold

    try:
        return get_text(html)
    except Exception:  # inscriptis gave up on this HTML: strip the tags crudely
        return re.sub(r"<[^>]+>", " ", html)
