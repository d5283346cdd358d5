"""What a change sets going: the notices to the people it concerns, the reminders of a taken time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import notices, reminders
from bot.services.meetings.model import FOLLOWUP_KIND, REMINDER_KIND
from db.models import (
    Meeting,
    MeetingKind,
    Participant,
)


async def _schedule(
    session: AsyncSession, meeting: Meeting, user_id: int, case_id: int, now: datetime, before: tuple[int, ...]
) -> None:
    # After it took place, the short survey (the followup drops if the meeting was moved or called off).
    await reminders.add(
        session,
        kind=FOLLOWUP_KIND,
        recipient_id=user_id,
        due_at=meeting.starts_at + timedelta(minutes=meeting.duration_min + 60),
        now=now,
        meeting_id=meeting.id,
        case_id=case_id,
        payload={"survey": "general" if meeting.kind == MeetingKind.GENERAL else "preliminary"},
    )
    for minutes in before:
        due = meeting.starts_at - timedelta(minutes=minutes)
        if due > now:
            await reminders.add(
                session,
                kind=REMINDER_KIND,
                recipient_id=user_id,
                due_at=due,
                now=now,
                meeting_id=meeting.id,
                case_id=case_id,
                payload={"before": minutes},
            )


async def _tell_times(
    session: AsyncSession, people: Any, meeting: Meeting, what: str, now: datetime, *, exclude: int | None
) -> None:
    """The people a meeting's time concerns hear of it (``what``: offered, general_offered,
    general_fixed, taken_back), in the transaction of the change; worded with the time in each one's
    zone when sent."""
    await notices.queue_many(
        session,
        people,
        event="meeting_time",
        now=now,
        exclude=exclude,
        case_id=meeting.case_id,
        meeting=meeting.id,
        what=what,
    )


async def _tell_facilitator(
    session: AsyncSession, meeting: Meeting, participant: Participant, event: str, now: datetime
) -> None:
    """The meeting's facilitator hears of her choice, in its transaction (worded when sent)."""
    if meeting.facilitator_id is None or meeting.facilitator_id == participant.user_id:
        return
    await notices.queue(
        session,
        recipient_id=meeting.facilitator_id,
        event=event,
        now=now,
        case_id=meeting.case_id,
        meeting=meeting.id,
        participant=participant.id,
    )
