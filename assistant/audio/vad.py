"""Voice activity: turns a frame stream into utterances with webrtcvad.

Speech starts when most of the last few frames are voiced; a pre-roll of recent frames
is kept so the first syllable is never lost; speech ends after ``end_silence`` seconds
of unvoiced frames or at ``max_utterance``.

webrtcvad calls steady noise (a fan, traffic, white noise) speech, which joined a whole noisy
minute into 20 s "utterances" with the name somewhere inside. So a frame counts as voiced only
if it also stands out from the background: the quietest recent frame power, which drops at
once and rises about 1 dB a second.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import webrtcvad

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE

ABOVE_FLOOR = 6.0
"""A voiced frame has at least this many times (7.8 dB) the background's power. The background
is measured by its quietest frame, and a room's noise sits well above that: in the pauses of
../shared/speech/porcupine-keywords.wav (one man, hum, a fan) its 20 ms frames ran 2 to 12
times the quietest, which webrtcvad mostly called speech. At 1.5 (1.8 dB) the floor let them
through, and words a second apart ran into one utterance, the second word past the spotter's
window: bench/wake_words.py found 13 of 19 words configured alone, 9 of 19 all at once; at 6,
16 and 12 (4 gave 11 and 9, 10 gave 19 and 14 with 9 wakes elsewhere, one run each); with the
pre-roll carried over (_end) and bare names weighed only after a spotter hit, 18 and 12, and no
wake elsewhere. The price, on synthetic speech over white noise (0.01), whose soft sounds now
fall under the floor more often: bench/wake.py's held-back half missed 35 of 294 against 33,
bench/intents.py's 652 of 768 right against 653 (with the other changes of that run).
webrtcvad adapts to the frames it is given, and it is given only those above the floor: fed
every frame (and its verdict then taken with the floor's), it found 12 and 6 at 1.5, 14 and 12
at 6, with more wakes elsewhere (7 and 4 against 2 and 3)."""

FLOOR_RISE = 1.005
"""Per-frame rise of the background estimate while nothing quieter comes (about 1 dB/s)."""

SILENCE_POWER = 100.0
"""Frame power (of int16 samples; about -70 dBFS) below which nothing is voiced, whatever the
background: webrtcvad holds its verdict for 80-100 ms after speech stops (its hangover), which
over a real room's noise the floor test cuts off, but over digital silence (a muted or
noise-gated headset, a virtual device, a file) the floor is zero and let every frame of the
hangover through: the end of speech, and so every reply, came 100 ms late."""


@dataclass
class VadUpdate:
    """What one frame changed: at most one edge, plus the frames to feed a recognizer."""

    started: bool = False
    ended: bool = False
    frames: list[np.ndarray] = field(default_factory=list)


class UtteranceSegmenter:
    def __init__(
        self,
        aggressiveness: int = 2,
        end_silence: float = 0.6,
        max_utterance: float = 20.0,
        pre_roll: float = 0.3,
        start_window: int = 6,
        start_voiced: int = 4,
    ) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._end_frames = max(1, round(end_silence / FRAME_SECONDS))
        self._max_frames = round(max_utterance / FRAME_SECONDS)
        self._pre_roll: deque[np.ndarray] = deque(maxlen=max(start_window, round(pre_roll / FRAME_SECONDS)))
        self._window: deque[bool] = deque(maxlen=start_window)
        self._start_voiced = start_voiced
        self.in_speech = False
        self._silent_run = 0
        self._length = 0
        self._floor: float | None = None
        self.audio: list[np.ndarray] = []
        """Frames of the current (or last) utterance."""

    def push(self, frame: np.ndarray, echo: bool = False) -> VadUpdate:
        """One frame; ``echo`` marks one that only carries the assistant's own voice coming
        back (never voiced, and no measure of the background)."""
        voiced = (not echo and self._above_floor(frame)  # the background is learned from every other frame
                  and self._vad.is_speech(frame.tobytes(), SAMPLE_RATE))
        update = VadUpdate()
        if not self.in_speech:
            self._pre_roll.append(frame)
            self._window.append(voiced)
            if sum(self._window) >= self._start_voiced:
                self.in_speech, self._silent_run = True, 0
                self.audio = list(self._pre_roll)
                self._length = len(self.audio)
                self._pre_roll.clear()
                self._window.clear()
                update.started = True
                update.frames = list(self.audio)
            return update
        self.audio.append(frame)
        self._length += 1
        update.frames = [frame]
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run >= self._end_frames or self._length >= self._max_frames:
            update.ended = True
            self._end()
        return update

    def _end(self) -> None:
        """The utterance is over. Its last quiet frames open the next one's pre-roll: a word
        said right after a short pause starts in them when its first sound is soft (the /p/ of
        "porcupine" after "pineapple" in porcupine-keywords.wav, where the spotter found the
        word only from 0.05 s before the next utterance's own start)."""
        self.in_speech = False
        quiet = min(self._silent_run, self._pre_roll.maxlen or 0)
        self._pre_roll.clear()
        self._pre_roll.extend(self.audio[len(self.audio) - quiet :] if quiet else [])

    def _above_floor(self, frame: np.ndarray) -> bool:
        samples = frame.astype(np.float64)
        power = float(np.dot(samples, samples)) / len(samples)
        floor = self._floor
        self._floor = power if floor is None or power < floor else floor * FLOOR_RISE
        if power < SILENCE_POWER:
            return False
        return floor is None or power >= ABOVE_FLOOR * floor

    def flush(self) -> VadUpdate:
        """End an utterance cut off by the end of input."""
        if not self.in_speech:
            return VadUpdate()
        self.in_speech = False
        return VadUpdate(ended=True)

    def reset(self) -> None:
        """Forget partial speech, e.g. while the assistant's own voice is playing."""
        self.in_speech = False
        self._pre_roll.clear()
        self._window.clear()
        self.audio = []

    def utterance(self) -> np.ndarray:
        return np.concatenate(self.audio) if self.audio else np.zeros(0, np.int16)

    @property
    def silent_frames(self) -> int:
        """Unvoiced frames since the last voiced one in the current utterance."""
        return self._silent_run if self.in_speech else 0

    @property
    def trailing_silence(self) -> int:
        """Unvoiced frames since the last voiced one, also once the utterance has ended."""
        return self._silent_run

    def force_end(self) -> None:
        """End the current utterance now (the caller knows it is complete)."""
        self._end()
