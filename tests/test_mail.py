"""Email by voice against a real Dovecot IMAP server and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import json
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import START
from speech import word_error_rate
from assistant.config import MailAccountSettings, MailSettings, Settings
from assistant.errors import MailError
from assistant.intents.router import IntentMatch
from assistant.mail.message import parse, read
from assistant.mail.imap import ImapStore
from assistant.mail.maildir import MaildirStore
from assistant.skills.base import Session, SkillContext
from assistant.skills.mail import MailSkill
from assistant.speech.spoken_text import for_speech

PASSWORD_ENV = "EP_TEST_PASSWORD"


def message(subject: str, sender: str = "Anna Field <anna@example.org>", body: str = "Hello.", *,
            html: str = "", attachment: tuple[str, bytes] | None = None, minutes_ago: int = 0,
            message_id: str = "", references: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "Theodore <theodore@example.org>"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc) - timedelta(minutes=minutes_ago))
    mail["Message-ID"] = message_id or f"<{abs(hash(subject))}@example.org>"
    if references:
        mail["References"] = references
    if html and not body:
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(body)
        if html:
            mail.add_alternative(html, subtype="html")
    if attachment:
        mail.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return bytes(mail)


LONG_BODY = "\n\n".join(f"Paragraph {n}. " + "The harbour was quiet and the boats were asleep. " * 6 for n in range(1, 9))

BROKEN = (
    b"From: broken@example.org\r\nSubject: Broken boundary\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\n"
    b"Caf\xc3\xa9 at eight.\r\n--zz\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%notbase64\r\n"
)

SEED = [
    message("Weekly report", "Reports <reports@example.org>", "Numbers are up.", minutes_ago=50),
    message("Order shipped", "Shop <shop@example.com>", "", html="<h1>Order shipped</h1><p>Your parcel left our <b>warehouse</b>.</p>"
            "<ul><li>Tea, 2 boxes</li></ul>", minutes_ago=40),
    message("Invoice for November", "Paul <paul@example.net>", "The invoice is attached.\n\n-- \nPaul Twombly\nTwombly & Co",
            attachment=("invoice.pdf", b"%PDF-1.4 " + b"x" * 119_000), minutes_ago=30),
    message("Grüße aus Köln", "Jürgen Müller <juergen@example.de>", "Viele Grüße.", minutes_ago=20),
    message("Lunch on Friday", "Anna Field <anna@example.org>",
            "Shall we have lunch on Friday? The menu is at https://www.example.org/restaurants/harbour/menu?lang=en&day=friday\n\n"
            "On Tue, 24 Nov 2026, Theodore wrote:\n> How about lunch?\n> Any day.",
            message_id="<lunch-1@example.org>", references="<earlier@example.org>", minutes_ago=10),
]
"""Oldest first; the inbox lists them newest first."""


def account(server, security: str = "none") -> MailAccountSettings:  # type: ignore[no-untyped-def]
    return MailAccountSettings(imap_host="127.0.0.1", imap_port=server.imaps_port if security == "tls" else server.port,
                               security=security, username="theodore", password_env=PASSWORD_ENV,
                               from_="Theodore <theodore@example.org>")


@pytest.fixture()
def inbox(imap_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The Dovecot fixture emptied and seeded with SEED; the password in the environment."""
    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)
    if imap_server.proc is None or imap_server.proc.poll() is not None:
        imap_server.start()
    imap_server.reset()
    imap_server.seed(SEED)
    return imap_server


class Talk:
    """The mail skill driven by intent names, as the router would hand them over."""

    def __init__(self, settings: Settings, store) -> None:  # type: ignore[no-untyped-def]
        self.skill = MailSkill(settings, lambda: store)
        self.session = Session(name="Samantha", wake_words=("samantha",), volume=1.0)
        self.events: list[tuple[str, dict]] = []

    def __call__(self, intent: str, **slots: object) -> str:
        from assistant.skills.system import SystemSkill

        context = SkillContext(START, self.session, lambda: {}, None)  # type: ignore[arg-type]
        if intent in ("Confirm", "Deny"):
            reply = SystemSkill().handle(IntentMatch(intent, dict(slots), intent), context)
        else:
            reply = self.skill.handle(IntentMatch(intent, dict(slots), intent), context)
        self.session.pending = reply.question
        self.events.extend(reply.events)
        return reply.text


def subjects(server, folder: str = "INBOX") -> list[str]:  # type: ignore[no-untyped-def]
    return [subject for subject, _ in server.folder(folder)]


# --- reading MIME -----------------------------------------------------------------------------

def test_html_only_mail_is_read_as_clean_text() -> None:
    text = read(parse(SEED[1]), "2")
    assert text.paragraphs[0] == "Order shipped"
    assert "Your parcel left our warehouse." in text.paragraphs
    assert not any("<" in p for p in text.paragraphs)


def test_quotes_signatures_and_long_links_are_not_read() -> None:
    text = read(parse(SEED[4]), "5")
    spoken = " ".join(text.paragraphs)
    assert spoken == "Shall we have lunch on Friday? The menu is at (a link to example.org)"
    invoice = read(parse(SEED[2]), "3")
    assert invoice.paragraphs == ("The invoice is attached.",)  # the signature is gone
    assert invoice.attachment_note() == "There is one attachment: invoice.pdf, 119 kilobytes."


def test_encoded_and_raw_8bit_headers_are_decoded_without_losing_letters() -> None:
    text = read(parse(SEED[3]), "4")
    assert (text.envelope.sender_name, text.envelope.subject) == ("Jürgen Müller", "Grüße aus Köln")
    raw = b"From: Bj\xf6rn <bjorn@example.se>\r\nSubject: Gr\xfc\xdfe\r\n\r\nHej.\r\n"
    latin = read(parse(raw), "9")
    assert (latin.envelope.sender_name, latin.envelope.subject) == ("Björn", "Grüße")


@pytest.mark.parametrize("raw", [
    BROKEN,
    b"",
    b"no headers at all\n\njust text",
    b"Subject: nul\r\n\r\nbefore\x00after\r\n",
    b"Subject: =?utf-8?b?!!!?=\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@\r\n",
])
def test_malformed_mime_never_raises(raw: bytes) -> None:
    text = read(parse(raw), "1")
    assert all("\x00" not in p for p in text.paragraphs)
    if raw is BROKEN:
        assert text.paragraphs == ("Café at eight.",)  # unknown charset: decoded as UTF-8, nothing dropped


def test_long_bodies_are_read_in_chunks() -> None:
    text = read(parse(message("Long", body=LONG_BODY)), "1")
    chunks = text.chunks(700)
    assert len(chunks) >= 3 and all(len(c) < 1500 for c in chunks)
    assert " ".join(chunks).split() == LONG_BODY.split()


# --- the skill against Dovecot -----------------------------------------------------------------

def test_listing_is_newest_first_and_never_sets_seen(inbox) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(Settings(), ImapStore("home", account(inbox)))
    said = talk("CheckMail")
    assert said.startswith("You have five new messages. One, from Anna Field: Lunch on Friday. "
                           "Two, from Jürgen Müller: Grüße aus Köln. Three, from Paul: Invoice for November.")
    assert said.endswith("Shall I go on?")
    assert talk("Confirm") == "Four, from Shop: Order shipped. Five, from Reports: Weekly report."
    said = talk("ReadMail", index=2)
    assert said == "Message two, from Jürgen Müller: Grüße aus Köln. Viele Grüße."
    assert all("\\Seen" not in flags for _, flags in inbox.folder())  # listing and reading set no flag
    assert talk("NextMail").startswith("Message three, from Paul: Invoice for November. The invoice is attached. "
                                       "There is one attachment: invoice.pdf")
    assert talk("PreviousMail").startswith("Message two")
    sender = talk("MailSender")
    assert sender == "It's from Jürgen Müller, juergen@example.de."
    assert for_speech(sender) == "It's from Jürgen Müller, juergen at example dot de."  # as the voice says it
    assert talk("MarkRead") == "Marked as read."
    flags = dict(inbox.folder())
    assert "\\Seen" in flags["Grüße aus Köln"] and "\\Seen" not in flags["Lunch on Friday"]
    assert ("mail", {"action": "mark_read", "uid": talk.skill._listing[1].uid}) in talk.events


def test_reading_marks_read_only_when_configured(inbox) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(mail=MailSettings(mark_read=True))
    talk = Talk(settings, ImapStore("home", account(inbox)))
    talk("ReadMail")
    assert [s for s, flags in inbox.folder() if "\\Seen" in flags] == ["Lunch on Friday"]


def test_delete_needs_a_yes_and_archive_moves(inbox) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(Settings(), ImapStore("home", account(inbox)))
    talk("CheckMail")
    assert talk("DeleteMail") == "Delete the message from Anna Field about Lunch on Friday? Say yes or no."
    assert talk("Deny") == "All right, I kept it."
    assert "Lunch on Friday" in subjects(inbox)
    talk("DeleteMail")
    assert talk("Confirm") == "Deleted."
    assert "Lunch on Friday" not in subjects(inbox) and subjects(inbox, "Trash") == ["Lunch on Friday"]
    assert talk("MailSender").startswith("It's from Jürgen Müller")  # "it" is now the next message
    assert talk("ArchiveMail") == "Archived the message from Jürgen Müller."
    assert len(subjects(inbox, "Archive")) == 1 and len(subjects(inbox)) == 3


def test_broken_and_8bit_messages_on_the_server_are_read(inbox) -> None:  # type: ignore[no-untyped-def]
    inbox.reset()
    inbox.seed([BROKEN, b"From: Bj\xf6rn <bjorn@example.se>\r\nSubject: Gr\xfc\xdfe\r\n\r\nHej.\r\n"])
    talk = Talk(Settings(), ImapStore("home", account(inbox)))
    assert talk("CheckMail") == "You have two new messages. One, from Björn: Grüße. Two, from broken: Broken boundary."
    assert talk("ReadMail", index=2).startswith("Message two, from broken: Broken boundary. Café at eight. There is one attachment")
    assert not [e for e in talk.events if e[0] == "error"]


def test_long_body_asks_before_going_on(inbox) -> None:  # type: ignore[no-untyped-def]
    inbox.seed([message("The harbour", body=LONG_BODY)])
    talk = Talk(Settings(), ImapStore("home", account(inbox)))
    said = talk("ReadMail", index=1)
    assert said.startswith("Message one, from Anna Field: The harbour. Paragraph 1.") and said.endswith("Shall I go on?")
    assert "Paragraph 8" not in said
    more = talk("Confirm")
    assert more.startswith("Paragraph") and "Paragraph 1." not in more


def test_server_faults_are_spoken_and_the_next_command_works(inbox) -> None:  # type: ignore[no-untyped-def]
    talk = Talk(Settings(), ImapStore("home", account(inbox), timeout=5))
    talk("CheckMail")
    inbox.stop()  # killed mid-session
    said = talk("ReadMail")
    assert said in ("I lost the connection to the mail server.", "I can't reach the mail server right now.")
    assert talk.events[-1][0] == "error" and "127.0.0.1" in talk.events[-1][1]["message"]
    inbox.start()
    assert talk("ReadMail").startswith("Message one, from Anna Field: Lunch on Friday.")
    assert all("\\Seen" not in flags for _, flags in inbox.folder())


def test_wrong_password_tls_failure_and_unreachable(inbox, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    talk = Talk(Settings(), ImapStore("home", account(inbox)))
    assert talk("CheckMail") == "The mail server didn't accept your password."
    assert "refused the login for theodore" in talk.events[-1][1]["message"]
    assert "wrong" not in json.dumps(talk.events)
    monkeypatch.setenv(PASSWORD_ENV, inbox.password)
    untrusted = Talk(Settings(), ImapStore("home", account(inbox, "tls")))
    assert untrusted("CheckMail") == "I couldn't make a secure connection to the mail server."
    assert "not trusted" in untrusted.events[-1][1]["message"]
    from dataclasses import replace

    trusted = Talk(Settings(), ImapStore("home", replace(account(inbox, "tls"), ca_file=str(inbox.cafile))))
    assert trusted("CheckMail").startswith("You have five new messages.")
    from mailserver import free_port

    nowhere = Talk(Settings(), ImapStore("home", replace(account(inbox), imap_port=free_port())))
    assert nowhere("CheckMail") == "I can't reach the mail server right now."


def test_local_maildir_is_the_zero_setup_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mailbox

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    box = mailbox.Maildir(home / "Maildir", create=True)
    for minutes, raw in enumerate(SEED):
        entry = mailbox.MaildirMessage(raw)
        entry.set_date(1_700_000_000 + minutes * 60)
        box.add(entry)
    from assistant.mail.store import open_store

    store = open_store(Settings())
    assert isinstance(store, MaildirStore)
    talk = Talk(Settings(), store)
    assert talk("CheckMail").startswith("You have five new messages. One, from Anna Field: Lunch on Friday.")
    talk("ReadMail", index=1)
    assert all("S" not in m.get_flags() for m in box)
    talk("DeleteMail")
    assert talk("Confirm") == "Deleted."
    assert [m["Subject"] for m in box.get_folder("Trash")] == ["Lunch on Friday"]
    assert len(box) == 4


# --- by voice, through file mode -----------------------------------------------------------------

def run_voice(tmp_path: Path, speech, server, smtp_port: int, *parts: str | float, name: str) -> list[dict]:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from conftest import read_events

    config = tmp_path / "config.toml"
    config.write_text(f"""
[mail]
batch = 1
[mail.accounts.home]
imap_host = "127.0.0.1"
imap_port = {server.port}
security = "none"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "none"
username = "theodore"
password_env = "{PASSWORD_ENV}"
from = "Theodore Twombly <theodore@example.org>"
""")
    wav = speech.write(speech.scene(*parts), f"{name}.wav")
    events_path = tmp_path / "events.jsonl"
    result = subprocess.run([sys.executable, "-m", "assistant", "--config", str(config), "run", "--input", str(wav),
                             "--events", str(events_path), "--output", str(tmp_path / "out.wav")],
                            capture_output=True, text=True, timeout=400, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    return read_events(events_path)


def test_by_voice_read_reply_and_send_with_threading(tmp_path: Path, speech, inbox, smtp_server, whisper) -> None:  # type: ignore[no-untyped-def]
    events = run_voice(tmp_path, speech, inbox, smtp_server.port,
                       0.5, "Samantha, read my email.", 9.0, "No.", 4.0, "Samantha, read it.", 12.0,
                       "Samantha, reply to it.", 6.0, "I would love to have lunch with you.", 1.5, "That's all.", 6.0,
                       "Send it.", 6.5, "Yes.", 5.0, name="reply")
    replies = [e["text"] for e in events if e["type"] == "reply"]
    intents = [e["name"] for e in events if e["type"] == "intent"]
    assert intents[:3] == ["CheckMail", "Deny", "ReadMail"], (intents, replies)
    # what the speaker got: the first reply's audio, recognized
    from assistant.audio import SAMPLE_RATE
    from assistant.audio.wavio import read_wav

    start = next(e["t"] for e in events if e["type"] == "speak_start")
    end = next(e["t"] for e in events if e["type"] == "speak_end")
    heard = whisper.transcribe(read_wav(tmp_path / "out.wav")[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]).text.lower()
    assert "five new messages" in heard and "lunch on friday" in heard, heard
    assert replies[0] == "You have five new messages. One, from Anna Field: Lunch on Friday. Shall I go on?"
    assert replies[2] == "Message one, from Anna Field: Lunch on Friday. Shall we have lunch on Friday? The menu is at (a link to example.org)"
    assert replies[3].startswith("Replying to Anna Field.")
    assert "Sent to Anna Field." in replies, replies
    sent = smtp_server.outbox.messages[0]
    assert sent["rcpt_tos"] == ["anna@example.org"]
    reply = sent["message"]
    assert reply["Subject"] == "Re: Lunch on Friday"
    assert reply["In-Reply-To"] == "<lunch-1@example.org>"
    assert reply["References"] == "<earlier@example.org> <lunch-1@example.org>"
    body = reply.get_content().replace("\r\n", "\n")
    greeting, dictated, closing = body.strip().split("\n\n")
    assert greeting == "Hi Anna," and closing == "Best wishes,\nTheodore Twombly"
    assert word_error_rate("I would love to have lunch with you.", dictated) <= 0.25, dictated
    assert subjects(inbox, "Sent") == ["Re: Lunch on Friday"]  # a copy in Sent
    assert all("\\Seen" not in flags for _, flags in inbox.folder())
    mail_events = {e["action"]: e["uid"] for e in events if e["type"] == "mail"}
    assert mail_events["reply"] == mail_events["read"] != ""


def test_by_voice_delete_asks_and_a_dead_server_is_explained(tmp_path: Path, speech, inbox, smtp_server) -> None:  # type: ignore[no-untyped-def]
    inbox.stop()
    events = run_voice(tmp_path, speech, inbox, smtp_server.port, 0.5, "Samantha, read my email.", 6.0, name="down")
    assert [e["text"] for e in events if e["type"] == "reply"] == ["I can't reach the mail server right now."]
    assert any(e["type"] == "error" and "cannot reach the mail server 127.0.0.1" in e["message"] for e in events)
    inbox.start()
    events = run_voice(tmp_path, speech, inbox, smtp_server.port,
                       0.5, "Samantha, read my email.", 9.0, "No.", 4.0, "Samantha, delete it.", 9.0, "No.", 4.0,
                       "Samantha, delete it.", 9.0, "Yes.", 4.0, name="delete")
    replies = [e["text"] for e in events if e["type"] == "reply"]
    assert replies[2:4] == ["Delete the message from Anna Field about Lunch on Friday? Say yes or no.", "All right, I kept it."]
    assert replies[-1] == "Deleted.", replies
    assert subjects(inbox, "Trash") == ["Lunch on Friday"] and len(subjects(inbox)) == 4


# --- the CLI ---------------------------------------------------------------------------------------

def test_mail_login_stores_the_password_in_the_keyring_and_check_uses_it(cli, inbox, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import assert_one_line_error

    monkeypatch.delenv(PASSWORD_ENV)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")  # a real file keyring
    config = tmp_path / "config.toml"
    config.write_text(f'[mail.accounts.home]\nimap_host = "127.0.0.1"\nimap_port = {inbox.port}\nsecurity = "none"\n'
                      'username = "theodore"\n')
    assert_one_line_error(cli("--config", config, "mail", "check"), "no password for mail account home",
                          "earpiece mail login home")
    stored = cli("--config", config, "mail", "login", "--password-stdin", input=f"{inbox.password}\n")
    assert stored.returncode == 0, stored.stderr
    assert "stored the password for mail account home in the keyring" in stored.stdout
    assert inbox.password not in config.read_text()
    checked = cli("--config", config, "mail", "check", check=True)
    assert checked.stdout.splitlines()[:2] == ["home: 5 unread", "  Anna Field: Lunch on Friday"]
    shown = cli("--config", config, "config", "show", check=True)
    assert inbox.password not in shown.stdout + shown.stderr
    assert_one_line_error(cli("--config", config, "mail", "login", "work", "--password-stdin", input="x\n"),
                          'no mail account "work"')
    cli("--config", config, "mail", "login", "--password-stdin", input="wrong-one\n", check=True)
    bad = cli("--config", config, "mail", "check")
    assert_one_line_error(bad, "refused the login for theodore")
    assert "wrong-one" not in bad.stderr


# --- the daemon watches the inbox ---------------------------------------------------------------

from test_daemon import Monitor, runtime  # noqa: E402,F401  (the runtime fixture: a private socket dir)


def test_daemon_announces_new_mail_unless_muted_and_survives_the_server(cli, runtime, headset, inbox,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[audio]
input_device = "mic"
output_device = "spk"
[mail.accounts.home]
imap_host = "127.0.0.1"
imap_port = {inbox.port}
security = "none"
username = "theodore"
password_env = "{PASSWORD_ENV}"
""")
    cli("--config", config, "daemon", "start", check=True)
    monitor = Monitor(headset)
    try:
        time.sleep(1.0)  # the watcher has listed what is already there: that is not news
        inbox.seed([message("Tickets for Saturday", "Paul <paul@example.net>", "Two tickets.")])
        monitor.wait_for(lambda e: e["type"] == "mail" and e["action"] == "new", timeout=30)
        said = monitor.wait_for(lambda e: e["type"] == "reply", timeout=30)
        assert said["text"] == "New message from Paul: Tickets for Saturday."
        assert not [e for e in monitor.events if e["type"] == "error"], monitor.events
        cli("mute", check=True)
        inbox.seed([message("Quiet please", "Anna Field <anna@example.org>")])
        new = monitor.wait_for(lambda e: e["type"] == "mail" and e["action"] == "new", timeout=30)
        assert new["subject"] == "Quiet please"
        time.sleep(1.0)
        assert [e["text"] for e in monitor.events if e["type"] == "reply"] == ["New message from Paul: Tickets for Saturday."]
        cli("unmute", check=True)
        inbox.stop()
        problem = monitor.wait_for(lambda e: e["type"] == "error", timeout=30)
        assert problem["message"].startswith("mail: ")
        inbox.start()
        inbox.seed([message("Back again", "Anna Field <anna@example.org>")])
        monitor.wait_for(lambda e: e["type"] == "mail" and e["action"] == "reconnected", timeout=60)
        said = monitor.wait_for(lambda e: e["type"] == "reply", timeout=30)
        assert said["text"] == "New message from Anna Field: Back again."
        assert cli("daemon", "status").returncode == 0  # still running
        assert all("\\Seen" not in flags for _, flags in inbox.folder())
    finally:
        monitor.close()
        cli("daemon", "stop", check=True)


def test_watcher_ignores_idle_keepalives_and_reports_each_new_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import queue

    from mailserver import Dovecot

    from assistant.mail.watcher import MailWatcher, NewMail

    server = Dovecot(idle_notify="1s").start()  # "* OK Still here" every second inside IDLE
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    notices: queue.Queue = queue.Queue()
    watcher = MailWatcher(lambda: ImapStore("home", account(server)), notices.put).start()
    try:
        assert watcher.listed.wait(20), "the watcher never listed the inbox"
        server.seed([SEED[0]])  # after the first listing: news
        time.sleep(3.5)  # several keepalives go by
        server.seed([SEED[4]])
        # On a loaded machine the notice for the first message can come late and share one with
        # the second: what counts is that each new message is reported exactly once.
        reported: list[str] = []
        deadline = time.monotonic() + 20
        while len(reported) < 2 and time.monotonic() < deadline:
            try:
                notice = notices.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            assert isinstance(notice, NewMail), notice
            reported += [e.subject for e in notice.envelopes]
        time.sleep(2.5)  # keepalives go on: no repeats, no problems reported
        while not notices.empty():
            notice = notices.get()
            assert isinstance(notice, NewMail), notice
            reported += [e.subject for e in notice.envelopes]
        assert sorted(reported) == ["Lunch on Friday", "Weekly report"], reported
    finally:
        watcher.stop()
        server.stop()
        assert not server.log_problems()


def test_new_mail_is_announced_when_idle_but_not_while_dictating(sphinx, whisper, router, tts, speech,  # type: ignore[no-untyped-def]
                                                                 tmp_path: Path) -> None:
    from assistant.audio import FRAME_SAMPLES
    from assistant.audio.resample import float_to_int16
    from assistant.audio.wavio import WavSink
    from assistant.events import EventBus, EventLog
    from assistant.mail.message import Envelope
    from assistant.pipeline import Engines, Pipeline

    log, bus = EventLog(), EventBus()
    bus.subscribe(log)
    pipeline = Pipeline(Settings(), Engines(sphinx, whisper), router, tts, bus, START, mail_store=lambda: None)  # type: ignore[arg-type, return-value]
    pipeline.start(WavSink(tmp_path / "out.wav"))

    def hear(*parts: str | float) -> None:
        pcm = float_to_int16(speech.scene(*parts))
        for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            pipeline.feed(pcm[start:start + FRAME_SAMPLES])

    def replies() -> list[str]:
        return [str(e.data["text"]) for e in log.events if e.type == "reply"]

    hear(1.0)
    pipeline.new_mail([Envelope("7", "Paul", "paul@example.net", "Tickets for Saturday")])
    hear(6.0)
    assert replies() == ["New message from Paul: Tickets for Saturday."]
    hear("Samantha, take a letter to Tom.", 5.0)
    assert replies()[-1] == "Writing to Tom. Go ahead."
    pipeline.new_mail([Envelope("8", "Anna", "anna@example.org", "Lunch")])
    hear(6.0)
    assert replies()[-1] == "Writing to Tom. Go ahead."  # quiet while dictating
    assert [e.data["uid"] for e in log.events if e.type == "mail" and e.data["action"] == "new"] == ["7", "8"]


def counting_headers(store):  # type: ignore[no-untyped-def]
    """The real store, counting every header fetched however it is asked for (unseen() included)."""
    fetched = [0]
    envelopes = store.envelopes

    def counted(uids):  # type: ignore[no-untyped-def]
        fetched[0] += len(uids)
        return envelopes(uids)

    store.envelopes = counted
    return fetched


def test_a_big_inbox_costs_only_what_is_said(imap_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """20,000 messages, 5,000 unread, in Dovecot and in a Maildir: the count is said, the newest
    are named, and only the headers said (a page) are fetched; reading far down fetches a page there."""
    from mailserver import write_maildir

    from assistant.skills.mail import Listing

    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)
    if imap_server.proc is None or imap_server.proc.poll() is not None:
        imap_server.start()
    imap_server.reset()
    served = imap_server.base / "mail" / imap_server.user / "Maildir"
    write_maildir(served, 20_000, 5_000, owner=(served.stat().st_uid, served.stat().st_gid))
    local = tmp_path / "Maildir"
    write_maildir(local, 20_000, 5_000)
    try:
        for store in (ImapStore("home", account(imap_server), timeout=60), MaildirStore("local", local)):
            fetched = counting_headers(store)
            talk = Talk(Settings(), store)
            said = talk("CheckMail")
            assert said.startswith("You have five thousand new messages. One, from Sender "), said
            assert said.endswith("Shall I go on?")
            assert fetched[0] <= Listing.PAGE, fetched
            if isinstance(store, MaildirStore):  # delivery times are known exactly here
                assert "One, from Sender 19999: Message number 19999. Two, from Sender 19998" in said
            read = talk("ReadMail", index=4_000)
            assert read.startswith("Message four thousand, from Sender "), read
            assert fetched[0] <= 2 * Listing.PAGE, fetched
            store.close()
    finally:
        imap_server.reset()


def test_a_flood_of_new_mail_is_counted_and_the_newest_named(tmp_path: Path) -> None:
    """300 messages arriving at once into a big Maildir: one notice, all counted, a few headers fetched."""
    import queue

    from mailserver import write_maildir

    from assistant.mail.watcher import NEWS_HEADERS, MailWatcher, NewMail

    local = tmp_path / "Maildir"
    write_maildir(local, 20_000, 5_000)
    notices: queue.Queue = queue.Queue()
    watcher = MailWatcher(lambda: MaildirStore("local", local), notices.put).start()
    try:
        assert watcher.listed.wait(30)
        for n in range(300):
            (local / "new" / f"1800000000.M{n}P2.flood").write_bytes(
                f"From: Flood {n} <f{n}@example.org>\r\nSubject: Wave {n}\r\n\r\nHi.\r\n".encode())
        counted, named = 0, []
        while counted < 300:  # usually one notice; a poll in mid-write splits it
            notice = notices.get(timeout=30)
            assert isinstance(notice, NewMail), notice
            assert len(notice.envelopes) == min(NEWS_HEADERS, notice.count)
            counted += notice.count
            named += [e.subject for e in notice.envelopes]
        assert counted == 300 and all(subject.startswith("Wave ") for subject in named)
        time.sleep(1.5)
        assert notices.empty()  # none counted twice
    finally:
        watcher.stop()
