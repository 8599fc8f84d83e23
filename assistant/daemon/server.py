"""The control socket: a small, versioned JSON-lines protocol on a 0600 Unix socket.

One request line per connection, one response line back; ``{"cmd": "events"}`` instead
keeps the connection and streams every event as a JSON line. Anything malformed, too long,
too slow or from another user gets an error (or nothing) and never reaches the audio loop.

Requests: ``{"v": 1, "cmd": "status" | "mute" | "unmute" | "say" | "reload" | "stop" | "events", "text": ...}``
Responses: ``{"v": 1, "ok": true, ...}`` or ``{"v": 1, "ok": false, "error": "..."}``
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_LINE = 64 * 1024
"""Longest request accepted; "say" texts are far shorter."""

CLIENT_TIMEOUT = 2.0
"""Seconds a client may take to send its line, so a silent client cannot hold the socket."""

MAX_SUBSCRIBERS = 16
COMMANDS = ("status", "mute", "unmute", "say", "reload", "stop", "events")

Request = dict[str, Any]
Response = dict[str, Any]


class ProtocolError(Exception):
    """A request that cannot be served; the message goes back to the client."""


def parse_request(line: bytes) -> Request:
    """Validate one request line: JSON object, known version and command, fields of the right type."""
    try:
        request = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(request, dict):
        raise ProtocolError("a request is a JSON object")
    version = request.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {version!r} (this daemon speaks {PROTOCOL_VERSION})")
    command = request.get("cmd")
    if command not in COMMANDS:
        raise ProtocolError(f"unknown command {command!r} (known: {', '.join(COMMANDS)})")
    if command == "say":
        text = request.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError('"say" needs a non-empty "text"')
        if len(text) > 2000:
            raise ProtocolError('"say" text is limited to 2000 characters')
    return request


class ControlServer:
    """Accepts connections in one thread; commands run on the audio loop through ``submit``."""

    def __init__(self, path: Path, status: Callable[[], Response],
                 submit: Callable[[Request], "Future[Response]"]) -> None:
        self.path = path
        self._status = status
        self._submit = submit
        self._subscribers: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sock = self._bind()
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)

    def _bind(self) -> socket.socket:
        self.path.unlink(missing_ok=True)  # the caller holds the instance lock: any socket here is stale
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # created 0600: no window in which others could connect
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        sock.listen(32)
        sock.settimeout(0.5)
        return sock

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=5)
        self._sock.close()
        with self._lock:
            for client in self._subscribers:
                client.close()
            self._subscribers.clear()
        self.path.unlink(missing_ok=True)

    def broadcast(self, line: str) -> None:
        """Send an event line to every monitor; a slow or gone monitor is dropped, never waited for."""
        data = (line + "\n").encode()
        with self._lock:
            keep = []
            for client in self._subscribers:
                try:
                    client.sendall(data)
                    keep.append(client)
                except OSError:
                    client.close()
            self._subscribers = keep

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._closing.is_set():
                    return
                continue
            try:
                self._handle(client)
            except Exception:  # whatever a client does, the server goes on
                log.exception("control connection failed")
                client.close()

    def _handle(self, client: socket.socket) -> None:
        uid = _peer_uid(client)
        if uid is not None and uid != os.getuid():
            log.warning("refused a control connection from uid %d", uid)
            client.close()
            return
        client.settimeout(CLIENT_TIMEOUT)
        try:
            line = _read_line(client)
            request = parse_request(line)
        except ProtocolError as exc:
            _reply(client, {"v": PROTOCOL_VERSION, "ok": False, "error": str(exc)})
            client.close()
            return
        except OSError:
            client.close()
            return
        if request["cmd"] == "events":
            self._subscribe(client)
            return
        if request["cmd"] == "status":
            response = self._status()
        else:
            try:
                response = self._submit(request).result(timeout=15)
            except FutureTimeout:
                response = {"ok": False, "error": "the daemon is busy; try again"}
        _reply(client, {"v": PROTOCOL_VERSION, **response})
        client.close()

    def _subscribe(self, client: socket.socket) -> None:
        with self._lock:
            if len(self._subscribers) >= MAX_SUBSCRIBERS:
                _reply(client, {"v": PROTOCOL_VERSION, "ok": False, "error": "too many monitors"})
                client.close()
                return
            _reply(client, {"v": PROTOCOL_VERSION, "ok": True, "streaming": "events"})
            client.settimeout(1.0)
            self._subscribers.append(client)


def _read_line(client: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            if data:
                break
            raise ProtocolError("empty request")
        data += chunk
        if len(data) > MAX_LINE:
            raise ProtocolError(f"request longer than {MAX_LINE} bytes")
    return data.split(b"\n", 1)[0]


def _reply(client: socket.socket, response: Response) -> None:
    try:
        client.sendall((json.dumps(response, ensure_ascii=False) + "\n").encode())
    except OSError:
        pass


def _peer_uid(client: socket.socket) -> int | None:
    try:
        creds = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid
