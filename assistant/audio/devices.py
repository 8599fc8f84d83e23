"""Finding audio devices by (part of) their name.

Names are matched against PortAudio's list first. On PulseAudio/PipeWire systems,
PortAudio often shows only "pulse" and "default", so a name can also match a
PulseAudio source or sink; that one is then selected through PULSE_SOURCE/PULSE_SINK
on the "pulse" device, which PulseAudio reads at each stream open.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from assistant.errors import AudioError, DeviceNotFoundError

log = logging.getLogger(__name__)

Direction = Literal["input", "output"]


@dataclass(frozen=True)
class Device:
    name: str
    """Name as shown to the user."""

    index: int | str | None
    """What sounddevice opens: a PortAudio index, "pulse", or None for the default."""

    default_rate: int
    """The device's native sample rate."""

    pulse_name: str = ""
    """PulseAudio source/sink to route "pulse" to, when matched that way."""

    def open_env(self, direction: Direction) -> None:
        """Route the "pulse" device to the matched PulseAudio source or sink before opening."""
        if self.pulse_name:
            os.environ["PULSE_SOURCE" if direction == "input" else "PULSE_SINK"] = self.pulse_name


@functools.cache
def sounddevice() -> ModuleType:
    """Import sounddevice lazily, turning a missing PortAudio into a clear message."""
    try:
        import sounddevice as sd
    except OSError as exc:
        raise AudioError(f"PortAudio is not installed ({exc}); install it with: apt-get install libportaudio2") from None
    _release_alsa_probe_plugins()
    return sd


def _release_alsa_probe_plugins() -> None:
    """Unload the ALSA plugins PortAudio loaded only to list devices.

    Importing sounddevice lists the devices by opening every PCM the ALSA configuration defines,
    and so loads each plugin's module: a52 (FFmpeg's codec libraries and theirs), jack, speex,
    upmix and the rest, about 11 MB resident that no stream of ours uses. Freeing ALSA's global
    configuration unloads the modules no open PCM holds; a stream opened later reads the
    configuration again and loads its own plugin only. PortAudio's device list is its own copy,
    so nothing it says changes. Where there is no ALSA (macOS, Windows) there is nothing to do."""
    name = ctypes.util.find_library("asound")
    if name is None:
        return
    try:
        free_global = ctypes.CDLL(name).snd_config_update_free_global
    except (OSError, AttributeError):
        return
    free_global.restype = ctypes.c_int
    free_global()


def portaudio_devices(direction: Direction) -> list[Device]:
    sd = sounddevice()
    key = "max_input_channels" if direction == "input" else "max_output_channels"
    return [
        Device(str(info["name"]), index, int(info["default_samplerate"]))
        for index, info in enumerate(sd.query_devices())
        if info[key] > 0
    ]


def pulse_devices(direction: Direction) -> list[str]:
    """PulseAudio source/sink names, or [] when there is no reachable server."""
    if not shutil.which("pactl"):
        return []
    kind = "sources" if direction == "input" else "sinks"
    try:
        out = subprocess.run(["pactl", "list", "short", kind], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = [line.split("\t")[1] for line in out.stdout.splitlines() if "\t" in line]
    if direction == "input":
        names = [n for n in names if not n.endswith(".monitor")]
    return names


def find_device(query: str, direction: Direction) -> Device:
    """The device whose name contains ``query`` (case-insensitive); "" is the system default."""
    devices = portaudio_devices(direction)
    if not query:
        sd = sounddevice()
        default_index = sd.default.device[0 if direction == "input" else 1]
        for device in devices:
            if device.index == default_index:
                return Device(device.name, None, device.default_rate)
        if not devices:
            raise DeviceNotFoundError(
                f"no audio {direction} device found; is a headset connected and PulseAudio/PipeWire running? "
                "(file mode works without one: earpiece run --input IN.wav)"
            )
        return Device(devices[0].name, None, devices[0].default_rate)
    wanted = query.casefold()
    exact = [d for d in devices if d.name.casefold() == wanted]
    partial = exact or [d for d in devices if wanted in d.name.casefold()]
    if partial:
        return partial[0]
    pulse = pulse_devices(direction)
    pulse_match = [n for n in pulse if n.casefold() == wanted] or [n for n in pulse if wanted in n.casefold()]
    pulse_port = next((d for d in devices if d.name == "pulse"), None)
    if pulse_match and pulse_port is not None:
        return Device(pulse_match[0], pulse_port.index, pulse_port.default_rate, pulse_name=pulse_match[0])
    known = sorted({d.name for d in devices} | set(pulse))
    listing = ", ".join(f'"{n}"' for n in known) or "none"
    raise DeviceNotFoundError(f'no {direction} device matches "{query}"; devices there are: {listing}')


def describe_devices(input_query: str, output_query: str) -> list[str]:
    """Lines for ``earpiece devices``, marking what the config selects with '*'."""
    lines: list[str] = []
    for direction, query in (("input", input_query), ("output", output_query)):
        try:
            selected = find_device(query, direction).name
        except AudioError as exc:
            selected = None
            lines.append(f"{direction}: {exc}")
        lines.append(f"{direction} devices:")
        names = [d.name for d in portaudio_devices(direction)]
        extra = [n for n in pulse_devices(direction) if n not in names]
        for name in names + [f"{n}" for n in extra]:
            mark = "*" if name == selected else " "
            origin = "  (PulseAudio)" if name in extra else ""
            lines.append(f"  {mark} {name}{origin}")
    return lines
