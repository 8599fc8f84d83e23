"""The CLI side of the control socket: one request, one response; or a stream of events."""

from __future__ import annotations

import json
import socket
from typing import Any, Iterator

from assistant.daemon.paths import DaemonPaths
from assistant.daemon.server import PROTOCOL_VERSION
from assistant.errors import EarpieceError


class NotRunning(EarpieceError):
    """No daemon answers on the socket."""

    exit_code = 3


def _connect(paths: DaemonPaths, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(paths.socket))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise NotRunning("the earpiece daemon is not running (start it with: earpiece daemon start)") from None
    except PermissionError:
        sock.close()
        raise EarpieceError(f"no permission to use {paths.socket}: the daemon belongs to another user") from None
    return sock


def request(paths: DaemonPaths, command: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
    with _connect(paths, timeout) as sock:
        sock.sendall((json.dumps({"v": PROTOCOL_VERSION, "cmd": command, **fields}) + "\n").encode())
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise EarpieceError(f"the daemon did not answer {command!r} within {timeout:.0f} s") from None
    if not data:
        raise EarpieceError(f"the daemon closed the connection without answering {command!r}")
    return json.loads(data)


def events(paths: DaemonPaths) -> Iterator[dict[str, Any]]:
    """Follow the live event stream until the daemon stops."""
    with _connect(paths, timeout=10.0) as sock:
        sock.sendall(b'{"v": 1, "cmd": "events"}\n')
        sock.settimeout(None)
        reader = sock.makefile("rb")
        first = json.loads(reader.readline() or b"{}")
        if not first.get("ok"):
            raise EarpieceError(f"monitor refused: {first.get('error', 'no answer')}")
        for line in reader:
            yield json.loads(line)
