"""The systemd user unit: Type=notify with a watchdog, restarted on failure."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import platformdirs

UNIT_NAME = "earpiece.service"


def unit_path() -> Path:
    return Path(platformdirs.user_config_dir("systemd")) / "user" / UNIT_NAME


def unit_text(config: str | None = None) -> str:
    command = [sys.executable, "-m", "assistant"]
    if config:
        command += ["--config", str(Path(config).resolve())]
    command += ["daemon", "start", "--foreground"]
    return f"""[Unit]
Description=earpiece, an offline voice assistant for your headset
Documentation=https://example.invalid/earpiece/README.md
# The user's audio server; the unit waits for it when the user session starts it.
After=pipewire-pulse.service pulseaudio.service sound.target
Wants=sound.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={shlex.join(command)}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
WatchdogSec=30
TimeoutStopSec=20
# Find the user's PulseAudio/PipeWire and runtime dir as the login session does.
Environment=PYTHONUNBUFFERED=1
Environment=PULSE_RUNTIME_PATH=%t/pulse
UnsetEnvironment=EARPIECE_CONFIG

[Install]
WantedBy=default.target
"""


def install(config: str | None) -> list[str]:
    """Write and enable the unit; returns what to tell the user."""
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(config))
    lines = [f"wrote {path}"]
    if shutil.which("systemctl"):
        for args in (["daemon-reload"], ["enable", UNIT_NAME]):
            result = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True)
            if result.returncode:
                lines.append(f"systemctl --user {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}"
                             " (no user systemd here? run it from your desktop session)")
                break
        else:
            lines.append(f"enabled; start it now with: systemctl --user start {UNIT_NAME}")
    else:
        lines.append("systemctl not found: start the daemon with 'earpiece daemon start' instead")
    lines.append("to start it at boot without logging in: loginctl enable-linger $USER")
    return lines


def uninstall() -> list[str]:
    path = unit_path()
    lines = []
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "--user", "disable", "--now", UNIT_NAME], capture_output=True)
    if path.exists():
        path.unlink()
        lines.append(f"removed {path}")
    else:
        lines.append(f"no unit at {path}")
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "--user", "daemon-reload"], capture_output=True)
    return lines
