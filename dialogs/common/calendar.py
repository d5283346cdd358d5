"""A date picker in the reader's language.

aiogram_dialog's ``Calendar`` names months and weekdays with ``strftime`` (the server's C locale,
so English). ``LocalizedCalendar`` renders them with Babel in the locale the I18n middleware chose
for this update: “декабрь 2026”, “пн вт ср …”, Monday first.

Usage in a Window::

    async def on_date(event, widget, manager: DialogManager, picked: date) -> None:
        manager.dialog_data["date"] = picked.isoformat()
        await manager.next()

    Window(
        Const("Which day?"),
        LocalizedCalendar("date", on_click=on_date, days_ahead=180, zone_key="zone"),
        getter=zone_getter,  # {"zone": "Asia/Barnaul"}; without zone_key: the default zone
        state=...,
    )

With ``days_ahead`` the past (before today) and the days after ``today + days_ahead`` are blank and
cannot be chosen, “today” being recomputed on every render (from ``AppContext.today(zone)`` when the
dialog runs inside the bot, so the test clock applies too). ``future_config`` gives fixed limits
instead, for a calendar built per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager
from aiogram_dialog.api.internal import RawKeyboard
from aiogram_dialog.widgets.common import WhenCondition
from aiogram_dialog.widgets.kbd import Calendar, CalendarConfig
from aiogram_dialog.widgets.kbd.calendar_kbd import (
    CalendarDaysView,
    CalendarMonthView,
    CalendarScope,
    CalendarScopeView,
    CalendarUserConfig,
    CalendarYearsView,
    OnDateSelected,
    date_from_raw,
)
from aiogram_dialog.widgets.text import Format, Text
from aiogram_dialog.widgets.widget_event import WidgetEventProcessor
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_day_names

FALLBACK_LOCALE = "en"

# A picked day always comes in a CallbackQuery; aiogram_dialog's OnDateSelected types it as any ChatEvent.
OnDayPicked = Callable[[CallbackQuery, Any, DialogManager, date], Awaitable[Any]]


@lru_cache(maxsize=32)
def babel_locale(code: str) -> Locale:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK_LOCALE)


def reader_locale(manager: DialogManager) -> Locale:
    """The locale the I18n middleware chose for this update (``dialogs.common.getters.locale_of``)."""
    i18n = manager.middleware_data.get("i18n")
    return babel_locale(i18n.current_locale if i18n is not None else FALLBACK_LOCALE)


def today_of(manager: DialogManager, timezone: tzinfo | None, zone: str | None = None) -> date:
    """Today in ``zone`` (IANA name; else the service's default zone) by the bot's clock.

    Inside the bot that is ``AppContext.today(zone)``, so a test clock applies; without an ``app``
    in the middleware data, the system clock in ``zone`` or the calendar's ``timezone``.
    """
    app = manager.middleware_data.get("app")
    if app is not None and callable(getattr(app, "today", None)):
        return app.today(zone)
    return datetime.now(ZoneInfo(zone) if zone else timezone).date()


class BabelDate(Text):
    """``data["date"]`` as a Babel pattern (``LLLL y`` → “декабрь 2026”), put into ``template``."""

    def __init__(self, pattern: str, template: str = "{}", when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.pattern = pattern
        self.template = template

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        return self.template.format(format_date(data["date"], format=self.pattern, locale=reader_locale(manager)))


class BabelWeekday(Text):
    """Stand-alone abbreviated weekday of ``data["date"]``: “пн”, “Mon”."""

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        names = get_day_names("abbreviated", context="stand-alone", locale=reader_locale(manager))
        return names[data["date"].weekday()]


class DayNumber(Text):
    """The day of the month, today marked “·3·”."""

    def __init__(self, calendar: LocalizedCalendar, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.calendar = calendar

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        day: date = data["date"]
        return f"·{day.day}·" if day == self.calendar.today(data["data"], manager) else str(day.day)


class MonthName(Text):
    """Stand-alone month name (“декабрь”), the current month bracketed “[ декабрь ]”.

    The month view passes only the month (``data["date"]`` is in a bearing year), so the year
    comes from the calendar's offset.
    """

    def __init__(self, calendar: LocalizedCalendar, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.calendar = calendar

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        name = format_date(data["date"], format="LLLL", locale=reader_locale(manager))
        today = self.calendar.today(data["data"], manager)
        offset = self.calendar.get_offset(manager) or today
        return f"[ {name} ]" if (offset.year, data["date"].month) == (today.year, today.month) else name


class YearNumber(Text):
    """The year, the current one bracketed “[ 2026 ]”."""

    def __init__(self, calendar: LocalizedCalendar, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.calendar = calendar

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        year = data["date"].year
        return f"[ {year} ]" if year == self.calendar.today(data["data"], manager).year else str(year)


def _is_blank(button: Any) -> bool:
    return not button.callback_data and not button.text.strip()


def future_config(
    today: date, days_ahead: int = 180, *, timezone: tzinfo | None = None, base: CalendarConfig | None = None
) -> CalendarConfig:
    """Monday first; only ``today`` … ``today + days_ahead`` can be chosen (other days are blank)."""
    base = base or CalendarConfig()
    return CalendarConfig(
        firstweekday=0,
        timezone=timezone or base.timezone,  # type: ignore[arg-type]  # aiogram_dialog wants a timezone; any tzinfo works
        min_date=today,
        max_date=today + timedelta(days=days_ahead),
        month_columns=base.month_columns,
        years_per_page=base.years_per_page,
        years_columns=base.years_columns,
    )


class LocalizedCalendar(Calendar):
    """``Calendar`` with Babel-rendered names; see the module docstring.

    ``days_ahead``: only today … today + days_ahead can be chosen, today recomputed on every render.
    ``zone_key``: a key of the window getter's data holding the IANA zone “today” is counted in
    (e.g. the case's zone); without it, the service's default zone.

    ``on_click(event, widget, manager, picked: date)`` is called only for a date inside the limits:
    a stale keyboard or a forged callback with another date is ignored.
    """

    def __init__(
        self,
        id: str,
        on_click: OnDateSelected | OnDayPicked | WidgetEventProcessor | None = None,
        config: CalendarConfig | None = None,
        when: WhenCondition = None,
        *,
        days_ahead: int | None = None,
        zone_key: str | None = None,
    ) -> None:
        self.days_ahead = days_ahead
        self.zone_key = zone_key
        super().__init__(
            id=id,
            on_click=on_click,  # type: ignore[arg-type]  # OnDayPicked: see there
            config=config or CalendarConfig(firstweekday=0),
            when=when,
        )

    def _init_views(self) -> dict[CalendarScope, CalendarScopeView]:
        cb = self._item_callback_data
        # “today” marks come from the bot's clock (today_of), not the widget's datetime.now()
        day, month, year = DayNumber(self), MonthName(self), YearNumber(self)
        return {
            CalendarScope.DAYS: CalendarDaysView(
                cb,
                date_text=day,
                today_text=day,
                weekday_text=BabelWeekday(),
                header_text=BabelDate("LLLL y", "🗓 {}"),
                prev_month_text=BabelDate("LLLL y", "« {}"),
                next_month_text=BabelDate("LLLL y", "{} »"),
            ),
            CalendarScope.MONTHS: CalendarMonthView(
                cb,
                month_text=month,
                this_month_text=month,
                header_text=Format("🗓 {date.year}"),
                prev_year_text=Format("« {date.year}"),
                next_year_text=Format("{date.year} »"),
            ),
            # Years are digits in every locale the bot speaks: plain numbers, no strftime.
            CalendarScope.YEARS: CalendarYearsView(
                cb,
                year_text=year,
                this_year_text=year,
                prev_page_text=Format("« {date.year}"),
                next_page_text=Format("{date.year} »"),
            ),
        }

    def _zone(self, data: dict, manager: DialogManager) -> str | None:
        """The zone from the getter's data; on a click (no getter data) the one last rendered with."""
        if self.zone_key and data.get(self.zone_key):
            return str(data[self.zone_key])
        return self.get_widget_data(manager, {}).get("zone")

    def today(self, data: dict, manager: DialogManager) -> date:
        """Today for this calendar; ``data`` is the window getter's data (``{}`` if none)."""
        return today_of(manager, self.config.timezone, self._zone(data, manager))

    async def _get_user_config(self, data: dict, manager: DialogManager) -> CalendarUserConfig:
        if self.days_ahead is None:
            return CalendarUserConfig()
        today = self.today(data, manager)
        return CalendarUserConfig(min_date=today, max_date=today + timedelta(days=self.days_ahead))

    async def _render_keyboard(self, data: dict, manager: DialogManager) -> RawKeyboard:
        if self.zone_key and data.get(self.zone_key):
            self.get_widget_data(manager, {})["zone"] = str(data[self.zone_key])
        if self.get_offset(manager) is None:
            # open on the bot's today (its clock), not the server's
            config = self.config.merge(await self._get_user_config(data, manager))
            self.set_offset(min(max(self.today(data, manager), config.min_date), config.max_date), manager)
        keyboard = await super()._render_keyboard(data, manager)
        # weeks wholly outside min/max (and the pager when there is nowhere to go) add only blanks
        return [row for row in keyboard if any(not _is_blank(button) for button in row)]

    async def _handle_click_date(self, data: str, manager: DialogManager) -> None:
        try:
            picked = date_from_raw(int(data))
        except (ValueError, OverflowError):
            return
        config = self.config.merge(await self._get_user_config({}, manager))
        if not config.min_date <= picked <= config.max_date:
            return
        await super()._handle_click_date(data, manager)
