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


def test_time_left_in_words_follows_the_real_time() -> None:
    from datetime import timedelta

    from bot.services.formatting import format_left, format_span

    assert format_left(timedelta(minutes=2), "ru") == "через 2 минуты"  # never «через 1 ч»
    assert format_left(timedelta(hours=3), "ru") == "через 3 часа"
    assert format_left(timedelta(minutes=2), "en") == "in 2 minutes"
    assert format_span(timedelta(minutes=1440), "ru") == "1 день"


def test_the_booking_toast_derives_from_the_settings_and_the_time_left() -> None:
    from datetime import timedelta

    from aiogram.utils.i18n import I18n

    from dialogs.meetings.text import reminders_toast

    i18n = I18n(path="content/locales", default_locale="en", domain="messages")
    start = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    with i18n.context(), i18n.use_locale("ru"):
        far = reminders_toast(start + timedelta(days=3), start, (1440, 120), "ru")
        assert far == "Готово! Мы напомним вам за 1 день и за 2 часа."
        near = reminders_toast(start + timedelta(hours=3), start, (1440, 120), "ru")
        assert near == "Готово! Мы напомним вам за 2 часа."  # a day before has passed already
        now = reminders_toast(start + timedelta(minutes=30), start, (60,), "ru")
        assert now == "Готово! Встреча уже скоро: через 30 минут."
