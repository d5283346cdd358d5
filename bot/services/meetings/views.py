"""Meetings as people see them: one meeting, a facilitator's day, a participant's meetings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.meetings.model import MeetingView, MyMeetings
from bot.services.meetings.people import _taking_part
from db.models import (
    Case,
    Meeting,
    MeetingKind,
    MeetingState,
    Participant,
    Vote,
)


async def _view(session: AsyncSession, meeting: Meeting, case: Case) -> MeetingView:
    booked_name = None
    if meeting.booked_by is not None:
        booked = await session.get(Participant, meeting.booked_by)
        booked_name = booked.first_name if booked else None
    votes: tuple[tuple[str, bool], ...] = ()
    if meeting.kind == MeetingKind.GENERAL:
        rows = await session.execute(
            select(Participant.first_name, Vote.suits)
            .join(Participant, Participant.id == Vote.participant_id)
            .where(Vote.meeting_id == meeting.id)
            .order_by(Participant.id)
        )
        votes = tuple((name, bool(suits)) for name, suits in rows.all())
    return MeetingView(
        id=meeting.id,
        case_id=case.id,
        case_code=case.code,
        kind=meeting.kind,
        state=meeting.state,
        starts_at=meeting.starts_at,
        duration_min=meeting.duration_min,
        format=meeting.format,
        place=meeting.place,
        for_participant_id=meeting.for_participant_id,
        booked_by=meeting.booked_by,
        booked_name=booked_name,
        facilitator_id=meeting.facilitator_id,
        timezone=meeting.timezone,
        votes=votes,
    )


async def get_view(session: AsyncSession, meeting_id: int) -> MeetingView | None:
    meeting = await session.get(Meeting, meeting_id)
    case = await session.get(Case, meeting.case_id) if meeting else None
    view = await _view(session, meeting, case) if meeting and case else None
    await session.commit()
    return view


async def day_list(session: AsyncSession, *, facilitator_id: int, day: date, timezone: str) -> list[MeetingView]:
    """The facilitator's booked and fixed meetings of one local day, for the morning list."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    rows = (
        await session.scalars(
            select(Meeting)
            .where(
                Meeting.facilitator_id == facilitator_id,
                Meeting.state.in_([MeetingState.BOOKED.value, MeetingState.FIXED.value]),
                Meeting.starts_at >= start,
                Meeting.starts_at < end,
            )
            .order_by(Meeting.starts_at)
        )
    ).all()
    views = []
    for meeting in rows:
        case = await session.get(Case, meeting.case_id)
        if case is not None:
            views.append(await _view(session, meeting, case))
    await session.commit()
    return views


async def facilitators_with_meetings(session: AsyncSession, *, start: datetime, end: datetime) -> list[int]:
    ids = await session.scalars(
        select(Meeting.facilitator_id)
        .where(
            Meeting.facilitator_id.is_not(None),
            Meeting.state.in_([MeetingState.BOOKED.value, MeetingState.FIXED.value]),
            Meeting.starts_at >= start,
            Meeting.starts_at < end,
        )
        .distinct()
    )
    found = [i for i in ids.all() if i is not None]
    await session.commit()
    return found


async def for_participant(session: AsyncSession, *, user_id: int, now: datetime) -> MyMeetings | None:
    participant = await session.scalar(
        select(Participant).where(Participant.user_id == user_id).order_by(Participant.id).limit(1)
    )
    if participant is None:
        await session.commit()
        return None
    case = await session.get(Case, participant.case_id)
    assert case is not None
    taking_part = participant.id in await _taking_part(session, [participant])
    rows = (
        await session.scalars(
            select(Meeting)
            .where(Meeting.case_id == case.id, Meeting.starts_at > now)
            .where(
                or_(
                    and_(Meeting.kind == MeetingKind.PRELIMINARY.value, Meeting.booked_by == participant.id),
                    Meeting.state.in_([MeetingState.FIXED.value, MeetingState.PROPOSED.value]),
                    and_(
                        Meeting.state == MeetingState.OPEN.value,
                        or_(Meeting.for_participant_id.is_(None), Meeting.for_participant_id == participant.id),
                    ),
                )
            )
            .order_by(Meeting.starts_at)
        )
    ).all()
    mine, open_slots, options = [], [], []
    my_votes = dict(
        (await session.execute(select(Vote.meeting_id, Vote.suits).where(Vote.participant_id == participant.id))).all()
    )
    for meeting in rows:
        view = await _view(session, meeting, case)
        if meeting.state == MeetingState.BOOKED and meeting.booked_by == participant.id:
            mine.append(view)
        elif meeting.state == MeetingState.FIXED:
            mine.append(view)
        elif meeting.state == MeetingState.PROPOSED:
            options.append((view, my_votes.get(meeting.id)))
        elif meeting.state == MeetingState.OPEN:
            open_slots.append(view)
    result = MyMeetings(
        case_id=case.id,
        participant_id=participant.id,
        taking_part=taking_part,
        mine=tuple(mine),
        open_slots=tuple(open_slots) if taking_part else (),
        options=tuple(options) if taking_part else (),
        facilitator_id=case.facilitator_id,
    )
    await session.commit()
    return result
