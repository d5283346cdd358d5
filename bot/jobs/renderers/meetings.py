"""A meeting's reminder, worded when it is sent, and what the facilitator is told when it cannot
reach her."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n, gettext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.buttons import attendance_keyboard
from bot.jobs.outgoing import Drop, Outgoing
from bot.services import meetings, notices
from bot.services.formatting import format_left
from bot.wording.meetings import describe
from db.models import MeetingKind, Participant

REMINDER_KIND = meetings.REMINDER_KIND


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
