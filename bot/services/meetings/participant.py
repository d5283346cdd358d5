"""The participant's side: taking a slot (one conditional UPDATE: of two people pressing the same
slot at once, exactly one gets it), cancelling, voting, attending."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, reminders
from bot.services.errors import Refused
from bot.services.meetings.model import Booked, Taken
from bot.services.meetings.people import _her_participation
from bot.services.meetings.telling import _schedule, _tell_facilitator
from db.models import (
    Attendance,
    Case,
    Meeting,
    MeetingKind,
    MeetingState,
    Participant,
    Vote,
)


async def book(
    session: AsyncSession, *, user_id: int, meeting_id: int, now: datetime, before: tuple[int, ...]
) -> Booked:
    """She takes a slot; a slot she held before goes back to the others (a reschedule)."""
    meeting = await session.get(Meeting, meeting_id)
    participant = await _her_participation(session, user_id, meeting.case_id) if meeting else None
    if (
        meeting is None
        or participant is None
        or meeting.kind != MeetingKind.PRELIMINARY
        or meeting.for_participant_id not in (None, participant.id)
    ):
        await audit.denied(
            session, actor_id=user_id, object_type="meeting", object_id=meeting_id, attempted="book", now=now
        )
        raise Refused("book")
    taken = await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.state == MeetingState.OPEN.value, Meeting.starts_at > now)
        .values(state=MeetingState.BOOKED.value, booked_by=participant.id, updated_at=now)
    )
    if cast(CursorResult[Any], taken).rowcount != 1:
        await session.rollback()
        raise Taken(meeting_id)
    earlier = (
        await session.scalars(
            select(Meeting).where(
                Meeting.booked_by == participant.id,
                Meeting.state == MeetingState.BOOKED.value,
                Meeting.id != meeting_id,
            )
        )
    ).all()
    moved_from = None
    for old in earlier:
        moved_from = old.starts_at
        old.state = MeetingState.OPEN.value
        old.booked_by = None
        old.updated_at = now
        await reminders.cancel(session, meeting_id=old.id, now=now)
    await session.refresh(meeting)
    await _schedule(session, meeting, user_id, meeting.case_id, now, before)
    case = await session.get(Case, meeting.case_id)
    assert case is not None
    audit.record(session, actor_id=user_id, action="slot_booked", object_type="meeting", object_id=meeting_id, now=now)
    booked = Booked(
        meeting.id, meeting.starts_at, meeting.facilitator_id, participant.first_name, case.code, moved_from
    )
    await _tell_facilitator(session, meeting, participant, "meeting_moved" if moved_from else "meeting_booked", now)
    await session.commit()
    return booked


async def cancel_booking(session: AsyncSession, *, user_id: int, meeting_id: int, now: datetime) -> Booked:
    """She gives her slot back; the facilitator is told."""
    meeting = await session.get(Meeting, meeting_id)
    participant = None
    if meeting is not None and meeting.booked_by is not None:
        participant = await session.get(Participant, meeting.booked_by)
    if meeting is None or participant is None or participant.user_id != user_id or meeting.state != MeetingState.BOOKED:
        await audit.denied(
            session, actor_id=user_id, object_type="meeting", object_id=meeting_id, attempted="cancel", now=now
        )
        raise Refused("cancel")
    meeting.state = MeetingState.OPEN.value
    meeting.booked_by = None
    meeting.updated_at = now
    await reminders.cancel(session, meeting_id=meeting.id, now=now)
    case = await session.get(Case, meeting.case_id)
    assert case is not None
    audit.record(
        session, actor_id=user_id, action="slot_cancelled", object_type="meeting", object_id=meeting_id, now=now
    )
    result = Booked(meeting.id, meeting.starts_at, meeting.facilitator_id, participant.first_name, case.code, None)
    await _tell_facilitator(session, meeting, participant, "meeting_cancelled", now)
    await session.commit()
    return result


async def vote(session: AsyncSession, *, user_id: int, meeting_id: int, suits: bool, now: datetime) -> Booked:
    """Her answer to one option of the general meeting ("suits me" / "does not suit me")."""
    meeting = await session.get(Meeting, meeting_id)
    participant = await _her_participation(session, user_id, meeting.case_id) if meeting else None
    if meeting is None or participant is None or meeting.kind != MeetingKind.GENERAL:
        await audit.denied(
            session, actor_id=user_id, object_type="meeting", object_id=meeting_id, attempted="vote", now=now
        )
        raise Refused("vote")
    if meeting.state != MeetingState.PROPOSED:
        await session.rollback()
        raise Taken(meeting_id)
    existing = await session.get(Vote, (meeting_id, participant.id))
    if existing is None:
        session.add(Vote(meeting_id=meeting_id, participant_id=participant.id, suits=suits, at=now))
    else:
        existing.suits, existing.at = suits, now
    case = await session.get(Case, meeting.case_id)
    assert case is not None
    result = Booked(meeting.id, meeting.starts_at, meeting.facilitator_id, participant.first_name, case.code, None)
    await session.commit()
    return result


async def attend(session: AsyncSession, *, user_id: int, meeting_id: int, coming: bool, now: datetime) -> Booked:
    """ "I will come" / "I cannot come" from a reminder. Not coming to a preliminary meeting gives the
    slot back, so she can choose another time."""
    meeting = await session.get(Meeting, meeting_id)
    participant = None
    if meeting is not None:
        participant = await session.scalar(
            select(Participant).where(Participant.case_id == meeting.case_id, Participant.user_id == user_id)
        )
    mine = (
        meeting is not None
        and participant is not None
        and (
            (meeting.kind == MeetingKind.PRELIMINARY and meeting.booked_by == participant.id)
            or (meeting.kind == MeetingKind.GENERAL and meeting.state == MeetingState.FIXED)
        )
    )
    if meeting is None or participant is None or not mine:
        await audit.denied(
            session, actor_id=user_id, object_type="meeting", object_id=meeting_id, attempted="attend", now=now
        )
        raise Refused("attend")
    if meeting.starts_at <= now or meeting.state not in (MeetingState.BOOKED, MeetingState.FIXED):
        await session.rollback()
        raise Taken(meeting_id)
    existing = await session.get(Attendance, (meeting_id, participant.id))
    if existing is None:
        session.add(Attendance(meeting_id=meeting_id, participant_id=participant.id, coming=coming, at=now))
    else:
        existing.coming, existing.at = coming, now
    if not coming:
        await reminders.cancel(session, meeting_id=meeting.id, recipient_id=user_id, now=now)
        if meeting.kind == MeetingKind.PRELIMINARY:
            meeting.state = MeetingState.OPEN.value
            meeting.booked_by = None
            meeting.updated_at = now
    case = await session.get(Case, meeting.case_id)
    assert case is not None
    audit.record(
        session,
        actor_id=user_id,
        action="attendance",
        object_type="meeting",
        object_id=meeting_id,
        now=now,
        coming=coming,
    )
    result = Booked(meeting.id, meeting.starts_at, meeting.facilitator_id, participant.first_name, case.code, None)
    if not coming:
        await _tell_facilitator(session, meeting, participant, "meeting_declined", now)
    await session.commit()
    return result
