"""Numbers and times the way people say them ("ten past three", "twenty-fifth")."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from unicode_rbnf import FormatPurpose, RbnfEngine


@lru_cache(maxsize=1)
def _engine() -> RbnfEngine:
    return RbnfEngine.for_language("en")


def cardinal(number: int) -> str:
    return _engine().format_number(number, FormatPurpose.CARDINAL).text


def ordinal(number: int) -> str:
    return _engine().format_number(number, FormatPurpose.ORDINAL).text


def spoken_time(now: datetime) -> str:
    """12-hour time as speech: "three o'clock", "ten past three", "quarter to four", "three forty-two"."""
    hour, minute = now.hour, now.minute

    def hour_word(h: int) -> str:
        return cardinal(h % 12 or 12)

    if minute == 0:
        return {0: "midnight", 12: "noon"}.get(hour, f"{hour_word(hour)} o'clock")
    if minute == 15:
        return f"quarter past {hour_word(hour)}"
    if minute == 30:
        return f"half past {hour_word(hour)}"
    if minute == 45:
        return f"quarter to {hour_word(hour + 1)}"
    if minute in (5, 10, 20, 25):
        return f"{cardinal(minute)} past {hour_word(hour)}"
    if minute in (35, 40, 50, 55):
        return f"{cardinal(60 - minute)} to {hour_word(hour + 1)}"
    base = hour_word(hour)
    return f"{base} oh {cardinal(minute)}" if minute < 10 else f"{base} {cardinal(minute)}"


def part_of_day(now: datetime) -> str:
    if now.hour < 5 or now.hour >= 22:
        return "at night"
    if now.hour < 12:
        return "in the morning"
    if now.hour < 18:
        return "in the afternoon"
    return "in the evening"


def spoken_date(now: datetime) -> str:
    return f"{now:%A}, the {ordinal(now.day)} of {now:%B}"


def spoken_duration(seconds: int) -> str:
    """ "an hour and a half", "twenty-five minutes", "one minute and thirty seconds"."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes == 30 and not secs:
        return "an hour and a half" if hours == 1 else f"{cardinal(hours)} and a half hours"
    if not hours and minutes == 30 and not secs:
        return "half an hour"
    parts = []
    for amount, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if amount:
            word = "an" if unit == "hour" and amount == 1 else cardinal(amount)
            parts.append(f"{word} {unit}{'s' if amount != 1 else ''}")
    if not parts:
        return "no time"
    return " and ".join(parts) if len(parts) <= 2 else f"{parts[0]}, {parts[1]} and {parts[2]}"
