"""Meeting reminders and the answers to them, the "my meetings" button of pushed messages, and the
facilitator's morning list of the day's meetings."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.reminder_worker import Drop, Outgoing
from bot.services import cases, meetings, notices
from bot.services.formatting import format_left, format_when
from bot.services.meetings import MeetingView
from bot.wording.labels import label
from db.models import MeetingKind, Participant
from dialogs.meetings.dialog import FORMATS, OPEN_MY_MEETINGS, describe
from dialogs.states import MyMeetingsSG
from handlers.filters import Quick

log = logging.getLogger(__name__)
REMINDER_KIND = meetings.REMINDER_KIND


class Attend(CallbackData, prefix="att"):
    meeting: int
    coming: bool


def meetings_router() -> Router:
    router = Router(name="meetings")

    @router.callback_query(Quick(F.data == OPEN_MY_MEETINGS))
    async def open_mine(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
        await callback.answer()
        await dialog_manager.start(MyMeetingsSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)

    @router.callback_query(Attend.filter())
    async def attend(
        callback: CallbackQuery,
        callback_data: Attend,
        app: AppContext,
        bot: Bot,
        i18n: I18n,
        dialog_manager: DialogManager,
    ) -> None:
        try:
            async with app.db() as session:  # "I cannot come" tells the facilitator in its transaction
                await meetings.attend(
                    session,
                    user_id=callback.from_user.id,
                    meeting_id=callback_data.meeting,
                    coming=callback_data.coming,
                    now=app.now(),
                )
        except cases.Refused:
            await callback.answer(gettext("This button is out of date."), show_alert=True)
            return
        except meetings.Taken:
            await callback.answer(gettext("This meeting has already passed or changed."), show_alert=True)
            return
        if callback_data.coming:
            await callback.answer(gettext("Thank you! See you there."))
            return
        await callback.answer(gettext("Thank you for telling us. Let us find another time."))
        await dialog_manager.start(MyMeetingsSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)

    return router


def attendance_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=gettext("✅ I will come"), callback_data=Attend(meeting=meeting_id, coming=True).pack()
                ),
                InlineKeyboardButton(
                    text=gettext("✖️ I cannot come"), callback_data=Attend(meeting=meeting_id, coming=False).pack()
                ),
            ]
        ]
    )


def reminder_renderer(app: AppContext, i18n: I18n):
    """Words a meeting reminder in the recipient's language and zone, at the moment it is sent; a
    meeting that has passed, moved or been called off makes the reminder drop."""

    async def render(session: AsyncSession, claimed, locale: str) -> Outgoing | Drop:
        if claimed.meeting_id is None:
            return Drop("no_meeting")
        if await meetings.superseded(
            session,
            reminder_id=claimed.id,
            meeting_id=claimed.meeting_id,
            recipient_id=claimed.recipient_id,
            now=app.now(),
        ):
            return Drop("superseded")
        target = await meetings.reminder_target(
            session, meeting_id=claimed.meeting_id, recipient_id=claimed.recipient_id, now=app.now()
        )
        if target is None:
            return Drop("meeting_passed_or_changed")
        view, zone = target
        with i18n.use_locale(locale):
            what = (
                gettext("the general meeting")
                if view.kind == MeetingKind.GENERAL
                else gettext("your meeting with the facilitator")
            )
            now = app.now()
            left = view.starts_at - now
            local_day = view.starts_at.astimezone(ZoneInfo(zone)).date()
            if local_day == now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1) and left > timedelta(hours=12):
                soon = gettext("Tomorrow is {what}.").format(what=what)
            else:  # the real time left, in words: «Через 2 минуты», «Через 3 часа»
                words = format_left(left, locale)
                soon = gettext("{left}: {what}.").format(left=words[:1].upper() + words[1:], what=what)
            text = "🔔 " + soon + "\n\n" + describe(view, locale, zone) + "\n\n" + gettext("Will you come?")
            return Outgoing(text, attendance_keyboard(view.id))

    return render


def unreachable_handler(app: AppContext):
    """A reminder found the participant has blocked the bot: the facilitator should know. Queued
    once per reminder (a retry after a crash finds it there) and worded when it is sent."""

    async def on_unreachable(claimed) -> None:
        if claimed.meeting_id is None:
            return
        async with app.db() as session:
            view = await meetings.get_view(session, claimed.meeting_id)
            if view is None or view.facilitator_id is None:
                await session.commit()
                return
            participant = await session.scalar(
                select(Participant.id).where(
                    Participant.user_id == claimed.recipient_id, Participant.case_id == view.case_id
                )
            )
            await notices.queue(
                session,
                recipient_id=view.facilitator_id,
                event="reminder_unreachable",
                now=claimed.due_at,
                case_id=view.case_id,
                once=f"unreachable-{claimed.id}",
                meeting=claimed.meeting_id,
                participant=participant,
            )
            await session.commit()

    return on_unreachable


def _render_day(views: list[MeetingView], locale: str, zone: str) -> str:
    lines = [gettext("<b>☀️ Your meetings today</b>")]
    for view in views:
        who = view.booked_name if view.kind == MeetingKind.PRELIMINARY else gettext("general meeting")
        lines.append(
            "• {when} · {code} · {who}\n  {how}{place}".format(
                when=format_when(view.starts_at, locale, zone).split(", ")[-1],
                code=view.case_code,
                who=escape(who or ""),
                how=label(FORMATS, view.format),
                place=(" · " + escape(view.place)) if view.place else "",
            )
        )
    return "\n".join(lines)


async def send_day_lists(app: AppContext, bot: Bot, i18n: I18n) -> int:
    """Each facilitator with booked or fixed meetings today gets the list in the morning, once."""
    now = app.now()
    zone_default = app.settings.default_timezone
    day = now.astimezone(ZoneInfo(zone_default)).date()
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone_default)).astimezone(UTC) - timedelta(hours=12)
    async with app.db() as session:
        people = await meetings.facilitators_with_meetings(session, start=start, end=start + timedelta(hours=48))
    sent = 0
    for facilitator_id in people:
        async with app.db() as session:
            zone = await meetings.zone_of(session, facilitator_id, None, zone_default)
            await session.commit()
        local_day = now.astimezone(ZoneInfo(zone)).date()
        async with app.db() as session:
            views = await meetings.day_list(session, facilitator_id=facilitator_id, day=local_day, timezone=zone)
        if not views:
            continue
        locale = await notify.recipient_locale(app.db, facilitator_id, i18n.default_locale)

        def render(views: list[MeetingView] = views, locale: str = locale, zone: str = zone) -> str:
            return _render_day(views, locale, zone)

        async with app.db() as session:  # the day's mark and the list's row: both or neither
            if not await cases.claim_digest(
                session, kind="day_meetings", user_id=facilitator_id, day=local_day, now=now, commit=False
            ):
                await session.rollback()
                continue
            await notify.worded(session, i18n, recipient_id=facilitator_id, render=render, locale=locale, now=now)
            await session.commit()
        sent += 1
    log.info("day lists: sent to %d facilitators", sent)
    return sent
