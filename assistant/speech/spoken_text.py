"""Text made for speaking, in one place, for every voice: numbers, times, dates, e-mail
addresses and links said the way a person says them.

Synthesizers each guess at "3:30", "25th" or "anna@example.org" in their own way (espeak-ng
spells some, reads others as a sum), and a listener hears the guess. Every reply, mail
read-out, letter read back and announcement goes through ``for_speech`` before any engine
renders it; the words shown in events stay as written.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from assistant.intents.numbers import cardinal, ordinal, spoken_time

LONG_DIGITS = 7
"""Digit runs this long or longer (phone and account numbers) are read digit by digit."""

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()]+", re.IGNORECASE)
_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?:\s*([ap])\.?\s?m\b(?:\.(?=\s+[a-z]))?)?", re.IGNORECASE)
"""A clock time, with am/pm however written; the dot of "a.m." is kept only where it ends a sentence."""
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_MONEY = re.compile(r"([$€£])(\d[\d,]*)(?:\.(\d{2}))?\b")
_PERCENT = re.compile(r"\b(\d+(?:\.\d+)?)\s?%")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b")

_CURRENCY = {"$": ("dollar", "cent"), "€": ("euro", "cent"), "£": ("pound", "penny")}


def for_speech(text: str) -> str:
    """``text`` with what a synthesizer would misread written out as words."""
    text = _URL.sub(_spoken_url, text)
    text = _EMAIL.sub(lambda m: spoken_email(m.group(0)), text)
    text = _ISO_DATE.sub(_spoken_iso_date, text)
    text = _TIME.sub(_spoken_clock, text)
    text = _MONEY.sub(_spoken_money, text)
    text = _PERCENT.sub(lambda m: f"{_number_words(m.group(1))} percent", text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group(1))), text)
    text = _DECIMAL.sub(lambda m: f"{_number_words(m.group(1))} point {_digits(m.group(2))}", text)
    return _NUMBER.sub(lambda m: _number_words(m.group(0)), text)


def spoken_email(address: str) -> str:
    """anna.field@example.org -> "anna dot field at example dot org"."""
    return address.replace("@", " at ").replace(".", " dot ")


def _spoken_url(match: re.Match[str]) -> str:
    """A link is said by its site: "a link to example.org" (its path is noise to a listener)."""
    url = match.group(0).rstrip(".,;:!?")
    tail = match.group(0)[len(url):]
    host = link_host(url)
    return f"a link to {spoken_email(host)}{tail}" if host else f"a link{tail}"


def link_host(url: str) -> str:
    """The site a link goes to: "https://www.example.org/menu?x=1" -> "example.org"."""
    return re.sub(r"^(https?://)?(www\.)?", "", url, flags=re.IGNORECASE).split("/")[0].split("?")[0]


def _spoken_clock(match: re.Match[str]) -> str:
    hour, minute, half = int(match.group(1)), int(match.group(2)), (match.group(3) or "").lower()
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    said = spoken_time(datetime(2000, 1, 1, hour, minute))
    if half and said not in ("noon", "midnight"):
        said += " in the morning" if hour < 12 else " in the afternoon" if hour < 18 else " in the evening"
    return said


def _spoken_iso_date(match: re.Match[str]) -> str:
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return match.group(0)
    return f"the {ordinal(day.day)} of {day:%B} {spoken_year(day.year)}"


def spoken_year(year: int) -> str:
    """2026 -> "twenty twenty-six", 2005 -> "two thousand five", 1984 -> "nineteen eighty-four"."""
    high, low = divmod(year, 100)
    if year < 1000 or 2000 <= year < 2010 or low == 0 and high % 10 == 0:
        return cardinal(year)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {cardinal(low) if low >= 10 else 'oh ' + cardinal(low)}"


def _spoken_money(match: re.Match[str]) -> str:
    unit, small = _CURRENCY[match.group(1)]
    whole = int(match.group(2).replace(",", ""))
    said = f"{cardinal(whole)} {unit}{'' if whole == 1 else 's'}"
    cents = int(match.group(3) or 0)
    if cents:
        plural = "pence" if small == "penny" else "cents"
        said += f" and {cardinal(cents)} {small if cents == 1 else plural}"
    return said


def _number_words(number: str) -> str:
    digits = number.replace(",", "")
    if "." in digits:
        whole, fraction = digits.split(".", 1)
        return f"{_number_words(whole)} point {_digits(fraction)}"
    if len(digits) >= LONG_DIGITS or (len(digits) > 1 and digits.startswith("0")):
        return _digits(digits)  # a phone or account number, or a code: digit by digit
    return cardinal(int(digits))


def _digits(digits: str) -> str:
    return " ".join(_DIGIT_WORDS[int(d)] for d in digits)
