"""The daemon process: one per user (lock), PID file, control socket, signals, sd_notify,
and the live audio loop, which is the only thread that touches the pipeline.

Commands from the socket arrive as futures on a queue and are applied between two audio
frames, so mute, say and reload never race with recognition.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import numpy as np

from assistant.app import LiveEnds, build_pipeline, load_engines, open_live_ends
from assistant.audio import FRAME_SAMPLES
from assistant.audio.headset import Headset
from assistant.config import Settings, load_settings
from assistant.daemon.notify import Notifier
from assistant.daemon.paths import DaemonPaths
from assistant.daemon.server import ControlServer, Request, Response
from assistant.dialogue import State
from assistant.errors import EarpieceError
from assistant.events import Event, EventBus
from assistant.mail.store import mail_configured, open_store
from assistant.mail.watcher import MailWatcher, NewMail, Notice
from assistant.memory import give_back
from assistant.pipeline import Pipeline
from assistant.stopping import GracefulStop

if TYPE_CHECKING:
    from assistant.wyoming.server import WyomingServer

log = logging.getLogger(__name__)

T = TypeVar("T")


def drained(waiting: "queue.Queue[T]") -> Iterator[T]:
    """What is in ``waiting`` now, without blocking (the audio loop serves it between frames)."""
    while True:
        try:
            yield waiting.get_nowait()
        except queue.Empty:
            return

STATUS_FRAMES = 10
"""Frames between two refreshes of the status snapshot (and after every command at once):
rebuilt for every 20 ms frame, it was the audio loop's largest cost on silence after the
pipeline itself (py-spy on the idle daemon)."""


class AlreadyRunning(EarpieceError):
    exit_code = 0


class Daemon:
    def __init__(self, config_arg: str | None, paths: DaemonPaths) -> None:
        self.config_arg = config_arg
        self.paths = paths.ensure()
        self.settings: Settings = load_settings(config_arg)
        self.bus = EventBus()
        self.bus.subscribe(self._on_event)
        self.notifier = Notifier()
        self._commands: queue.Queue[tuple[Request, Future[Response]]] = queue.Queue()
        self._stop = GracefulStop()
        self._reload_requested = threading.Event()
        self._muted = False
        self._started = time.monotonic()
        self._last_error = ""
        self._status: dict[str, Any] = {}
        self._status_lock = threading.Lock()
        self._lock_file = self._take_lock()
        self.server: ControlServer | None = None
        self.pipeline: Pipeline | None = None
        self.headset = Headset(lambda: open_live_ends(self.settings), self._report, self._wait_serving)
        self.watcher: MailWatcher | None = None
        self._mail_notices: queue.Queue[Notice] = queue.Queue()
        self.wyoming: WyomingServer | None = None
        self._wyoming_calls: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()

    # --- lifetime ------------------------------------------------------------------------------

    def _take_lock(self):  # type: ignore[no-untyped-def]
        handle = open(self.paths.lock, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            pid = self.paths.pid.read_text().strip() if self.paths.pid.exists() else "?"
            raise AlreadyRunning(f"the earpiece daemon is already running (pid {pid})") from None
        return handle

    def run(self) -> int:
        self.paths.pid.write_text(f"{os.getpid()}\n")
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, lambda *_: self._reload_requested.set())
        try:
            self.pipeline = build_pipeline(self.settings, self.bus, background=True)
            self._load_voice()
            give_back()  # what loading the engines freed (Whisper's weights before their conversion)
            self._serve_wyoming()
            self.pipeline.start(self.headset)
            self._watch_mail()
            self.headset.open()
            self._update_status()
            self.server = ControlServer(self.paths.socket, self._snapshot, self._submit)
            self.server.start()
            self.notifier.ready(self._state_word())
            self._loop()
        finally:
            self.notifier.stopping()
            if self.wyoming is not None:
                self.wyoming.stop()
            if self.watcher is not None:
                self.watcher.stop()
            if self.pipeline is not None:
                self.pipeline.finish()
                self.pipeline.let_go()
                self.pipeline.mail.close()
            self.headset.close()
            if self.server is not None:
                self.server.close()
            self.paths.pid.unlink(missing_ok=True)
            self._lock_file.close()
        return 0

    def _load_voice(self) -> None:
        """Load the voice before the first reply (not at it); a voice that cannot load is said
        once, as an error event, and the daemon goes on listening."""
        assert self.pipeline is not None
        try:
            self.pipeline.voice.load()  # it logs which engine speaks, and why
        except EarpieceError as exc:
            self._error(f"speech output: {exc}")
        if problem := self.pipeline.voice.take_problem():
            self._error(f"speech output: {problem}")

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        log.info("signal %d: stopping after the current frame", signum)
        self._stop.request()

    # --- the audio loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        assert self.pipeline is not None
        for index, frame in enumerate(self._frames()):
            self._service()
            if self._done():
                return
            self.pipeline.feed(np.zeros(FRAME_SAMPLES, np.int16) if self._muted else frame)
            if index % STATUS_FRAMES == 0:
                self._update_status()
            self.notifier.watchdog()

    def _frames(self) -> Iterator[np.ndarray]:
        """Frames from the headset; while it is away, the socket is still served."""
        return self.headset.frames(self._done)

    def _done(self) -> bool:
        """Stop now? After a stop request, only once the sentence being spoken has ended (its
        audio is still arriving: it is heard out, up to STOP_GRACE seconds), or at once if
        nobody is talking or the headset is gone."""
        talking = self.pipeline is not None and self.pipeline.in_speech and self.headset.ends is not None
        return self._stop.due(self._t(), talking)

    @property
    def ends(self) -> LiveEnds | None:
        return self.headset.ends

    def _report(self, kind: str, **fields: Any) -> None:
        self.bus.emit(kind, self._t(), **fields)

    def _wait_serving(self, seconds: float) -> None:
        """Sleep without audio while still answering commands and the watchdog."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._stop.requested:
            self._service()
            self._update_status()
            self.notifier.watchdog()
            time.sleep(0.05)

    def _watch_mail(self) -> None:
        """Start (or restart, after a reload) the inbox watcher, if there is an inbox and announcing is on."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.settings.mail.announce and mail_configured(self.settings):
            settings = self.settings
            self.watcher = MailWatcher(lambda: open_store(settings), self._mail_notices.put).start()

    def _serve_wyoming(self) -> None:
        """With [wyoming] serve: the Wyoming server on a thread of its own, its requests run here,
        between frames, on the pipeline's engines."""
        if not self.settings.wyoming.serve:
            return
        from assistant.wyoming.server import CallerWorker, WyomingServer
        from assistant.wyoming.services import Services

        assert self.pipeline is not None
        services = Services(self.settings, self.pipeline.engines, self.pipeline.voice, self.pipeline.router)
        try:
            server = WyomingServer(services, self.settings.wyoming.uri, CallerWorker(self._wyoming_call),
                                   zeroconf=self.settings.wyoming.zeroconf)
            server.start_thread()
        except EarpieceError as exc:
            self._error(f"wyoming: {exc}")  # the assistant itself goes on
            return
        self.wyoming = server

    def _wyoming_call(self, call: Callable[[], Any]) -> "Future[Any]":
        future: Future[Any] = Future()
        self._wyoming_calls.put((call, future))
        return future

    def _service(self) -> None:
        """Apply what arrived since the last frame: a reload, mail, Wyoming requests, control commands."""
        for call, answer in drained(self._wyoming_calls):
            try:
                answer.set_result(call())
            except Exception as exc:  # the server reports it to its client
                answer.set_exception(exc)
        if self._reload_requested.is_set():
            self._reload_requested.clear()
            self._reload()
            self._update_status()
        pipeline = self.pipeline
        for notice in drained(self._mail_notices) if pipeline is not None else ():
            if isinstance(notice, NewMail):
                pipeline.new_mail(notice.envelopes, announce=not self._muted, count=notice.count)
            elif notice.recovered:
                self.bus.emit("mail", self._t(), action="reconnected", uid="")
            else:
                self._error(f"mail: {notice.message}")
        for request, future in drained(self._commands):
            try:
                response = self._apply(request)
            except Exception as exc:  # a failing command is an answer, never a dead daemon
                log.exception("control command %s failed", request.get("cmd"))
                response = {"ok": False, "error": f"{request.get('cmd')} failed: {exc}"}
            self._update_status()  # a status asked right after this answer already shows its effect
            future.set_result(response)

    # --- commands -----------------------------------------------------------------------------

    def _submit(self, request: Request) -> "Future[Response]":
        future: Future[Response] = Future()
        self._commands.put((request, future))
        return future

    def _apply(self, request: Request) -> Response:
        command = request["cmd"]
        if command in ("mute", "unmute"):
            self._muted = command == "mute"
            self.bus.emit(command, self._t())
            return {"ok": True, "muted": self._muted}
        if command == "say":
            if self.pipeline is None:
                return {"ok": False, "error": "not ready yet"}
            self.pipeline.say(request["text"])
            return {"ok": True}
        if command == "reload":
            return self._reload()
        if command == "stop":
            self._stop.request()
            return {"ok": True, "stopping": True}
        return {"ok": False, "error": f"unhandled command {command}"}

    def _reload(self) -> Response:
        """Re-read the config; a broken one is reported and the running one kept."""
        try:
            settings = load_settings(self.config_arg)
        except EarpieceError as exc:
            message = f"reload refused, keeping the current configuration: {exc}"
            self._error(message)
            return {"ok": False, "error": message}
        assert self.pipeline is not None
        engines = self.pipeline.engines if settings.speech == self.settings.speech else load_engines(settings)
        voice = self.pipeline.voice if settings.voice == self.settings.voice else None  # loaded once, kept
        samples = self.pipeline.samples
        pipeline = build_pipeline(settings, self.bus, engines=engines, voice=voice, background=True)
        devices_changed = (settings.audio.input_device, settings.audio.output_device) != (
            self.settings.audio.input_device, self.settings.audio.output_device)
        if devices_changed:
            self.headset.reopen()
        mail_changed = settings.mail != self.settings.mail
        self.pipeline.mail.close()
        pipeline.carry_on(self.pipeline)  # a letter being dictated stays open
        self.settings, self.pipeline = settings, pipeline
        pipeline.start(self.headset, samples)
        if self.wyoming is not None:
            from assistant.wyoming.services import Services

            self.wyoming.update(Services(settings, pipeline.engines, pipeline.voice, pipeline.router))
        if mail_changed:
            self._watch_mail()
        self.bus.emit("reload", self._t(), source=str(settings.source) if settings.source else "defaults")
        return {"ok": True, "reloaded": str(settings.source) if settings.source else "defaults"}

    # --- status and events ---------------------------------------------------------------------

    def _t(self) -> float:
        return self.pipeline.t if self.pipeline is not None else 0.0

    def _error(self, message: str) -> None:
        self.bus.emit("error", self._t(), message=message)

    def _on_event(self, event: Event) -> None:
        if event.type == "error":
            self._last_error = str(event.data.get("message", ""))
        if self.server is not None:
            self.server.broadcast(event.to_json())

    def _state_word(self) -> str:
        if self._muted:
            return "muted"
        if self.ends is None:
            return "waiting for the headset"
        if self.pipeline is not None and self.pipeline.session.asleep:
            return "asleep"
        state = self.pipeline.dialogue.state if self.pipeline is not None else State.IDLE
        return "listening" if state is State.IDLE else state.value

    def _update_status(self) -> None:
        pipeline = self.pipeline
        status = {
            "ok": True, "running": True, "pid": os.getpid(), "state": self._state_word(),
            "muted": self._muted, "uptime": round(time.monotonic() - self._started, 1),
            "input": self.ends.input_name if self.ends else "", "output": self.ends.output_name if self.ends else "",
            "engine": pipeline.engines.streaming.name if pipeline else "",
            "model": self._model_name(), "name": pipeline.session.name if pipeline else "",
            "audio_seconds": round(pipeline.t, 1) if pipeline else 0.0, "last_error": self._last_error,
        }
        with self._status_lock:
            self._status = status
        self.notifier.status(status["state"])

    def _model_name(self) -> str:
        if self.pipeline is None:
            return ""
        streaming = self.pipeline.engines.streaming
        return self.settings.speech.model if streaming.name == "vosk" else "pocketsphinx en-us"

    def _snapshot(self) -> Response:
        with self._status_lock:
            status = dict(self._status) or {"ok": True, "running": True, "pid": os.getpid(), "state": "starting"}
        status["uptime"] = round(time.monotonic() - self._started, 1)
        return status


def run_daemon(config_arg: str | None, paths: DaemonPaths) -> int:
    return Daemon(config_arg, paths).run()

