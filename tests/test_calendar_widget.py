"""LocalizedCalendar rendered inside a real aiogram_dialog Dialog (its own BotClient / MockMessageManager)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.filters import CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import ConstI18nMiddleware
from aiogram_dialog import Dialog, DialogManager, StartMode, Window, setup_dialogs
from aiogram_dialog.test_tools import BotClient, MockMessageManager
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from aiogram_dialog.widgets.kbd.calendar_kbd import raw_from_date
from aiogram_dialog.widgets.text import Const, Format

from bot.i18n import create_i18n
from dialogs.common.calendar import LocalizedCalendar, future_config

CONTENT = Path(__file__).resolve().parent.parent / "content"
TODAY = date(2026, 12, 10)


class PickSG(StatesGroup):
    pick = State()
    done = State()


@dataclass
class FakeApp:
    """Stands in for AppContext: the calendar takes “today” from its clock."""

    fixed: date

    def today(self, timezone: str | None = None) -> date:
        # Moscow is still on the day before: 01:00 in Barnaul (the default zone) is 21:00 in Moscow
        return self.fixed - timedelta(days=1) if timezone == "Europe/Moscow" else self.fixed


async def on_date(event: Any, widget: Any, manager: DialogManager, picked: date) -> None:
    manager.dialog_data["picked"] = picked.isoformat()
    await manager.switch_to(PickSG.done)


async def zone_getter(**_: Any) -> dict[str, Any]:
    return {"zone": "Europe/Moscow"}


def make_dialog(calendar: LocalizedCalendar | None = None) -> Dialog:
    calendar = calendar or LocalizedCalendar("cal", on_click=on_date, days_ahead=60)
    return Dialog(
        Window(Const("pick"), calendar, getter=zone_getter, state=PickSG.pick),
        Window(Format("picked {dialog_data[picked]}"), state=PickSG.done),
    )


async def start(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(PickSG.pick, mode=StartMode.RESET_STACK)


def make_bot(locale: str, calendar: LocalizedCalendar | None = None) -> tuple[BotClient, MockMessageManager]:
    dp = Dispatcher(storage=MemoryStorage(), app=FakeApp(TODAY))
    ConstI18nMiddleware(locale=locale, i18n=create_i18n(CONTENT, "ru")).setup(dp)
    router = Router()
    router.message.register(start, CommandStart())
    dp.include_routers(router, make_dialog(calendar))
    messages = MockMessageManager()
    setup_dialogs(dp, message_manager=messages)
    return BotClient(dp), messages


def rows(message: Message) -> list[list[InlineKeyboardButton]]:
    assert message.reply_markup is not None
    return message.reply_markup.inline_keyboard


def texts(row: list[InlineKeyboardButton]) -> list[str]:
    return [b.text for b in row]


def assert_short_callbacks(message: Message) -> None:
    for row in rows(message):
        for button in row:
            assert button.callback_data is not None
            assert 1 <= len(button.callback_data.encode()) <= 64, button


async def opened(
    locale: str, calendar: LocalizedCalendar | None = None
) -> tuple[BotClient, MockMessageManager, Message]:
    client, messages = make_bot(locale, calendar)
    await client.send("/start")
    return client, messages, messages.last_message()


async def test_russian_days_view() -> None:
    _client, _messages, message = await opened("ru")
    keyboard = rows(message)
    assert texts(keyboard[0]) == ["🗓 декабрь 2026"]
    assert texts(keyboard[1]) == ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
    days = [b for row in keyboard[2:-1] for b in row]
    # Monday first; 7–9 December are blank (the week of 1–6 December, wholly past, is left out)
    assert texts(keyboard[2]) == [" ", " ", " ", "·10·", "11", "12", "13"]
    assert all(b.callback_data is not None and not b.callback_data.endswith("cal:") for b in days)
    shown = [b.text for b in days if b.text.strip()]
    assert shown[0] == "·10·"  # today marked, days before it blank
    assert shown[1:3] == ["11", "12"] and shown[-1] == "31"
    assert texts(keyboard[-1]) == [" ", "🔍", "январь 2027 »"]  # no way back into the past
    assert_short_callbacks(message)


async def test_english_days_view() -> None:
    _client, _messages, message = await opened("en")
    keyboard = rows(message)
    assert texts(keyboard[0]) == ["🗓 December 2026"]
    assert texts(keyboard[1]) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


async def test_unknown_locale_falls_back_to_english() -> None:
    _client, _messages, message = await opened("xx")
    assert texts(rows(message)[0]) == ["🗓 December 2026"]


async def test_pick_a_date() -> None:
    client, messages, message = await opened("ru")
    messages.reset_history()
    await client.click(message, InlineButtonTextLocator("15"))
    assert messages.last_message().text == "picked 2026-12-15"


async def test_past_dates_cannot_be_chosen() -> None:
    client, messages, message = await opened("ru")
    assert InlineButtonTextLocator("9").find_button(message) is None
    # a stale keyboard or a forged callback: same prefix, a date before today
    button = rows(message)[2][1]
    assert button.callback_data is not None
    intent_prefix = button.callback_data.split("cal:")[0]
    forged = InlineKeyboardButton(text="9", callback_data=f"{intent_prefix}cal:{raw_from_date(date(2026, 12, 9))}")
    late = InlineKeyboardButton(text="99", callback_data=f"{intent_prefix}cal:{raw_from_date(date(2027, 3, 1))}")
    junk = InlineKeyboardButton(text="junk", callback_data=f"{intent_prefix}cal:not-a-date")
    tampered = message.model_copy(update={"reply_markup": InlineKeyboardMarkup(inline_keyboard=[[forged, late, junk]])})
    for label in ("9", "99", "junk"):
        messages.reset_history()
        await client.click(tampered, InlineButtonTextLocator(label))
        assert all("picked" not in (m.text or "") for m in messages.sent_messages)
    messages.reset_history()
    await client.click(message, InlineButtonTextLocator("·10·"))  # today itself is allowed
    assert messages.last_message().text == "picked 2026-12-10"


async def test_month_and_year_views_are_localized() -> None:
    client, messages, message = await opened("ru")
    await client.click(message, InlineButtonTextLocator("🗓 декабрь 2026"))
    months = messages.last_message()
    flat = [b.text for row in rows(months) for b in row]
    assert flat[0] == "🗓 2026"
    assert "[ декабрь ]" in flat
    assert "ноябрь" not in flat and "январь" not in flat  # whole months in the past are blank
    assert_short_callbacks(months)

    await client.click(months, InlineButtonTextLocator("🗓 2026"))
    years = messages.last_message()
    flat = [b.text for row in rows(years) for b in row]
    assert "[ 2026 ]" in flat and "2025" not in flat
    assert_short_callbacks(years)


async def test_next_month_moves_on() -> None:
    client, messages, message = await opened("ru")
    await client.click(message, InlineButtonTextLocator("январь 2027 »"))
    after = messages.last_message()
    assert texts(rows(after)[0]) == ["🗓 январь 2027"]
    assert texts(rows(after)[-1])[0] == "« декабрь 2026"
    assert_short_callbacks(after)


def test_future_config() -> None:
    config = future_config(date(2026, 12, 3), days_ahead=30)
    assert config.firstweekday == 0
    assert config.min_date == date(2026, 12, 3)
    assert config.max_date == date(2027, 1, 2)


async def test_static_future_config_also_blanks_the_past() -> None:
    """Limits fixed once with future_config (no days_ahead): same blanks, same refusal."""
    calendar = LocalizedCalendar("cal", on_click=on_date, config=future_config(TODAY, days_ahead=5))
    client, messages, message = await opened("ru", calendar)
    shown = [b.text for row in rows(message)[2:] for b in row if b.text.strip()]
    assert shown == ["·10·", "11", "12", "13", "14", "15"]
    assert texts(rows(message)[-1]) == ["14", "15", " ", " ", " ", " ", " "]  # no pager: nowhere to go
    assert all(any(b.text.strip() for b in row) for row in rows(message))  # wholly blank weeks dropped
    messages.reset_history()
    await client.click(message, InlineButtonTextLocator(" "))  # a blank button does nothing
    assert all("picked" not in (m.text or "") for m in messages.sent_messages)
    await client.click(message, InlineButtonTextLocator("15"))
    assert messages.last_message().text == "picked 2026-12-15"


async def test_today_in_the_zone_from_the_getter() -> None:
    """zone_key: “today” is counted in the getter's zone (Moscow, a day behind here), also on click."""
    calendar = LocalizedCalendar("cal", on_click=on_date, days_ahead=60, zone_key="zone")
    client, messages, message = await opened("ru", calendar)
    keyboard = rows(message)
    assert texts(keyboard[2]) == [" ", " ", "·9·", "10", "11", "12", "13"]
    messages.reset_history()
    await client.click(message, InlineButtonTextLocator("·9·"))
    assert messages.last_message().text == "picked 2026-12-09"
