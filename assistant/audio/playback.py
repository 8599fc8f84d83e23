"""Live playback in one worker thread, so replies can be stopped mid-word (barge-in)."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.audio.devices import Device, sounddevice
from assistant.errors import AudioError

log = logging.getLogger(__name__)

PAD_SECONDS = 0.15
"""PortAudio's ALSA stop drops the last partial period; silence padding keeps reply endings."""


class SpeakerSink:
    """Plays int16 16 kHz replies on an output device; ``stop()`` cuts the current one."""

    def __init__(self, device: Device, backlog: Callable[[], float] = lambda: 0.0) -> None:
        self.device = device
        self._backlog = backlog
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._stop = threading.Event()
        sd = sounddevice()
        device.open_env("output")
        try:
            self._stream = sd.OutputStream(device=device.index, samplerate=SAMPLE_RATE, channels=1, dtype="int16")
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioError(f'cannot open output device "{device.name}": {exc}') from None
        self._worker = threading.Thread(target=self._run, name="playback", daemon=True)
        self._worker.start()

    def play(self, pcm: np.ndarray, at: float, more: bool = False) -> float:
        """Queue ``pcm``; returns the audio time (of the capture clock) at which it will be heard:
        ``at`` plus the capture backlog and the output latency, so the echo gate and barge-in
        look for it where the mic will really carry it. ``more``: the same sound goes on in the
        next call (audio that arrives in pieces), so no padding is played after this piece."""
        self._stop.clear()
        pad = 0 if more else int(PAD_SECONDS * SAMPLE_RATE)
        self._queue.put(np.concatenate([pcm, np.zeros(pad, np.int16)]))
        return at + self._backlog() + float(self._stream.latency or 0.0)

    def stop(self, at: float | None = None) -> None:
        """Cut the reply now, and drop any queued behind it (``at`` is for file sinks)."""
        self._stop.set()
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return
            if pending is None:  # closing: keep the worker's end marker
                self._queue.put(None)
                return

    def _run(self) -> None:
        block = SAMPLE_RATE // 50
        while (pcm := self._queue.get()) is not None:
            for start in range(0, len(pcm), block):
                if self._stop.is_set():
                    break
                try:
                    self._stream.write(pcm[start : start + block])
                except Exception as exc:  # device gone: report, keep the worker alive
                    log.error("playback failed on %s: %s", self.device.name, exc)
                    break

    def close(self, length: float = 0.0) -> None:
        self._queue.put(None)
        self._worker.join(timeout=5)
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:
            log.debug("closing playback stream failed", exc_info=True)
