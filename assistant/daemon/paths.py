"""Where the daemon keeps its lock, PID file, socket and log (one set per user)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from assistant.config import APP


@dataclass(frozen=True)
class DaemonPaths:
    runtime: Path
    """Private (0700) runtime dir: $XDG_RUNTIME_DIR/earpiece."""

    @property
    def socket(self) -> Path:
        return self.runtime / "control.sock"

    @property
    def pid(self) -> Path:
        return self.runtime / "daemon.pid"

    @property
    def lock(self) -> Path:
        return self.runtime / "daemon.lock"

    @property
    def log(self) -> Path:
        return Path(platformdirs.user_state_dir(APP)) / "daemon.log"

    def ensure(self) -> "DaemonPaths":
        self.runtime.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime, 0o700)
        return self


def daemon_paths() -> DaemonPaths:
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/earpiece-runtime-{os.getuid()}"
    return DaemonPaths(Path(base) / APP)
