"""Assembling the assistant from settings: the one place that wires engines, router, voice and state.

The CLI's file and live modes and the daemon all build their pipeline here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assistant.config import Settings, state_dir, user_config_path
from assistant.events import EventBus
from assistant.intents.router import Router
from assistant.calendar.sources import open_calendars
from assistant.letters.addressbook import AddressBook
from assistant.media.ducking import Ducker
from assistant.media.mpris import Mpris
from assistant.pipeline import Engines, Pipeline, Sink, Source
from assistant.speech.loader import load_dictation, load_streaming
from assistant.speech.voice import Voice
from assistant.state import FilePersistence, StateStore


def load_engines(settings: Settings) -> Engines:
    return Engines(load_streaming(settings), load_dictation(settings))


def build_pipeline(settings: Settings, bus: EventBus, start_time: datetime | None = None,
                   engines: Engines | None = None, voice: Voice | None = None, background: bool = False) -> Pipeline:
    """``background`` (live audio: the daemon, `earpiece run` on the headset): calendar fetches
    for announcements on a thread of their own; otherwise (a file) on the audio clock, repeatably."""
    config_path = settings.source or user_config_path()
    router = Router.for_config_dir(config_path.parent)
    store = StateStore(state_dir(settings))
    return Pipeline(settings, engines or load_engines(settings), router, voice or Voice(settings.voice), bus, start_time,
                    remembered=store.load(), persistence=FilePersistence(store, config_path),
                    journal_path=journal_path(settings),
                    address_book=AddressBook.load(config_path.parent / "contacts.toml"),
                    ducker=Ducker(Mpris(), settings.media, state_dir(settings) / "ducked.json"),
                    calendars=lambda: open_calendars(settings), calendar_background=background)


def journal_path(settings: Settings) -> Path:
    """The journal of the letter being dictated (one at a time)."""
    return state_dir(settings) / "letters" / "current.jsonl"


@dataclass(frozen=True)
class LiveEnds:
    source: Source
    sink: Sink
    input_name: str
    output_name: str
    pulse_names: tuple[tuple[str, str], ...] = ()
    """(direction, PulseAudio name) of the devices chosen that way, to notice when they go away."""


def open_live_ends(settings: Settings) -> LiveEnds:
    """The configured headset (or the defaults), with clear errors for missing devices."""
    from assistant.audio.capture import MicSource
    from assistant.audio.devices import find_device
    from assistant.audio.playback import SpeakerSink

    mic = find_device(settings.audio.input_device, "input")
    speaker = find_device(settings.audio.output_device, "output")
    source = MicSource(mic)
    try:
        sink = SpeakerSink(speaker, source.backlog)
    except Exception:
        source.close()
        raise
    pulse = tuple((d, device.pulse_name) for d, device in (("input", mic), ("output", speaker)) if device.pulse_name)
    return LiveEnds(source, sink, mic.name, speaker.name, pulse)
