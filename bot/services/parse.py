"""One set of validators for every value that comes from outside: command arguments, callback data,
typed numbers, dates and times, payloads, keys read back from storage.

Each returns the parsed value or ``None`` (never raises on junk), with bounds:

- digits are ASCII digits only (``str.isdigit()`` is true for «²» and «١٢», and ``int()`` then fails
  or accepts what nobody meant);
- ids fit a signed 64-bit column (PostgreSQL ``BIGINT``), and are positive where ids are meant;
- small numbers (stars, days, indexes) have their own upper bound;
- dates lie within a sane range around today.

No aiogram here: handlers and services both use it.
"""

from __future__ import annotations

import re
from datetime import date

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# Telegram ids (users, chats) fit in 52 bits; anything longer is junk before it reaches the database.
MAX_DIGITS = 19

_DIGITS = re.compile(r"[0-9]{1,19}")
_SIGNED = re.compile(r"-?[0-9]{1,19}")


def digits(raw: str | None) -> bool:
    """True when ``raw`` is ASCII digits only and fits a BIGINT: the drop-in for ``str.isdigit()``
    before ``int()`` (a dialog's item id, a number in a button)."""
    return raw is not None and _DIGITS.fullmatch(raw) is not None and int(raw) <= INT64_MAX


def integer(raw: str | None, *, low: int = INT64_MIN, high: int = INT64_MAX) -> int | None:
    """A whole number in ASCII digits (an optional leading minus) within ``low..high``, else None."""
    if raw is None or _SIGNED.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def positive_id(raw: str | None) -> int | None:
    """A database or Telegram id: 1..2**63-1 in ASCII digits, else None."""
    return integer(raw, low=1, high=INT64_MAX)


def chat_id(raw: str | None) -> int | None:
    """A Telegram chat id (groups are negative): non-zero and within 64 bits, else None."""
    value = integer(raw)
    return value if value else None


def small(raw: str | None, *, low: int, high: int) -> int | None:
    """A small bounded number (stars 1..5, days 1..60, a question's index)."""
    return integer(raw, low=low, high=high)


def command_id(raw: str | None) -> int | None:
    """The id argument of a command as typed: spaces and a leading «#» are forgiven."""
    text = (raw or "").strip().lstrip("#").strip()
    return positive_id(text)


def callback_parts(data: str | None, prefix: str, count: int) -> list[str] | None:
    """``"ci:12:d"`` with prefix ``"ci"`` and count 2 → ``["12", "d"]``; anything else → None.

    Callback data is at most 64 bytes in Telegram, but a forged update may carry anything."""
    if data is None or len(data) > 64:
        return None
    parts = data.split(":")
    if len(parts) != count + 1 or parts[0] != prefix:
        return None
    return parts[1:]


def day(raw: str | None, *, today: date, years_around: int = 3) -> date | None:
    """A date as people type it: 31.12.2026, 31.12.26, 31/12/2026, 31-12-2026 or 2026-12-31,
    within ``years_around`` years of today; anything else → None."""
    text = (raw or "").strip().replace("/", ".").replace("-", ".").replace(" ", "")
    if len(text) > 10:
        return None
    parts = text.split(".")
    if len(parts) != 3 or not all(_DIGITS.fullmatch(p) for p in parts):
        return None
    if len(parts[0]) == 4:
        if not (len(parts[1]) <= 2 and len(parts[2]) <= 2):
            return None
        year, month, day_ = (int(p) for p in parts)
    else:
        if not (len(parts[0]) <= 2 and len(parts[1]) <= 2 and len(parts[2]) in (2, 4)):
            return None
        day_, month, year = (int(p) for p in parts)
        if len(parts[2]) == 2:
            year += 2000
    try:
        value = date(year, month, day_)
    except ValueError:
        return None
    if abs(value.year - today.year) > years_around:
        return None
    return value


def storage_key_part(raw: str | None) -> int | None:
    """A chat, user or thread id read back from an FSM storage key: within 64 bits, else None."""
    return integer(raw)


_CODE = re.compile(r"[a-z0-9_]{1,40}")


def region_code(raw: str | None) -> str | None:
    """A region's code as typed (``altai_krai``): lower-case ASCII letters, digits, underscores."""
    text = (raw or "").strip().lower()
    return text if _CODE.fullmatch(text) else None


def case_code(raw: str | None) -> str | None:
    """A case code as typed (``K7QM-3XPA``): ASCII letters and digits after dropping separators."""
    text = "".join(ch for ch in (raw or "").upper() if ch not in " -_#")
    return text if 4 <= len(text) <= 16 and text.isascii() and text.isalnum() else None
