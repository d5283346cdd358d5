"""Working days on the Russian production calendar (производственный календарь).

Public holidays, the days off moved onto weekdays and the Saturdays made working days by government
decree all come from the ``holidays`` library, which tracks each year's decree.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=8)
def _calendar(year: int) -> holidays.HolidayBase:
    # A window of years around the one asked for: deadlines cross New Year.
    return holidays.country_holidays("RU", years=range(year - 1, year + 2))


def is_working_day(day: date) -> bool:
    return _calendar(day.year).is_working_day(day)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself is not counted).

    A hand-off "within 2 working days" of a Friday decision is due on Tuesday; of the decision on
    30 December 2026, on 12 January 2027.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    left = days
    while left:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
