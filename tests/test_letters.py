"""Dictating letters: spoken punctuation, commands, the crash-proof journal, saving and sending."""

from __future__ import annotations

import email
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from email.policy import default as default_policy
from pathlib import Path

import pytest
from conftest import assert_one_line_error, read_events
from speech import word_error_rate

from assistant.letters.journal import Journal
from assistant.letters.model import Letter
from assistant.letters.spoken import clean_dictation, parse_command


@pytest.mark.parametrize("heard,written", [
    ("Dear Tom, comma, I hope you are well. Full stop.", "Dear Tom, I hope you are well."),
    ("I miss you comma and I think of you every day period", "I miss you, and I think of you every day."),
    ("How are you question mark", "How are you?"),
    ("I'm tired. Comma. But happy.", "I'm tired, but happy."),
    ("Tom, comma, Anna sends her love.", "Tom, Anna sends her love."),
    ("She said open quote I love you close quote.", "She said \u201cI love you\u201d"),
    ("The word literal comma is a mark.", "The word comma is a mark."),
    ("Wait, exclamation mark", "Wait!"),
    ("Things to bring colon a coat semicolon a hat.", "Things to bring: a coat; a hat."),
    ("It was lovely. New paragraph. See you soon.", "It was lovely.\n\nSee you soon."),
    ("We have 3 dogs, 25 cats and 1 goat.", "We have three dogs, 25 cats and one goat."),
    ("We met on 3 May 2024 at 10:30.", "We met on 3 May 2024 at 10:30."),
])
def test_spoken_punctuation_does_not_double_up(heard: str, written: str) -> None:
    assert clean_dictation(heard) == written


@pytest.mark.parametrize("said,command,args", [
    ("Scratch that.", "scratch", ()), ("Read it back.", "read_back", ()), ("Read the last paragraph.", "read_paragraph", ()),
    ("Replace dog with cat.", "replace", ("dog", "cat")), ("Sign it from Theodore.", "sign", ("theodore",)),
    ("That's all.", "finish", ()), ("Finish the letter.", "finish", ()), ("Save it.", "save", ()),
    ("Send it.", "send", ()), ("Cancel the letter.", "cancel", ()), ("New paragraph.", "new_paragraph", ()),
])
def test_dictation_commands(said: str, command: str, args: tuple) -> None:
    parsed = parse_command(said)
    assert parsed is not None and (parsed.name, parsed.args) == (command, args)
    assert parse_command("I scratched that old car of yours.") is None
    assert parse_command("Scratch nut!") == parse_command("scratch that")
    assert parse_command("New paragraph, please.") == parse_command("please new paragraph")


def test_scratch_replace_and_paragraphs_render_exactly() -> None:
    letter = Letter("x", "Tom", greeting="Dear Tom,", sign_off="Love,")
    for op in ({"op": "append", "text": "I hope you are well."}, {"op": "append", "text": "the dog is fine."},
               {"op": "append", "text": "Oops."}, {"op": "scratch"}, {"op": "break"},
               {"op": "append", "text": "Bring your guitar."}, {"op": "replace", "old": "guitar", "new": "violin"},
               {"op": "sign", "name": "Dad"}):
        letter.apply(op)
    assert letter.render() == "Dear Tom,\n\nI hope you are well. The dog is fine.\n\nBring your violin.\n\nLove,\nDad\n"


def test_journal_replay_ignores_a_torn_line_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "current.jsonl"
    journal = Journal.create(path, Letter("id1", "Tom", greeting="Dear Tom,"))
    journal.write({"op": "append", "text": "One."})
    journal.write({"op": "append", "text": "Two."})
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[-1]]) + '\n{"seq": 4, "op": "app')  # a replayed line and a torn write
    recovered = Journal.recover(path)
    assert recovered is not None
    resumed_journal, letter = recovered
    assert letter.pieces == ["One.", "Two."]
    resumed_journal.write({"op": "append", "text": "Three."})
    assert Journal.recover(path)[1].pieces == ["One.", "Two.", "Three."]  # type: ignore[index]


SENTENCES = [
    "I hope you are well.", "We think of you every day.", "The garden is full of roses.", "Your mother sends her love.",
    "The weather has been kind to us.", "We walked by the river on Sunday.", "The house is quiet without you.",
    "Please write back soon.", "We are proud of you.", "The cat sleeps on your bed.", "I found your old letters.",
    "Take care of yourself.",
]


def dictation_scene(speech, sentences: list[str]):  # type: ignore[no-untyped-def]
    parts: list = [0.5, "Samantha, take a letter to Tom.", 3.5]
    for sentence in sentences:
        parts += [sentence, 1.2]
    return speech.scene(*parts)


def test_a_letter_dictated_through_the_pipeline(cli, speech, tmp_path: Path, isolated_dirs) -> None:
    wav = speech.write(speech.scene(
        0.5, "Samantha, take a letter to Tom.", 3.5,
        "I hope you are well, full stop.", 1.2, "We miss you very much.", 1.2, "The dog is not well.", 1.2,
        "Scratch that.", 3.5, "New paragraph, please.", 1.2, "Come home soon and bring your guitar.", 1.2,
        "Replace guitar with piano.", 4.0, "That's all.", 5.0, "Save it.", 4.0,
    ), "letter.wav")
    events_path = tmp_path / "events.jsonl"
    cli("run", "--input", wav, "--events", events_path, check=True)
    events = read_events(events_path)
    actions = [e["action"] for e in events if e["type"] == "letter"]
    assert actions[0] == "start" and actions[-1] == "save"
    assert "scratch" in actions and "replace" in actions and "new_paragraph" in actions
    saved = Path([e["text"] for e in events if e["type"] == "letter" and e["action"] == "save"][0])
    text = saved.read_text()
    body = text.split("Dear Tom,\n\n", 1)[1]
    expected = "I hope you are well. We miss you very much.\n\nCome home soon and bring your piano.\n\nWith love,\n"
    assert body.count("\n\n") == expected.count("\n\n")  # paragraphs, exactly
    assert body.rstrip().endswith("With love,")
    assert "guitar" not in body and "dog" not in body.lower()
    assert word_error_rate(expected, body) <= 0.2, body
    eml = email.message_from_bytes(saved.with_suffix(".eml").read_bytes(), policy=default_policy)
    assert eml["Subject"] == "A letter for Tom" and "bring your piano" in eml.get_content()
    listing = cli("letters", "list", check=True).stdout
    assert saved.stem in listing
    assert "bring your piano" in cli("letters", "show", saved.stem[-8:], check=True).stdout
    out = tmp_path / "export.eml"
    cli("letters", "export", saved.stem, "--format", "eml", "--output", out, check=True)
    assert email.message_from_bytes(out.read_bytes())["Subject"] == "A letter for Tom"
    assert_one_line_error(cli("letters", "show", "no-such-letter"), "no letter matches")


def appends_in(path: Path) -> list[str]:
    """The sentences acknowledged so far (``letter append`` events), read while the run goes on."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the line being written
        if event["type"] == "letter" and event["action"] == "append":
            found.append(event["text"])
    return found


def test_kill_minus_nine_loses_no_finished_sentence(speech, tmp_path: Path, isolated_dirs) -> None:
    """SIGKILL mid-dictation, right after a random sentence was acknowledged, 12 times: every
    acknowledged sentence survives, none twice, and the next run takes the letter up on request."""
    wav = speech.write(dictation_scene(speech, SENTENCES), "long-letter.wav")
    go_on = speech.write(speech.scene(0.5, "Samantha, continue my letter.", 4.0), "go-on.wav")
    letters = isolated_dirs["state"] / "earpiece" / "letters"
    journal_path = letters / "current.jsonl"
    rng = random.Random(20261125)
    kills = 0
    for attempt in range(12):
        shutil.rmtree(letters, ignore_errors=True)
        events_path = tmp_path / f"events-{attempt}.jsonl"
        after = rng.randint(1, len(SENTENCES) - 3)
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--input", str(wav), "--events", str(events_path)],
                                env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(appends_in(events_path)) < after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.05))  # anywhere in the next sentence, journal write included
        assert proc.poll() is None, "the run ended before the kill: it would prove nothing"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        acknowledged = appends_in(events_path)
        assert after <= len(acknowledged) < len(SENTENCES), "the kill must land mid-dictation"
        recovered = Journal.recover(journal_path)
        assert recovered is not None
        pieces = recovered[1].pieces
        assert pieces[: len(acknowledged)] == acknowledged  # none lost, in order
        assert len(pieces) - len(acknowledged) <= 1  # at most the one journaled as the kill came
        assert len(set(pieces)) == len(pieces)  # none twice
        # the next run says nothing at start, and takes the letter up when asked, as it was
        resume_events = tmp_path / f"resume-{attempt}.jsonl"
        subprocess.run([sys.executable, "-m", "assistant", "run", "--input", str(go_on), "--events", str(resume_events)],
                       env=dict(os.environ), check=True, capture_output=True)
        replies = [e["text"] for e in read_events(resume_events) if e["type"] == "reply"]
        assert replies[0].startswith("Back to your letter to Tom."), replies
        assert Journal.recover(journal_path)[1].pieces == pieces  # type: ignore[index]
    assert kills == 12


def test_send_goes_through_smtp_with_headers(cli, speech, tmp_path: Path, smtp_server) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[mail.accounts.home]
smtp_host = "127.0.0.1"
smtp_port = {smtp_server.port}
smtp_security = "none"
username = "theodore"
password_env = "EP_TEST_PASSWORD"
from = "Theodore <theodore@example.org>"
""")
    (tmp_path / "contacts.toml").write_text('[[contact]]\nname = "Tom"\nemail = "tom@example.org"\ngreeting = "Dear Tom,"\nsign_off = "Love,"\n')
    wav = speech.write(speech.scene(0.5, "Samantha, take a letter to Tom.", 3.5, "We miss you very much.", 1.2,
                                    "That's all.", 5.0, "Send it.", 5.5, "Yes.", 4.0), "send.wav")
    events_path = tmp_path / "events.jsonl"
    env_result = subprocess.run([sys.executable, "-m", "assistant", "--config", str(config), "run", "--input", str(wav),
                                 "--events", str(events_path)], env=dict(os.environ, EP_TEST_PASSWORD="s3cret-pw"),
                                capture_output=True, text=True, timeout=300)
    assert env_result.returncode == 0, env_result.stderr
    events = read_events(events_path)
    assert [e["text"] for e in events if e["type"] == "letter" and e["action"] == "send"] == ["tom@example.org"]
    assert "Sent to Tom." in [e["text"] for e in events if e["type"] == "reply"]
    got = smtp_server.outbox.messages[0]
    assert got["rcpt_tos"] == ["tom@example.org"] and got["authenticated"]
    message = got["message"]
    assert message["From"] == "Theodore <theodore@example.org>" and message["To"] == "Tom <tom@example.org>"
    assert message["Message-ID"] and message["Date"]
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Dear Tom,\n\nWe miss you very much.") and "Love," in body
    assert "s3cret-pw" not in json.dumps(events)  # the password appears in no event


def test_save_also_lands_in_the_imap_drafts_folder(cli, speech, tmp_path: Path, imap_server) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[letters]
drafts = true
[mail.accounts.home]
imap_host = "127.0.0.1"
imap_port = {imap_server.imaps_port}
security = "tls"
username = "theodore"
password_env = "EP_TEST_PASSWORD"
from = "Theodore <theodore@example.org>"
""")
    wav = speech.write(speech.scene(0.5, "Samantha, take a letter to Tom.", 3.5, "We miss you very much.", 1.2,
                                    "That's all.", 5.0, "Save it.", 6.0), "draft.wav")
    events_path = tmp_path / "events.jsonl"
    result = subprocess.run([sys.executable, "-m", "assistant", "--config", str(config), "run", "--input", str(wav),
                             "--events", str(events_path)], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, EP_TEST_PASSWORD="s3cret-pw", SSL_CERT_FILE=str(imap_server.cafile)))
    assert result.returncode == 0, result.stderr
    events = read_events(events_path)
    assert [e["action"] for e in events if e["type"] == "letter"] == ["start", "append", "save"]
    assert not [e for e in events if e["type"] == "error"], events
    drafts = list(imap_server.maildir("Drafts"))
    assert len(drafts) == 1
    draft = email.message_from_bytes(bytes(drafts[0]), policy=default_policy)
    assert draft["Subject"] == "A letter for Tom" and "We miss you very much." in draft.get_content()
    assert "D" in drafts[0].get_flags()
