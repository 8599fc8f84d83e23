"""One exception hierarchy whose messages are written for the person using earpiece.

The CLI prints ``str(error)`` as a single line and exits with ``exit_code``; the
pipeline turns the same errors into ``error`` events and keeps going.
"""

from __future__ import annotations

import threading


class EarpieceError(Exception):
    """A problem the user can act on; the message says what and how."""

    exit_code: int = 2


class ConfigError(EarpieceError):
    """The configuration file is missing, unreadable or invalid."""


class ModelError(EarpieceError):
    """A speech model is missing, broken or could not be installed."""


class AudioError(EarpieceError):
    """An audio device or audio file cannot be used."""


class DeviceNotFoundError(AudioError):
    """A device named in the config or on the command line does not exist."""


class SpeechError(EarpieceError):
    """Recognition or synthesis failed."""


class IntentError(EarpieceError):
    """A sentence template file is invalid."""


class WyomingError(EarpieceError):
    """A Wyoming server cannot listen, or a Wyoming peer cannot be reached or misbehaves."""


class CalendarError(EarpieceError):
    """A calendar could not be read or written. ``spoken`` is what is said aloud; ``str()`` the detail."""

    def __init__(self, message: str, spoken: str = "") -> None:
        super().__init__(message)
        self.spoken = spoken or "Sorry, something went wrong with your calendar."


class MediaError(EarpieceError):
    """No session D-Bus, or a media player that does not answer (MPRIS)."""


class MailError(EarpieceError):
    """Mail could not be read, changed or sent.

    ``spoken`` is the short sentence the assistant says aloud; ``str()`` is the detail for
    the event stream, logs and the CLI. Neither ever holds a password.
    """

    def __init__(self, message: str, spoken: str = "") -> None:
        super().__init__(message)
        self.spoken = spoken or "Sorry, something went wrong with your mail."


def spoken_os_error(exc: OSError) -> str:
    """A file system error as a person would say it: "the disk is full", not "Errno 28"."""
    import errno

    said = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the disk is read-only", errno.EACCES: "I'm not allowed to write there",
            errno.EPERM: "I'm not allowed to write there", errno.EIO: "the disk reported an error"}
    return said.get(exc.errno or 0, (exc.strerror or str(exc)).rstrip(".").lower())


class Complaint:
    """A failure said once until things work again: a bus or a server that is away is news the
    first time, not at every try. A worker thread may fail while the audio loop takes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said = False
        self._pending = ""

    def failed(self, message: str) -> None:
        with self._lock:
            if not self._said:
                self._pending, self._said = message, True

    def worked(self) -> None:
        with self._lock:
            self._said = False

    def take(self) -> str:
        """What to say now, once; empty when nothing new failed."""
        with self._lock:
            pending, self._pending = self._pending, ""
        return pending
