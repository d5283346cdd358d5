from datetime import date

import pytest

from bot.services import workdays


def test_friday_plus_two_is_tuesday() -> None:
    friday = date(2026, 11, 20)
    assert friday.weekday() == 4
    due = workdays.add_working_days(friday, 2)
    assert due == date(2026, 11, 24)
    assert due.weekday() == 1


def test_friday_plus_one_is_monday() -> None:
    assert workdays.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 23)


def test_across_new_year_holidays() -> None:
    # 31 December 2026 is a day off (moved from 3 January), 1-8 January are holidays, 9-10 a weekend.
    assert workdays.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 12)
    assert workdays.add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 11)
    assert workdays.working_days_between(date(2026, 12, 30), date(2027, 1, 12)) == 2


def test_unity_day_is_not_a_working_day() -> None:
    unity_day = date(2026, 11, 4)
    assert unity_day.weekday() == 2  # a Wednesday
    assert not workdays.is_working_day(unity_day)
    assert workdays.is_working_day(date(2026, 11, 3))
    assert workdays.is_working_day(date(2026, 11, 5))
    # Tuesday + 1 skips the holiday and lands on Thursday.
    assert workdays.add_working_days(date(2026, 11, 3), 1) == date(2026, 11, 5)
    assert workdays.working_days_between(date(2026, 11, 3), date(2026, 11, 5)) == 1


def test_ordinary_weekend_is_not_working() -> None:
    assert not workdays.is_working_day(date(2026, 11, 21))  # Saturday
    assert not workdays.is_working_day(date(2026, 11, 22))  # Sunday
    assert workdays.is_working_day(date(2026, 11, 23))  # Monday


def test_saturday_made_a_working_day_by_decree() -> None:
    working_saturday = date(2025, 11, 1)
    assert working_saturday.weekday() == 5
    assert workdays.is_working_day(working_saturday)
    # Friday 31 October + 1 is that Saturday, not Monday.
    assert workdays.add_working_days(date(2025, 10, 31), 1) == working_saturday
    # 3 and 4 November 2025 are days off: Saturday + 1 is Wednesday the 5th.
    assert workdays.add_working_days(working_saturday, 1) == date(2025, 11, 5)


def test_zero_days_is_the_start_itself() -> None:
    assert workdays.add_working_days(date(2026, 11, 4), 0) == date(2026, 11, 4)
    assert workdays.add_working_days(date(2026, 11, 21), 0) == date(2026, 11, 21)


def test_negative_days_raise() -> None:
    with pytest.raises(ValueError):
        workdays.add_working_days(date(2026, 11, 20), -1)


def test_working_days_between_not_later_is_zero() -> None:
    assert workdays.working_days_between(date(2026, 11, 20), date(2026, 11, 20)) == 0
    assert workdays.working_days_between(date(2026, 11, 24), date(2026, 11, 20)) == 0
    # Friday to the next Friday: Mon-Fri, five working days.
    assert workdays.working_days_between(date(2026, 11, 20), date(2026, 11, 27)) == 5
