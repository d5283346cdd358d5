"""Dates, times and numbers in the reader's language and time zone (Babel)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime


def format_date(value: date | datetime, locale: str, timezone: str | None = None, *, fmt: str = "long") -> str:
    """A calendar day; a moment is first placed in ``timezone`` (UTC when none is given)."""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(timezone or "UTC")).date()
    return _format_date(value, format=fmt, locale=locale)


def format_datetime(value: datetime, locale: str, timezone: str, *, fmt: str = "medium") -> str:
    return _format_datetime(value, format=fmt, locale=locale, tzinfo=ZoneInfo(timezone))
