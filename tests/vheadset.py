"""A real PulseAudio server with a virtual headset, private to one test session.

Recipe: ../shared/recipes/virtual-headset.md. ``mic`` is fed by playing into the
``micfeed`` sink; whatever the assistant plays on ``spk`` is recorded from ``spk.monitor``.
The builtin_* devices are where streams fall back to on unplug, so nothing leaks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

VA_PA = """\
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=spk rate=16000 channels=1 norewinds=1
load-module module-null-sink sink_name=builtin_spk rate=16000 channels=1 norewinds=1
load-module module-null-sink sink_name=micfeed rate=16000 channels=1 norewinds=1
load-module module-remap-source source_name=mic master=micfeed.monitor
load-module module-null-sink sink_name=builtin_micfeed rate=16000 channels=1 norewinds=1
load-module module-remap-source source_name=builtin_mic master=builtin_micfeed.monitor
set-default-sink spk
set-default-source mic
"""


class VirtualHeadset:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vheadset-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.client_env: dict[str, str] = {}

    def start(self, timeout: float = 10.0) -> "VirtualHeadset":
        run, home = self.dir / "run", self.dir / "home"
        (run / "pulse").mkdir(parents=True, mode=0o700)
        home.mkdir()
        os.chmod(run, 0o700)
        (self.dir / "va.pa").write_text(VA_PA)
        server_env = dict(os.environ, XDG_RUNTIME_DIR=str(run), PULSE_RUNTIME_PATH=str(run / "pulse"), HOME=str(home))
        server_env.pop("PULSE_SERVER", None)
        self.client_env = {"PULSE_SERVER": f"unix:{run}/pulse/native"}
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(self.dir / "va.pa"), "--daemonize=no", "--exit-idle-time=-1",
             "--enable-memfd=no", f"--log-target=file:{self.dir}/pa.log"],
            env=server_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        started = time.monotonic()
        while self.pactl("info").returncode:
            if self.proc.poll() is not None or time.monotonic() - started > timeout:
                raise RuntimeError("PulseAudio did not start:\n" + (self.dir / "pa.log").read_text(errors="replace"))
            time.sleep(0.02)
        return self

    def env(self) -> dict[str, str]:
        return dict(os.environ, **self.client_env)

    def pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pactl", *args], env=self.env(), capture_output=True, text=True)

    PLUGS = {"mic": "module-remap-source source_name=mic master=micfeed.monitor",
             "spk": "module-null-sink sink_name=spk rate=16000 channels=1 norewinds=1"}

    def unplug(self, device: str) -> None:
        """Remove the virtual ``mic`` or ``spk`` as an unplugged headset would vanish."""
        name = self.PLUGS[device].split()[0]
        for line in self.pactl("list", "short", "modules").stdout.splitlines():
            index, module, *args = line.split("\t")
            if module == name and f"_name={device} " in " ".join(args) + " ":
                assert self.pactl("unload-module", index).returncode == 0
                return
        raise AssertionError(f"{device} is not plugged in")

    def plug(self, device: str) -> None:
        result = self.pactl("load-module", *self.PLUGS[device].split())
        assert result.returncode == 0, result.stderr

    def speak_into_mic(self, wav: Path) -> None:
        """Plays a 16 kHz mono WAV into the virtual mic; blocks for its real-time length."""
        subprocess.run(["paplay", "--device=micfeed", str(wav)], env=self.env(), check=True)

    def record_speaker(self, wav: Path) -> subprocess.Popen[bytes]:
        """Starts recording the virtual speaker; send SIGTERM (stop_recording) to finish the file."""
        return subprocess.Popen(
            ["parecord", "--device=spk.monitor", "--file-format=wav", "--rate=16000", "--channels=1",
             "--format=s16le", str(wav)], env=self.env())

    def ask(self, wav: Path, recording: Path, answered: Callable[[], object]) -> None:
        """Speak ``wav`` into the mic and record the speaker until ``answered()`` returns, plus 0.3 s."""
        recorder = self.record_speaker(recording)
        self.speak_into_mic(wav)
        answered()
        time.sleep(0.3)
        self.stop_recording(recorder)

    @staticmethod
    def wait_recorded(wav: Path, seconds: float, timeout: float = 10.0) -> None:
        """Wait until the recording in progress holds ``seconds`` more audio than now: the
        recorder is really running (not just started), on a loaded machine too."""
        def held() -> float:
            return max(0, wav.stat().st_size - 44) / (2 * 16000) if wav.exists() else 0.0

        target, deadline = held() + seconds, time.monotonic() + timeout
        while held() < target:
            assert time.monotonic() < deadline, f"the recording {wav} does not grow"
            time.sleep(0.02)

    @staticmethod
    def stop_recording(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)
