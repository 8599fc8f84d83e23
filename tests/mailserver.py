"""A real Dovecot IMAP server on loopback high ports, private to a test session.

Recipe and its verification: ../shared/recipes/mail-servers.md (Dovecot 2.3 syntax).
"""

from __future__ import annotations

import ctypes
import email.header
import grp
import imaplib
import mailbox
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER, PASSWORD = "theodore", "s3cret-pw"

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {b}/run
state_dir = {b}/state
log_path = {b}/dovecot.log
ssl = yes
ssl_cert = <{b}/cert.pem
ssl_key = <{b}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 1
mail_location = maildir:~/Maildir
imap_idle_notify_interval = {idle_notify}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {b}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {b}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
{no_chroot}}}
service anvil {{
{no_chroot}}}
namespace inbox {{
  inbox = yes
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Dovecot:
    def __init__(self, idle_notify: str = "0") -> None:
        """``idle_notify``: Dovecot's "* OK Still here" interval inside IDLE (0 = never; "1s" to test keepalives)."""
        self.base = b = Path(tempfile.mkdtemp(prefix="dc-", dir="/tmp"))  # short: socket paths < 108 bytes
        self.user, self.password = USER, PASSWORD
        self.port, self.imaps_port = free_port(), free_port()
        self.cafile = b / "cert.pem"
        for d in ("run", "state", "mail"):
            (b / d).mkdir()
        rootless = os.geteuid() != 0
        if rootless:
            me = pwd.getpwuid(os.geteuid())
            uid, gid, login, internal = me.pw_uid, me.pw_gid, me.pw_name, me.pw_name
            group = grp.getgrgid(gid).gr_name
        else:
            dv = pwd.getpwnam("dovecot")
            uid, gid, login, internal, group = dv.pw_uid, dv.pw_gid, "dovenull", "dovecot", "dovecot"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(b / "key.pem"), "-out", str(b / "cert.pem")], check=True, capture_output=True)
        (b / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{b}/mail/{USER}\n")
        (b / "dovecot.conf").write_text(DOVECOT_CONF.format(
            b=b, login_user=login, internal_user=internal, internal_group=group, imap_port=self.port,
            imaps_port=self.imaps_port, idle_notify=idle_notify, no_chroot="  chroot =\\n" if rootless else ""))
        os.chmod(b, 0o755)
        if not rootless:
            shutil.chown(b / "mail", uid, gid)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Dovecot":
        started = time.monotonic()
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.base / "dovecot.conf")],
                                     stdout=open(self.base / "dovecot.out", "a"), stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        while True:
            assert self.proc.poll() is None, (self.base / "dovecot.out").read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                assert time.monotonic() - started < 10, "dovecot did not answer within 10 s"
                time.sleep(0.01)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def maildir(self, folder: str | None = None) -> mailbox.Maildir:
        path = self.base / "mail" / self.user / "Maildir"
        return mailbox.Maildir(path / f".{folder}" if folder else path, create=False)

    def log_problems(self) -> list[str]:
        log = self.base / "dovecot.log"
        text = log.read_text() if log.exists() else ""
        return [line for line in text.splitlines() if any(k in line for k in (" Error: ", " Fatal: ", " Panic: "))]

    # --- state, through IMAP itself (so Dovecot's indexes stay right) ----------------------

    def imap(self) -> "imaplib.IMAP4":
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def reset(self) -> None:
        """Empty every folder: each test starts from a known mailbox."""
        client = self.imap()
        try:
            for folder in ("INBOX", "Archive", "Trash", "Sent", "Drafts"):
                status, count = client.select(folder)
                if status == "OK" and int(count[0] or 0):
                    client.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                    client.expunge()
        finally:
            client.logout()

    def seed(self, messages: "list[bytes]", seen: "set[int]" = frozenset()) -> None:  # type: ignore[assignment]
        """APPEND messages to INBOX in order (the last is the newest); indexes in ``seen`` get \\Seen."""
        client = self.imap()
        try:
            for index, raw in enumerate(messages):
                status, detail = client.append("INBOX", "(\\Seen)" if index in seen else None, None, raw)
                assert status == "OK", detail
        finally:
            client.logout()

    def folder(self, name: str = "INBOX") -> "list[tuple[str, set[str]]]":
        """(Subject, flags) of each message in a folder, oldest first."""
        client = self.imap()
        try:
            status, count = client.select(name, readonly=True)
            assert status == "OK", name
            if int(count[0] or 0) == 0:
                return []
            status, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            out = []
            for item in data:
                if isinstance(item, tuple):
                    flags = {flag.decode() for flag in imaplib.ParseFlags(item[0])}
                    raw = item[1].decode("utf-8", "replace").partition(":")[2].strip()
                    subject = str(email.header.make_header(email.header.decode_header(raw)))
                    out.append((subject, flags))
            return out
        finally:
            client.logout()


def write_maildir(path: Path, count: int, unread: int, owner: "tuple[int, int] | None" = None) -> None:
    """A big Maildir written straight to disk (APPENDing 20,000 messages would take minutes):
    ``count`` small messages, the newest ``unread`` of them unread (in new/), the rest read
    (cur/, flag S). Delivery times one minute apart, so "newest" is well defined."""
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    base = 1_700_000_000
    for n in range(count):
        read = n < count - unread
        name = f"{base + 60 * n}.M{n}P1.bulk" + (":2,S" if read else "")
        target = path / ("cur" if read else "new") / name
        target.write_bytes(
            f"From: Sender {n} <sender{n}@example.org>\r\nTo: theodore@example.org\r\n"
            f"Subject: Message number {n}\r\nMessage-ID: <bulk-{n}@example.org>\r\n\r\n"
            f"Body of message {n}.\r\n".encode())
        os.utime(target, (base + 60 * n, base + 60 * n))
        if owner is not None:
            os.chown(target, *owner)
