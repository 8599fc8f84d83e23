"""How alike two texts sound: espeak-ng's phonemes and a phone-level edit distance.

A recognizer spells a name it does not know however it likes ("Pumble Bee" for bumblebee,
"4Q pine" for porcupine, "Justina" for christina), so a wake phrase is found in a reading by its
sound, not its letters. espeak-ng (already the light speech engine) turns any text, numbers and
made-up names included, into phonemes through its library's ``espeak_TextToPhonemes``; the
distance between two phoneme strings is a Levenshtein distance in which a phone costs less to
swap for one of its kind (a vowel for a vowel, /p/ for /b/, /m/ for /n/) than for any other.
Where espeak-ng's library is missing, letters stand in for phones (a worse but working guess).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import re
import threading
import unicodedata
from functools import cache
from typing import Sequence

log = logging.getLogger(__name__)

VOWELS = frozenset("aeiouyæɐɑɒɔəɘɛɜɞɪʊʌɤɨʉøœɯ")
"""First letters of espeak-ng's IPA vowels (a diphthong such as "aɪ" is one phone)."""

NEAR_PAIRS: tuple[frozenset[str], ...] = tuple(frozenset(pair.split()) for pair in (
    "p b", "t d", "k ɡ", "f v", "θ ð", "s z", "ʃ ʒ", "tʃ dʒ", "m n", "n ŋ", "θ f", "ð d", "θ t",
    "s ʃ", "z ʒ", "ɹ l", "w v", "j dʒ", "t ɾ", "d ɾ", "s θ", "k t", "p t",
))
"""Consonants that recognizers and accents swap for each other (voicing pairs, nasals, the
dental fricatives, flaps): swapping them costs half."""

_ESPEAK_RETRIEVAL = 1
_ESPEAK_UTF8 = 1
_IPA = 0x02


class Phonetics:
    """Phonemes of English text, and how alike two texts sound.

    Cheap to make: espeak-ng's library is loaded once per process (it is one state in C, not
    thread-safe, hence its lock); each object keeps a cache of the words it has pronounced.
    """

    def __init__(self) -> None:
        self._lib, self._lock = _espeak()
        self._cache: dict[str, tuple[str, ...]] = {}

    @property
    def phonemic(self) -> bool:
        """Whether espeak-ng pronounces (else letters stand in for phones)."""
        return self._lib is not None

    def phones(self, text: str) -> tuple[str, ...]:
        """The phones of ``text``'s words, stress and length marks dropped."""
        result: list[str] = []
        for word in re.findall(r"[\w']+", text.casefold()):
            result += self._word_phones(word)
        return tuple(result)

    def distance(self, a: str, b: str) -> float:
        """How unlike ``a`` sounds from ``b``, relative to ``b``: 0 the same sounds, 1 or more
        nothing alike (edit cost over the number of ``b``'s phones)."""
        target = self.phones(b)
        return phone_distance(self.phones(a), target) / max(1, len(target))

    def unlikeness(self, a: str, b: str) -> float:
        """How unlike ``a`` and ``b`` sound, relative to the longer: 0 the same sounds, 1 nothing
        alike. Symmetric, so words one of them has and the other lacks count fully."""
        first, second = self.phones(a), self.phones(b)
        return phone_distance(first, second) / max(1, len(first), len(second))

    def _word_phones(self, word: str) -> tuple[str, ...]:
        known = self._cache.get(word)
        if known is not None:
            return known
        if self._lib is None:
            return tuple(word)
        with self._lock:
            ipa = _text_to_phonemes(self._lib, word)
        phones = tuple(split_phones(ipa)) or tuple(word)
        if len(self._cache) < 20000:  # a daemon hears new words for ever; these are cheap to redo
            self._cache[word] = phones
        return phones


def phone_distance(a: Sequence[str], b: Sequence[str]) -> float:
    """Levenshtein distance over phones: insert or delete 1, swap 1, or 0.5 between phones of
    a kind (two vowels, or a NEAR_PAIRS pair)."""
    previous = [float(j) for j in range(len(b) + 1)]
    for i, phone in enumerate(a, start=1):
        current = [float(i)] + [0.0] * len(b)
        for j, other in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + swap_cost(phone, other))
        previous = current
    return previous[-1]


def swap_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if (a[0] in VOWELS) == (b[0] in VOWELS) and a[0] in VOWELS:
        return 0.5
    if frozenset((a, b)) in NEAR_PAIRS:
        return 0.5
    return 1.0


def split_phones(ipa: str) -> list[str]:
    """espeak-ng's IPA with "_" between phones (and spaces between words) as a list of phones,
    without stress or length marks."""
    phones = []
    for chunk in ipa.replace(" ", "_").split("_"):
        phone = "".join(ch for ch in chunk if ch not in "ˈˌːˑ'-" and not unicodedata.combining(ch))
        if phone:
            phones.append(phone)
    return phones


ESPEAK_VOICE = "en-us"
"""The voice whose phoneme rules read the text: one per process, as espeak-ng's state is one."""


@cache
def _espeak() -> tuple[ctypes.CDLL | None, threading.Lock]:
    """espeak-ng's library, initialized once per process, and the lock its calls take."""
    return _load_espeak(ESPEAK_VOICE), threading.Lock()


def _load_espeak(voice: str) -> ctypes.CDLL | None:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        if lib.espeak_Initialize(_ESPEAK_RETRIEVAL, 0, None, 0) < 0:
            raise OSError("espeak_Initialize failed")
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise OSError(f"no espeak-ng voice {voice!r}")
    except (OSError, AttributeError) as exc:
        log.warning("espeak-ng's library is not usable (%s): wake phrases are matched by letters", exc)
        return None
    return lib


def _text_to_phonemes(lib: ctypes.CDLL, text: str) -> str:
    """All clauses of ``text`` as IPA, phones apart by "_"."""
    buffer = ctypes.create_string_buffer(text.encode("utf-8"))
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    clauses: list[str] = []
    mode = _IPA | (ord("_") << 8)
    for _clause in range(len(text) + 1):  # espeak-ng moves the pointer on, to NULL at the end
        if not pointer.value:
            break
        result = lib.espeak_TextToPhonemes(ctypes.byref(pointer), _ESPEAK_UTF8, mode)
        if result:
            clauses.append(result.decode("utf-8", "replace").strip())
    return " ".join(clauses)
