"""Values a person typed, checked: the value to store, or ``Invalid`` naming what to correct (unlike
``parse``, which returns ``None`` on junk). Shared by cases, joining and the catalog editor."""

from __future__ import annotations

from datetime import date

from bot.services import parse
from bot.services.errors import Invalid

NAME_MAX = 40


def parse_day(raw: str | None, *, today: date, years_around: int = 3) -> date:
    """A date as staff type it: 31.12.2026, 31.12.26, 31/12/2026 or 2026-12-31 (``parse.day``)."""
    value = parse.day(raw, today=today, years_around=years_around)
    if value is None:
        raise Invalid("date")
    return value


def clean_name(raw: str | None) -> str:
    """A first name as typed: one line, letters with spaces, hyphens or apostrophes, 1-40 characters."""
    name = " ".join((raw or "").split())
    if not name or len(name) > NAME_MAX:
        raise Invalid("first_name")
    if not all(ch.isalpha() or ch in " -'’." for ch in name) or not any(ch.isalpha() for ch in name):
        raise Invalid("first_name")
    return name
