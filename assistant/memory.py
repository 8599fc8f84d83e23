"""Giving freed memory back to the system, where the C library keeps it.

Loading the engines converts Whisper's weights to 8 bits and builds the command grammar, and
each reply runs both networks on buffers of their own: glibc's allocator keeps what they free
in its heap, so a daemon that has answered a few questions stays as large as it was at its
busiest. ``malloc_trim`` hands those free pages back; called after loading and whenever the
assistant is idle again, it costs a few milliseconds where nobody waits for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> None:
    """Return the heap's free pages to the system (nothing where the C library cannot)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
