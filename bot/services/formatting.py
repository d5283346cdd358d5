"""Dates, times and numbers in the reader's language and time zone (Babel)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_timedelta as _format_timedelta


def format_date(value: date | datetime, locale: str, timezone: str | None = None, *, fmt: str = "long") -> str:
    """A calendar day; a moment is first placed in ``timezone`` (UTC when none is given)."""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(timezone or "UTC")).date()
    return _format_date(value, format=fmt, locale=locale)


def format_datetime(value: datetime, locale: str, timezone: str, *, fmt: str = "medium") -> str:
    return _format_datetime(value, format=fmt, locale=locale, tzinfo=ZoneInfo(timezone))


_WHEN = {"ru": "EEE, d MMMM, HH:mm", "en": "EEE, MMMM d, HH:mm"}


def format_when(value: datetime, locale: str, timezone: str) -> str:
    """A meeting's time in plain words, in her zone: «чт, 3 декабря, 14:00» / "Thu, December 3, 14:00"."""
    pattern = _WHEN.get(locale.split("_")[0], _WHEN["en"])
    return _format_datetime(value, format=pattern, locale=locale, tzinfo=ZoneInfo(timezone))


def format_left(delta: timedelta, locale: str) -> str:
    """The real time left, in words: «через 2 минуты», «через 3 часа» (never «через 1 ч» for 2 minutes)."""
    return _format_timedelta(max(delta, timedelta(minutes=1)), threshold=1, add_direction=True, locale=locale)


def format_span(delta: timedelta, locale: str) -> str:
    """A span in words, for «за 1 день», «за 2 часа»."""
    return _format_timedelta(delta, threshold=1, locale=locale)
