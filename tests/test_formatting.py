from datetime import UTC, date, datetime

from bot.services.formatting import format_date, format_datetime

EVENING = datetime(2026, 12, 3, 20, 30, tzinfo=UTC)


def test_date_in_her_time_zone_and_language() -> None:
    # 20:30 UTC on the 3rd is already the 4th in Barnaul (UTC+7).
    assert format_date(EVENING, "ru", "Asia/Barnaul") == "4 декабря 2026\u202fг."
    assert format_date(EVENING, "en", "Asia/Barnaul") == "December 4, 2026"
    assert format_date(EVENING, "ru", "Europe/Moscow") == "3 декабря 2026\u202fг."
    assert format_date(date(2027, 1, 7), "ru", "Asia/Barnaul") == "7 января 2027\u202fг."


def test_datetime_in_her_time_zone() -> None:
    assert format_datetime(EVENING, "ru", "Asia/Barnaul", fmt="short") == "04.12.2026, 03:30"
    assert format_datetime(EVENING, "en", "Europe/Moscow", fmt="EEE, d MMMM, HH:mm") == "Thu, 3 December, 23:30"
    assert format_datetime(EVENING, "ru", "Asia/Barnaul", fmt="EEE, d MMMM, HH:mm") == "пт, 4 декабря, 03:30"
