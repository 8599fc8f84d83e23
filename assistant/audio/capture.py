"""Live capture: the sounddevice callback thread hands frames to a queue, nothing more."""

from __future__ import annotations

import logging
import queue
from typing import Iterator

import numpy as np

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.devices import Device, sounddevice
from assistant.audio.resample import StreamResampler, float_to_int16
from assistant.errors import AudioError

log = logging.getLogger(__name__)

CAPTURE_BLOCK = 0.1
"""Seconds per capture callback. The capture path (PortAudio's callback thread and the
PulseAudio client's own) costs by wake-ups, not by samples: a plain capture loop on the virtual
headset took 1.90 % of a core with 20 ms blocks, 0.83 % with 50 ms and 0.53 % with 100 ms
(measured side by side). A block is also how late a sound is heard: a process that answers the
mic's first sound at once answered after 120 ms (median) with 100 ms blocks and 60 ms with 50 ms,
and the daemon's replies came 40 ms sooner (bench/voice_latency.py, Piper p50 475 against 515
ms). But the daemon then took 1.55 % of a core on silence against 0.90 %, and more on talk
(bench/wake.py's live part), over the idle goal: 100 ms stays. wyoming-satellite reads 64 ms."""


class MicSource:
    """16 kHz mono int16 frames from a capture device, resampled when the device needs its own rate."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=500)
        self._pending = np.zeros(0, np.int16)
        self._stream = self._open()

    def _open(self):  # type: ignore[no-untyped-def]
        sd = sounddevice()
        self.device.open_env("input")
        for rate in (SAMPLE_RATE, self.device.default_rate):
            try:
                resampler = StreamResampler(rate)
                stream = sd.InputStream(
                    device=self.device.index, samplerate=rate, channels=1, dtype="float32",
                    blocksize=int(rate * CAPTURE_BLOCK), callback=self._make_callback(resampler),
                    finished_callback=lambda: self._queue.put(None),
                )
                stream.start()
                log.info("capturing from %s at %d Hz", self.device.name, rate)
                return stream
            except sd.PortAudioError as exc:
                last_error = exc
                log.debug("cannot open %s at %d Hz: %s", self.device.name, rate, exc)
        raise AudioError(f'cannot open input device "{self.device.name}": {last_error}')

    def _make_callback(self, resampler: StreamResampler):  # type: ignore[no-untyped-def]
        def callback(indata, frames, time_info, status) -> None:  # type: ignore[no-untyped-def]
            if status:
                log.debug("capture status: %s", status)
            try:
                self._queue.put_nowait(float_to_int16(resampler(indata.copy())))
            except queue.Full:
                log.warning("capture queue full; dropping audio (the pipeline is too slow)")

        return callback

    def backlog(self) -> float:
        """Seconds captured but not yet handed on: how far the pipeline's audio clock is behind
        the mic (it falls behind while Whisper reads, and catches up after)."""
        return self._queue.qsize() * CAPTURE_BLOCK + len(self._pending) / SAMPLE_RATE

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                raise AudioError(f'input device "{self.device.name}" stopped delivering audio')
            self._pending = np.concatenate([self._pending, chunk])
            while len(self._pending) >= FRAME_SAMPLES:
                yield self._pending[:FRAME_SAMPLES]
                self._pending = self._pending[FRAME_SAMPLES:]

    def close(self) -> None:
        try:
            self._stream.abort()
            self._stream.close()
        except Exception:  # closing a dead stream must never mask the real error
            log.debug("closing capture stream failed", exc_info=True)
