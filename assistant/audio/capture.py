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

CAPTURE_BLOCK = 0.05
"""Seconds per capture callback. A block is how late a sound is heard: a process that answers
the mic's first sound at once answered after 120 ms (median) with 100 ms blocks and 60 ms with
50 ms, and the daemon's replies come about 25 ms sooner on average (bench/voice_latency.py:
Piper p50 445 ms against 460-475, espeak-ng 320-330 against 380-385). The capture path costs by
wake-ups, not by samples (a plain capture loop on the virtual headset: 1.90 % of a core with
20 ms blocks, 0.83 % with 50 ms, 0.53 % with 100 ms), and the callback used to convert each
block with numpy (0.5 ms of CPU a block): 50 ms blocks then cost the idle daemon 2.3 % of a
core against 1.3-1.65 %. With the callback only queueing the block's bytes (_callback), the
daemon on silence takes 1.4-1.9 % with 50 ms blocks. wyoming-satellite reads 64 ms."""


MOST_BACKLOG = 50.0
"""Seconds of audio the capture queue holds before blocks are dropped (a pipeline stuck that
long is broken, and memory must not grow without bound)."""


class MicSource:
    """16 kHz mono int16 frames from a capture device, resampled when the device needs its own rate."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        """Blocks from PortAudio's thread (a SimpleQueue: its put is a C call, where a Queue's
        locks and conditions were most of the callback's cost)."""
        self._pending = np.zeros(0, np.int16)
        self._resampler: StreamResampler | None = None
        """Set where the device only opened at its own rate (None: 16 kHz as it comes)."""
        self._stream = self._open()

    def _open(self):  # type: ignore[no-untyped-def]
        sd = sounddevice()
        self.device.open_env("input")
        for rate in (SAMPLE_RATE, self.device.default_rate):
            try:
                stream = sd.RawInputStream(
                    device=self.device.index, samplerate=rate, channels=1, dtype="int16",
                    blocksize=int(rate * CAPTURE_BLOCK), callback=self._callback,
                    finished_callback=lambda: self._queue.put(None),
                )
                stream.start()
                self._resampler = None if rate == SAMPLE_RATE else StreamResampler(rate)
                log.info("capturing from %s at %d Hz", self.device.name, rate)
                return stream
            except sd.PortAudioError as exc:
                last_error = exc
                log.debug("cannot open %s at %d Hz: %s", self.device.name, rate, exc)
        raise AudioError(f'cannot open input device "{self.device.name}": {last_error}')

    def _callback(self, indata, frames, time_info, status) -> None:  # type: ignore[no-untyped-def]
        """PortAudio's thread: the block's bytes onto the queue, and nothing else. Converting
        and resampling here (numpy arrays made, clipped and scaled on every block) cost this
        thread about 0.5 ms of CPU a block; the consumer does it instead."""
        if status:
            log.debug("capture status: %s", status)
        if self._queue.qsize() * CAPTURE_BLOCK >= MOST_BACKLOG:
            log.warning("capture queue full; dropping audio (the pipeline is too slow)")
            return
        self._queue.put(bytes(indata))

    def backlog(self) -> float:
        """Seconds captured but not yet handed on: how far the pipeline's audio clock is behind
        the mic (it falls behind while Whisper reads, and catches up after)."""
        return self._queue.qsize() * CAPTURE_BLOCK + len(self._pending) / SAMPLE_RATE

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                raise AudioError(f'input device "{self.device.name}" stopped delivering audio')
            samples = np.frombuffer(chunk, np.int16)
            if self._resampler is not None:
                samples = float_to_int16(self._resampler(samples))
            self._pending = np.concatenate([self._pending, samples])
            while len(self._pending) >= FRAME_SAMPLES:
                yield self._pending[:FRAME_SAMPLES]
                self._pending = self._pending[FRAME_SAMPLES:]

    def close(self) -> None:
        try:
            self._stream.abort()
            self._stream.close()
        except Exception:  # closing a dead stream must never mask the real error
            log.debug("closing capture stream failed", exc_info=True)
