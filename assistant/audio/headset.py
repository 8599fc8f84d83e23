"""The headset as one source and sink that may come and go (unplugged, a Bluetooth drop).

PortAudio tells nothing when PulseAudio moves a stream to another device because its own
went away: the stream just carries the fallback's sound (or silence). So, for devices chosen
by their PulseAudio name, ``pactl subscribe`` is watched in a thread (an audio edge, like the
capture callback) and, when sources or sinks change, the names are looked up again. A device
that is gone closes the ends; they are reopened every REOPEN_EVERY seconds until it is back.
Streams that fail outright (the server died, a USB card vanished) are handled the same way.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from typing import Any, Callable, Iterator

import numpy as np

from assistant.audio.devices import pulse_devices
from assistant.errors import AudioError

log = logging.getLogger(__name__)

REOPEN_EVERY = 1.0
"""Seconds between attempts to reopen a headset that went away (it is back within this much)."""

Report = Callable[..., None]
"""``report(kind, **fields)``: an event for the bus ("device" or "error")."""


class PulseWatch:
    """Sets a flag whenever PulseAudio adds or removes a source or sink."""

    def __init__(self) -> None:
        self._changed = threading.Event()
        self._proc: subprocess.Popen[str] | None = None
        if not shutil.which("pactl"):
            return
        try:
            self._proc = subprocess.Popen(["pactl", "subscribe"], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        except OSError as exc:
            log.warning("cannot watch PulseAudio for unplugged devices: %s", exc)
            return
        threading.Thread(target=self._read, name="pulse-watch", daemon=True).start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if ("'remove'" in line or "'new'" in line) and (" source " in line or " sink " in line):
                self._changed.set()

    def changed(self) -> bool:
        """Whether devices changed since the last call."""
        if self._changed.is_set():
            self._changed.clear()
            return True
        return False

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(5)


class Headset:
    """Frames from the mic, replies to the speaker, across unplugs. ``open_ends`` opens both
    (``assistant.app.open_live_ends``); ``wait`` sleeps while it is away (the daemon answers
    its socket meanwhile)."""

    def __init__(self, open_ends: Callable[[], Any], report: Report | None = None,
                 wait: Callable[[float], None] = time.sleep) -> None:
        self._open_ends = open_ends
        self.report: Report = report or (lambda kind, **fields: log.warning("%s %s", kind, fields))
        self._wait = wait
        self.ends: Any = None
        self._watch: PulseWatch | None = None
        self._last_problem = ""
        self._lost: tuple[str, str] | None = None

    def open(self) -> bool:
        """Try to open the headset now; a failure is reported once, not every second."""
        try:
            self.ends = self._open_ends()
        except AudioError as exc:
            if str(exc) != self._last_problem:
                self._last_problem = str(exc)
                self.report("error", message=str(exc))
            return False
        self._last_problem = ""
        if self._lost is not None and (self.ends.input_name, self.ends.output_name) != self._lost:
            # "mic" also matches "builtin_mic": while the headset is away, the name must not
            # quietly open the laptop's own devices instead
            log.debug("waiting for %s, not %s", self._lost, (self.ends.input_name, self.ends.output_name))
            self._close_ends()
            return False
        if self._lost is not None:
            self._lost = None
            self.report("device", action="back", input=self.ends.input_name, output=self.ends.output_name)
        return True

    def frames(self, stopped: Callable[[], bool] = lambda: False) -> Iterator[np.ndarray]:
        """Frames until ``stopped()``; while the headset is away none come, and it is reopened."""
        while not stopped():
            if self.ends is None and not self.open():
                self._wait(REOPEN_EVERY)
                continue
            ends = self.ends
            if ends.pulse_names and self._watch is None:
                self._watch = PulseWatch()
            try:
                for frame in ends.source.frames():
                    yield frame
                    if stopped():
                        return
                    if self.ends is not ends:
                        break  # reopened meanwhile (a reload changed the devices)
                    if self._watch is not None and self._watch.changed():
                        self._check_present()
            except AudioError as exc:
                if self.ends is ends:
                    self._lose(str(exc))

    def _check_present(self) -> None:
        for direction, name in self.ends.pulse_names:
            if name not in pulse_devices(direction):
                raise AudioError(f'the {direction} device "{name}" went away')

    def _lose(self, problem: str) -> None:
        self.report("error", message=f"{problem}; I'll reopen it as soon as it is back")
        self.report("device", action="lost", input=self.ends.input_name, output=self.ends.output_name)
        self._last_problem = ""
        self._lost = (self.ends.input_name, self.ends.output_name)
        self._close_ends()

    def reopen(self) -> None:
        """Close now and open again on the next frame (the configured devices changed)."""
        self._close_ends()

    def _close_ends(self) -> None:
        if self.ends is not None:
            self.ends.source.close()
            self.ends.sink.close()
            self.ends = None

    # --- the sink side: replies go to whatever speaker is there ---------------------------------

    def play(self, pcm: np.ndarray, at: float) -> float:
        return self.ends.sink.play(pcm, at) if self.ends is not None else at

    def stop(self, at: float | None = None) -> None:
        if self.ends is not None:
            self.ends.sink.stop(at)

    def close(self, length: float = 0.0) -> None:
        """Close the ends and the watch (the pipeline closes its source and its sink: both are this)."""
        self._close_ends()
        if self._watch is not None:
            self._watch.close()
            self._watch = None
