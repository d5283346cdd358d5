"""The meeting reminders: which one goes out after downtime, and to whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.meetings.model import MeetingView
from bot.services.meetings.times import zone_of
from bot.services.meetings.views import _view
from db.models import (
    Case,
    Meeting,
    MeetingState,
    Participant,
    Reminder,
)


async def superseded(
    session: AsyncSession, *, reminder_id: int, meeting_id: int, recipient_id: int, now: datetime
) -> bool:
    """After downtime two reminders of one meeting may be due at once: only the latest goes out."""
    this = await session.get(Reminder, reminder_id)
    if this is None:
        return False
    later = await session.scalar(
        select(Reminder.id)
        .where(
            Reminder.meeting_id == meeting_id,
            Reminder.recipient_id == recipient_id,
            Reminder.kind == this.kind,
            Reminder.due_at > this.due_at,
            Reminder.due_at <= now,
            Reminder.state.in_(["pending", "sending", "sent"]),
        )
        .limit(1)
    )
    return later is not None


async def reminder_target(
    session: AsyncSession, *, meeting_id: int, recipient_id: int, now: datetime
) -> tuple[MeetingView, str] | None:
    """The meeting a reminder is about and the recipient's time zone, or None when the reminder is
    no longer of use (the meeting has passed, moved to someone else, or is off)."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.starts_at <= now:
        return None
    case = await session.get(Case, meeting.case_id)
    if case is None or case.closed_at is not None:  # closed with its result: no more reminders
        return None
    if meeting.state == MeetingState.BOOKED:
        booked = await session.get(Participant, meeting.booked_by) if meeting.booked_by else None
        if booked is None or booked.user_id != recipient_id:
            return None
    elif meeting.state != MeetingState.FIXED:
        return None
    view = await _view(session, meeting, case)
    zone = await zone_of(session, recipient_id, case, meeting.timezone)
    await session.commit()
    return view, zone
