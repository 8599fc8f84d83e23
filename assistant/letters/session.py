"""Dictation mode: what each utterance does to the letter being written.

Every utterance is either a command ("scratch that", "read it back", "replace dog with cat",
"sign it from Theodore", "that's all", "save it", "send it", "cancel the letter") or text to
write. Text is journaled (fsync) before it is acknowledged with a ``letter`` event.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Callable

from assistant.config import Settings
from assistant.dialogue import ANSWERS_BEFORE_LAPSE
from assistant.errors import EarpieceError, MailError, spoken_os_error
from assistant.letters.addressbook import AddressBook
from assistant.letters.journal import Journal
from assistant.letters.model import PARAGRAPH, Letter, ReplyContext
from assistant.letters.spoken import clean_dictation, parse_command
from assistant.letters.shelf import Shelf
from assistant.letters.store import email_message, letters_dir, save, slug
from assistant.mail.accounts import default_account, save_draft, send
from assistant.mail.store import open_store

log = logging.getLogger(__name__)

YES = re.compile(r"^(yes|yeah|yep|sure|please do|do it|go ahead|continue|correct|that's right)\b")
NO = re.compile(r"^(no|nope|don't|not now|cancel)\b")


@dataclass(frozen=True)
class Pending:
    """A yes/no question the letter is waiting on."""

    question: str
    """As asked, e.g. "Send the letter to Tom at tom@example.org?"."""

    on_yes: Callable[[], "Outcome"]
    on_no: Callable[[], "Outcome"]
    """Also what is said when the question lapses: not answering is not a yes."""

    misses: int = 0
    """Replies so far that were neither yes nor no."""


@dataclass
class Outcome:
    say: str = ""
    """What to answer aloud (often nothing while dictating)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    """``letter`` event fields, in order."""

    done: bool = False
    """Dictation mode ends."""


class NullJournal:
    """For runs that must leave no trace; the letter lives only in memory."""

    def write(self, op: dict[str, Any]) -> None:
        pass

    def rewrite(self, letter: Letter) -> None:
        pass

    def close(self) -> None:
        pass


def unused_id(stem: str, settings: Settings, journal_path: Path | None) -> str:
    """``stem``, or ``stem-2``, ``stem-3``... where a saved letter or a parked journal already has
    it. Ids are made to the second: a letter to Tom started in the same second as one saved
    before (a restart, on the audio clock; two quick letters) shared its name, and settling the
    second one's journal after a kill took it for the first one being saved and wrote it, empty,
    over the first (tests/test_chaos.py, under load)."""
    saved = letters_dir(settings)
    parked = Shelf(journal_path).folder if journal_path is not None else None

    def taken(candidate: str) -> bool:
        return any(saved.glob(f"{candidate}.*")) or (parked is not None and (parked / f"{candidate}.jsonl").exists())

    candidate, number = stem, 1
    while taken(candidate):
        number += 1
        candidate = f"{stem}-{number}"
    return candidate


class LetterDictation:
    def __init__(self, letter: Letter, journal: Journal | NullJournal, settings: Settings) -> None:
        self.letter = letter
        self.journal = journal
        self.settings = settings
        self._pending: Pending | None = None
        self.finished = False
        self._journal_trouble = ""
        """Why the journal could not be written, while it is behind the letter; "" when it is whole."""
        self._trouble_said = False

    # --- starting and resuming ---------------------------------------------------------------

    @classmethod
    def start(cls, recipient: str, sender: str, settings: Settings, book: AddressBook, journal_path: Path | None,
              now: datetime) -> "LetterDictation":
        contact = book.find(recipient)
        name = contact.name if contact else " ".join(w.capitalize() if w.islower() else w for w in recipient.split())
        letter = Letter(
            id=unused_id(f"{now:%Y%m%d-%H%M%S}-{slug(name)}", settings, journal_path), recipient=name, email=contact.email if contact else "",
            greeting=(contact.greeting if contact and contact.greeting else f"Dear {name},"),
            sign_off=(contact.sign_off if contact and contact.sign_off else "With love,"),
            signature=_signature_from(sender), started=now,
        )
        journal: Journal | NullJournal = Journal.create(journal_path, letter) if journal_path else NullJournal()
        return cls(letter, journal, settings)

    @classmethod
    def reply(cls, context: ReplyContext, settings: Settings, book: AddressBook, journal_path: Path | None,
              now: datetime) -> "LetterDictation":
        """Dictating an answer to an email: addressed, threaded and signed from the account's name."""
        contact = book.find(context.recipient) if context.recipient else None
        first = context.recipient.split()[0] if context.recipient else ""
        account = default_account(settings)
        own_name = parseaddr(account[1].from_)[0] if account else ""
        subject = context.subject if context.subject.casefold().startswith("re:") else f"Re: {context.subject}".strip()
        letter = Letter(
            id=unused_id(f"{now:%Y%m%d-%H%M%S}-re-{slug(context.recipient or context.email)}", settings, journal_path),
            recipient=context.recipient or context.email, email=context.email,
            greeting=(contact.greeting if contact and contact.greeting else (f"Hi {first}," if first else "Hello,")),
            sign_off=(contact.sign_off if contact and contact.sign_off else "Best wishes,"),
            signature=own_name, started=now, subject=subject, in_reply_to=context.message_id,
            references=" ".join(context.references),
        )
        journal: Journal | NullJournal = Journal.create(journal_path, letter) if journal_path else NullJournal()
        return cls(letter, journal, settings)

    def resumed(self) -> Outcome:
        """Going on with a letter left unfinished: where it stands, then dictation."""
        last = self.letter.last_piece if self.letter.last_piece != PARAGRAPH else ""
        tail = f' The last thing you said was: "{last}"' if last else ""
        return Outcome(f"Back to your {self.letter.kind} to {self.letter.recipient}.{tail} Go ahead.",
                       [{"action": "resume", "text": self.letter.render()}])

    @property
    def asking(self) -> bool:
        """A yes/no question is waiting; a command said now makes it lapse (``lapse``)."""
        return self._pending is not None

    def lapse(self) -> None:
        """The user moved on to something else: the question is dropped, nothing is done."""
        self._pending = None

    # --- each utterance ----------------------------------------------------------------------

    def hear(self, text: str) -> Outcome:
        outcome = self._hear(text)
        if self._journal_trouble and not self._trouble_said:
            self._trouble_said = True  # once while the trouble lasts, not after every sentence
            outcome.say = " ".join(part for part in (outcome.say, (
                f"I can't write to my journal: {self._journal_trouble}. I have every word in memory,"
                " but a crash now would lose the newest. I'll catch up as soon as I can write.")) if part)
            outcome.events.append({"action": "error", "text": f"letter journal: {self._journal_trouble}"})
        return outcome

    def _hear(self, text: str) -> Outcome:
        if self._pending is not None:
            return self._answer(text)
        command = parse_command(text)
        if command is None and self.finished:
            command = parse_command(_closest_choice(text))
        if command is None:
            if self.finished:
                return Outcome("Shall I save it, send it, read it back, or cancel it?")
            return self._write(text)
        handler = getattr(self, f"_cmd_{command.name}")
        return handler(*command.args)

    def _answer(self, text: str) -> Outcome:
        """Yes or no answers the question; a dictation command makes it lapse and is done; anything
        else is asked about once more, then the question is dropped as a no."""
        pending = self._pending
        assert pending is not None
        reply = " ".join(re.findall(r"[\w']+", text.casefold()))
        if YES.match(reply):
            self._pending = None
            return pending.on_yes()
        if NO.match(reply):
            self._pending = None
            return pending.on_no()
        command = parse_command(text)
        if command is not None:
            self._pending = None
            return getattr(self, f"_cmd_{command.name}")(*command.args)
        if pending.misses + 1 >= ANSWERS_BEFORE_LAPSE:
            self._pending = None
            return pending.on_no()
        self._pending = Pending(pending.question, pending.on_yes, pending.on_no, pending.misses + 1)
        return Outcome("Please say yes or no.")

    def _write(self, text: str) -> Outcome:
        cleaned = clean_dictation(text)
        if not cleaned.strip():
            return Outcome()
        events = []
        for index, part in enumerate(cleaned.split(PARAGRAPH)):
            if index:
                self._op({"op": "break"})
                events.append({"action": "new_paragraph", "text": ""})
            if part.strip():
                self._op({"op": "append", "text": part.strip()})
                events.append({"action": "append", "text": part.strip()})
        return Outcome(events=events)

    def _op(self, op: dict[str, Any]) -> None:
        """Journal first (durable), then change the letter: what was acknowledged survives a crash.
        Where the disk refuses (full, read-only), the change is still made in memory, for nothing
        dictated may be dropped, and the journal is written anew at the next change it takes."""
        try:
            if self._journal_trouble:
                self.letter.apply(op)
                self.journal.rewrite(self.letter)
                log.info("the letter journal caught up")
                self._journal_trouble, self._trouble_said = "", False
                return
            self.journal.write(op)
        except OSError as exc:
            if not self._journal_trouble:
                self.letter.apply(op)
            log.warning("the letter journal cannot be written: %s", exc)
            self._journal_trouble = spoken_os_error(exc)
            return
        self.letter.apply(op)

    # --- commands ----------------------------------------------------------------------------

    def _cmd_scratch(self) -> Outcome:
        if not self.letter.pieces:
            return Outcome("There's nothing to scratch.")
        removed = self.letter.last_piece
        self._op({"op": "scratch"})
        said = "the paragraph break" if removed == PARAGRAPH else f'"{removed}"'
        return Outcome(f"Scratched {said}.", [{"action": "scratch", "text": removed.strip()}])

    def _cmd_new_paragraph(self) -> Outcome:
        self._op({"op": "break"})
        return Outcome(events=[{"action": "new_paragraph", "text": ""}])

    def _cmd_read_back(self) -> Outcome:
        text = self.letter.render().strip()
        return Outcome(text or "The letter is still empty.", [{"action": "read_back", "text": text}])

    def _cmd_read_paragraph(self) -> Outcome:
        paragraphs = self.letter.paragraphs()
        text = paragraphs[-1] if paragraphs else ""
        return Outcome(text or "The letter is still empty.", [{"action": "read_back", "text": text}])

    def _cmd_replace(self, old: str, new: str = "") -> Outcome:
        if not new:
            return Outcome("Say: replace one word with another.")
        if not self.letter.contains(old):
            return Outcome(f'I can\'t find "{old}" in the letter.')
        self._op({"op": "replace", "old": old, "new": new})
        return Outcome(f"Replaced {old} with {new}.", [{"action": "replace", "text": f"{old} -> {new}"}])

    def _cmd_sign(self, name: str) -> Outcome:
        signature = " ".join(w.capitalize() for w in name.split())
        self._op({"op": "sign", "name": signature})
        return Outcome(f"Signed from {signature}.", [{"action": "sign", "text": signature}])

    def _cmd_finish(self) -> Outcome:
        self.finished = True
        return Outcome(f"That's the {self.letter.kind} to {self.letter.recipient}. Shall I save it or send it?")

    def _cmd_save(self) -> Outcome:
        return self._save(f"Saved the letter to {self.letter.recipient}.")

    def _save(self, message: str) -> Outcome:
        if self.letter.is_empty:
            return self._discard_empty()
        account = default_account(self.settings)
        sender = account[1].from_ if account else ""
        try:
            saved = save(self.letter, self.settings, sender)
        except OSError as exc:
            kept = "in my memory only" if self._journal_trouble else "safe in my journal"
            return Outcome(f"I couldn't save the letter: {spoken_os_error(exc)}. It is still open, and {kept}.",
                           [{"action": "error", "text": f"saving the letter failed: {exc}"}])
        events: list[dict[str, Any]] = [{"action": "save", "text": str(saved.markdown)}]
        if self.settings.letters.drafts and account is not None:
            try:
                save_draft(account[0], account[1], email_message(self.letter, sender))
                message += " It's in your Drafts folder too."
            except EarpieceError as exc:
                events.append({"action": "error", "text": f"saving the draft failed: {exc}"})
                message += " I couldn't put it in your Drafts folder, but it is saved here."
        self.journal.close()
        return Outcome(message, events, done=True)

    def _discard_empty(self) -> Outcome:
        """Nothing was dictated: there is no letter to keep (five empty ones piled up, issue 27)."""
        self.journal.close()
        return Outcome(f"The {self.letter.kind} to {self.letter.recipient} was still empty, so I didn't keep it.",
                       [{"action": "discard", "text": ""}], done=True)

    def _cmd_send(self) -> Outcome:
        if self.letter.is_empty:
            return Outcome(f"The {self.letter.kind} is still empty. Say what you'd like to write, or cancel it.")
        account = default_account(self.settings)
        if account is None:
            return Outcome("No mail account is set up, so I can't send it. Say save it to keep it.")
        if not self.letter.email:
            return Outcome(f"I don't have an email address for {self.letter.recipient}. Add one to your contacts, or say save it.")
        question = f"Send the {self.letter.kind} to {self.letter.recipient} at {self.letter.email}?"
        self._pending = Pending(question, self._send_now, lambda: Outcome("All right, not sent."))
        return Outcome(question)

    def _send_now(self) -> Outcome:
        name, account = default_account(self.settings)  # type: ignore[misc]
        message = email_message(self.letter, account.from_)
        try:
            send(name, account, message)
        except EarpieceError as exc:
            log.warning("sending the %s failed: %s", self.letter.kind, exc)
            spoken = exc.spoken if isinstance(exc, MailError) else f"I couldn't send it: {exc}."
            return Outcome(f"{spoken} The {self.letter.kind} is still here; say send it to try again, or save it.",
                           [{"action": "error", "text": str(exc)}])
        self._op({"op": "sent"})  # a crash before the journal closes must not send it twice
        try:
            saved = save(self.letter, self.settings, account.from_)
        except OSError as exc:
            return Outcome(f"Sent to {self.letter.recipient}, but I couldn't save a copy here: "
                           f"{spoken_os_error(exc)}. I'll save it at the next start.",
                           [{"action": "send", "text": self.letter.email}], done=True)
        self.journal.close()
        events: list[dict[str, Any]] = [{"action": "send", "text": self.letter.email},
                                        {"action": "save", "text": str(saved.markdown)}]
        said = f"Sent to {self.letter.recipient}."
        if account.imap_host or account.maildir:
            try:
                store = open_store(self.settings)
                try:
                    store.save_sent(bytes(message))
                finally:
                    store.close()
            except EarpieceError as exc:
                events.append({"action": "error", "text": f"keeping a copy in Sent failed: {exc}"})
                said += " I couldn't put a copy in your Sent folder."
        return Outcome(said, events, done=True)

    def _cmd_cancel(self) -> Outcome:
        question = f"Throw away the {self.letter.kind} to {self.letter.recipient}?"

        def cancel() -> Outcome:
            self.journal.close()
            return Outcome(f"The {self.letter.kind} is gone.", [{"action": "cancel", "text": ""}], done=True)

        self._pending = Pending(question, cancel, lambda: Outcome("All right, I kept it. Go on."))
        return Outcome(question)

    def prompt(self) -> str:
        """Recent text, so the dictation engine continues the letter's style and punctuation."""
        return self.letter.body()[-200:]


def _signature_from(sender: str) -> str:
    """ "from her husband" -> "Your husband"; "from Theodore" -> "Theodore"."""
    words = sender.strip().split()
    if not words:
        return ""
    if words[0].casefold() in ("his", "her", "their", "your", "my"):
        return "Your " + " ".join(words[1:])
    return " ".join(w.capitalize() for w in words)


FINISHED_CHOICES = ("save it", "send it", "read it back", "cancel the letter")


def _closest_choice(text: str) -> str:
    """After "that's all" only a few answers make sense: take the one the words most resemble
    ("and this" -> "send it"). Sending still asks for a yes first."""
    heard = " ".join(re.findall(r"[\w']+", text.casefold()))
    ratios = {choice: difflib.SequenceMatcher(None, heard, choice).ratio() for choice in FINISHED_CHOICES}
    best = max(ratios, key=ratios.__getitem__)
    return best if ratios[best] >= 0.5 else text
