"""Email by voice: list what came in, read it, move through it, act on it, answer it.

"It" is always one message: the one last listed first, read, or stepped to with next/previous.
Listing and reading never mark anything read (unless ``[mail] mark_read`` says reading should);
deleting asks first. A mail fault is said in one short sentence and sent as an ``error`` event;
nothing is marked, moved or deleted unless the server confirmed it.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from assistant.config import Settings
from assistant.errors import MailError
from assistant.intents.numbers import cardinal
from assistant.intents.router import IntentMatch
from assistant.letters.model import ReplyContext
from assistant.mail.message import Envelope, MailText
from assistant.mail.store import MailStore
from assistant.skills.base import Question, Reply, Skill, SkillContext

log = logging.getLogger(__name__)

MAIL_INTENTS = frozenset({"CheckMail", "ReadMail", "NextMail", "PreviousMail", "MailSender", "MarkRead",
                          "ArchiveMail", "DeleteMail", "ReplyMail"})


NO_MAIL = "You have no new email."
WHICH_MESSAGE = "Which message? Say read my email first."


class Listing(Sequence[Envelope]):
    """The unread messages as listed: every UID at once (a SEARCH, cheap), headers a page at a
    time as they are said or read. With thousands unread, "do I have any new email?" costs the
    count and the few headers it says, and memory holds UIDs, not headers."""

    PAGE = 10

    def __init__(self, store: MailStore | None = None, uids: Sequence[str] = ()) -> None:
        self._store = store
        self._uids = list(uids)
        self._envelopes: dict[str, Envelope] = {}

    def __len__(self) -> int:
        return len(self._uids)

    def __getitem__(self, index: int) -> Envelope:  # type: ignore[override]
        uid = self._uids[index]
        if uid not in self._envelopes:
            start = index if index >= 0 else len(self._uids) + index
            wanted = [u for u in self._uids[start : start + self.PAGE] if u not in self._envelopes]
            assert self._store is not None  # an empty listing has no index to ask for
            self._envelopes.update((e.uid, e) for e in self._store.envelopes(wanted))
        # gone since it was listed (moved by another mail program): reading it says so
        return self._envelopes.get(uid) or Envelope(uid, "", "", "a message that has since been moved")

    def drop(self, uid: str) -> int | None:
        """Take a message out (moved away); its former index, or None when it was not listed."""
        if uid not in self._uids:
            return None
        index = self._uids.index(uid)
        del self._uids[index]
        self._envelopes.pop(uid, None)
        return index


def _mail_event(action: str, uid: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ("mail", {"action": action, "uid": uid, **extra})


class MailSkill(Skill):
    intents = MAIL_INTENTS

    def __init__(self, settings: Settings, open_store: Callable[[], MailStore]) -> None:
        self._settings = settings.mail
        self._open_store = open_store
        self._store: MailStore | None = None
        self._listing = Listing()
        self._cursor = -1
        self._listed = 0

    # --- plumbing ----------------------------------------------------------------------------

    def handle(self, intent: IntentMatch, context: SkillContext) -> Reply:
        finding: dict[str, Callable[[], Reply]] = {
            "CheckMail": self._check, "ReadMail": lambda: self._read_request(intent.slots.get("index")),
            "NextMail": lambda: self._step(+1), "PreviousMail": lambda: self._step(-1),
        }
        if intent.name in finding:
            return self._safely(finding[intent.name])
        acting: dict[str, Callable[[Envelope], Reply]] = {
            "MailSender": self._sender, "MarkRead": self._mark_read, "ArchiveMail": self._archive,
            "DeleteMail": self._delete, "ReplyMail": self._reply,
        }
        envelope = self._current()
        if envelope is None:
            return Reply(WHICH_MESSAGE)
        return self._safely(lambda: acting[intent.name](envelope))

    @staticmethod
    def _safely(action: Callable[[], Reply]) -> Reply:
        """A mail fault is one spoken sentence and an error event, never a crash."""
        try:
            return action()
        except MailError as exc:
            log.warning("mail: %s", exc)
            return Reply(exc.spoken, events=(("error", {"message": str(exc)}),))

    def _question(self, on_yes: Callable[[], Reply], on_no: Callable[[], Reply]) -> Question:
        return Question(lambda ctx: self._safely(on_yes), lambda ctx: self._safely(on_no))

    @property
    def store(self) -> MailStore:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def forget_listing(self) -> None:
        """New mail came in: the next "read it" lists afresh, so "it" is the newest."""
        self._listing, self._cursor, self._listed = Listing(), -1, 0

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _current(self) -> Envelope | None:
        return self._listing[self._cursor] if 0 <= self._cursor < len(self._listing) else None

    def _refresh(self) -> None:
        self._listing = Listing(self.store, self.store.unread())
        self._cursor = 0 if self._listing else -1
        self._listed = 0

    def _have_listing(self) -> bool:
        """List now if nothing is listed yet; False when there is no new mail at all."""
        if not self._listing:
            self._refresh()
        return bool(self._listing)

    # --- listing -----------------------------------------------------------------------------

    def _check(self) -> Reply:
        self._refresh()
        count = len(self._listing)
        if not count:
            return Reply(NO_MAIL, events=(_mail_event("list", "", count=0),))
        head = "You have one new message." if count == 1 else f"You have {cardinal(count)} new messages."
        return self._list_batch(head, (_mail_event("list", "", count=count),))

    def _list_batch(self, head: str = "", events: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Reply:
        start, end = self._listed, min(self._listed + self._settings.batch, len(self._listing))
        lines = [head] if head else []
        many = len(self._listing) > 1
        for index in range(start, end):
            envelope = self._listing[index]
            number = f"{cardinal(index + 1).capitalize()}, from" if many else "From"
            lines.append(f"{number} {envelope.sender}: {envelope.spoken_subject}.")
        self._listed = end
        if end < len(self._listing):
            lines.append("Shall I go on?")
            more = self._question(lambda: self._list_batch(), lambda: Reply("All right. Say read it to hear the first one."))
            return Reply(" ".join(lines), question=more, events=events)
        return Reply(" ".join(lines), events=events)

    # --- reading -----------------------------------------------------------------------------

    def _read_request(self, index: object) -> Reply:
        if not self._have_listing():
            return Reply(NO_MAIL)
        if index is not None:
            number = int(index)
            if not 1 <= number <= len(self._listing):
                total = len(self._listing)
                return Reply(f"There {'is only one new message' if total == 1 else f'are only {cardinal(total)} new messages'}.")
            self._cursor = number - 1
        return self._read_current()

    def _step(self, delta: int) -> Reply:
        fresh = not self._listing
        if not self._have_listing():
            return Reply(NO_MAIL)
        if fresh:
            delta = min(delta, 0)  # "next" with nothing open starts at the newest
        target = self._cursor + delta
        if target >= len(self._listing):
            return Reply("That was the last new message.")
        if target < 0:
            return Reply("That's the first one.")
        self._cursor = target
        return self._read_current()

    def _read_current(self) -> Reply:
        envelope = self._current()
        if envelope is None:
            return Reply(WHICH_MESSAGE)
        text = self.store.fetch(envelope.uid)
        chunks = text.chunks(self._settings.read_chars)
        number = f"Message {cardinal(self._cursor + 1)}, from" if len(self._listing) > 1 else "From"
        opening = f"{number} {envelope.sender}: {envelope.spoken_subject}."
        events: list[tuple[str, dict[str, Any]]] = [_mail_event("read", envelope.uid)]
        if self._settings.mark_read and not text.envelope.seen:
            self.store.mark_seen(envelope.uid)
            events.append(_mail_event("mark_read", envelope.uid))
        body = chunks[0] if chunks else "There's no text in it."
        return self._body_reply(opening, body, chunks[1:], text, tuple(events))

    def _body_reply(self, opening: str, body: str, rest: list[str], text: MailText,
                    events: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Reply:
        parts = [p for p in (opening, body) if p]
        if rest:
            parts.append("That's the start. Shall I go on?")

            def more() -> Reply:
                return self._body_reply("", rest[0], rest[1:], text)

            return Reply(" ".join(parts), question=self._question(more, lambda: Reply("All right.")), events=events)
        if text.attachment_note():
            parts.append(text.attachment_note())
        return Reply(" ".join(parts), events=events)

    def _sender(self, envelope: Envelope) -> Reply:
        if envelope.sender_name and envelope.sender_address:
            return Reply(f"It's from {envelope.sender_name}, {envelope.sender_address}.")  # said by for_speech
        return Reply(f"It's from {envelope.sender_address or envelope.sender}.")

    # --- acting on it -------------------------------------------------------------------------

    def _mark_read(self, envelope: Envelope) -> Reply:
        self.store.mark_seen(envelope.uid)
        return Reply("Marked as read.", events=(_mail_event("mark_read", envelope.uid),))

    def _archive(self, envelope: Envelope) -> Reply:
        folder = self.store.archive(envelope.uid)
        self._forget(envelope)
        return Reply(f"Archived the message from {envelope.sender}.",
                     events=(_mail_event("archive", envelope.uid, folder=folder),))

    def _delete(self, envelope: Envelope) -> Reply:

        def delete() -> Reply:
            folder = self.store.delete(envelope.uid)
            self._forget(envelope)
            return Reply("Deleted.", events=(_mail_event("delete", envelope.uid, folder=folder),))

        return Reply(f"Delete the message from {envelope.sender} about {envelope.spoken_subject}? Say yes or no.",
                     question=self._question(delete, lambda: Reply("All right, I kept it.")))

    def _forget(self, envelope: Envelope) -> None:
        """A message moved away leaves the listing; "it" becomes the one that followed it."""
        index = self._listing.drop(envelope.uid)
        if index is not None:
            self._listed = max(0, self._listed - (1 if index < self._listed else 0))
            self._cursor = min(index, len(self._listing) - 1)

    def _reply(self, envelope: Envelope) -> Reply:
        address = envelope.reply_to or envelope.sender_address
        if not address:
            return Reply("I can't tell where a reply should go.")
        context = ReplyContext(recipient=envelope.sender_name or address.split("@")[0], email=address,
                               subject=envelope.subject, message_id=envelope.message_id,
                               references=envelope.references, uid=envelope.uid)
        return Reply(f"Replying to {context.recipient}. Go ahead; say that's all when you're done.",
                     reply_to=context, events=(_mail_event("reply", envelope.uid),))
