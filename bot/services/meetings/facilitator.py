"""The facilitator's side: offering slots and general-meeting options, taking them back, fixing the general meeting."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, reminders
from bot.services.cases import can_move_stage
from bot.services.errors import Invalid, Refused
from bot.services.meetings.model import DURATIONS, LIVE, PLACE_MAX, Changed, MeetingView, SlotDraft
from bot.services.meetings.people import _invited, _taking_part, everyone_agreed
from bot.services.meetings.telling import _schedule, _tell_times
from bot.services.meetings.times import local_to_utc
from bot.services.meetings.views import _view
from bot.services.users import Profile
from db.models import (
    Case,
    Meeting,
    MeetingFormat,
    MeetingKind,
    MeetingState,
    Participant,
)


def _may_schedule(actor: Profile, case: Case) -> bool:
    return can_move_stage(actor, case)  # the case's facilitator, staff of its region, admins


async def offer(
    session: AsyncSession, *, actor: Profile, draft: SlotDraft, timezone: str, now: datetime
) -> tuple[int, list[int]]:
    """Creates a slot (or a general-meeting option). Returns its id and the Telegram ids of the
    people who may now choose it."""
    case = await session.get(Case, draft.case_id)
    if case is None or not _may_schedule(actor, case):
        await audit.denied(
            session,
            actor_id=actor.user_id,
            object_type="case",
            object_id=draft.case_id,
            attempted="offer_slot",
            now=now,
        )
        raise Refused("offer_slot")
    try:
        starts_at = await _check_draft(session, case, draft, timezone, now)
    except Invalid:
        await session.rollback()
        raise
    general = draft.kind == MeetingKind.GENERAL
    meeting = Meeting(
        case_id=case.id,
        kind=draft.kind,
        facilitator_id=case.facilitator_id,
        for_participant_id=None if general else draft.for_participant_id,
        starts_at=starts_at,
        duration_min=draft.duration_min,
        timezone=timezone,
        format=draft.format,
        place=(draft.place or "").strip() or None,
        state=(MeetingState.PROPOSED if general else MeetingState.OPEN).value,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    people = await _invited(session, case.id)
    agreed = await _taking_part(session, people)
    audience = [
        p.user_id
        for p in people
        if p.user_id is not None and p.id in agreed and (general or draft.for_participant_id in (None, p.id))
    ]
    audit.record(
        session,
        actor_id=actor.user_id,
        action="slot_offered",
        object_type="meeting",
        object_id=meeting.id,
        now=now,
        kind=draft.kind,
    )
    meeting_id = meeting.id
    await _tell_times(
        session, audience, meeting, "general_offered" if general else "offered", now, exclude=actor.user_id
    )
    await session.commit()
    return meeting_id, audience


async def _check_draft(session: AsyncSession, case: Case, draft: SlotDraft, timezone: str, now: datetime) -> datetime:
    if case.facilitator_id is None:
        raise Invalid("no_facilitator")
    if draft.kind not in {k.value for k in MeetingKind}:
        raise Invalid("kind")
    if draft.duration_min not in DURATIONS:
        raise Invalid("duration")
    if draft.format not in {f.value for f in MeetingFormat}:
        raise Invalid("format")
    place = (draft.place or "").strip()
    if draft.format != MeetingFormat.PHONE and not place:
        raise Invalid("place")
    if len(place) > PLACE_MAX:
        raise Invalid("place")
    if draft.kind == MeetingKind.PRELIMINARY and draft.for_participant_id is not None:
        target = await session.get(Participant, draft.for_participant_id)
        if target is None or target.case_id != case.id:
            raise Invalid("participant")
    if draft.kind == MeetingKind.GENERAL and not await everyone_agreed(session, case.id):
        raise Invalid("not_everyone_agreed")
    starts_at = local_to_utc(draft.day, draft.at, timezone)
    if starts_at <= now:
        raise Invalid("past")
    ends_at = starts_at + timedelta(minutes=draft.duration_min)
    # Overlap with another live meeting of the same facilitator (any case).
    others = await session.scalars(
        select(Meeting).where(
            Meeting.facilitator_id == case.facilitator_id,
            Meeting.state.in_([s.value for s in LIVE]),
            Meeting.starts_at < ends_at,
            Meeting.starts_at > starts_at - timedelta(minutes=max(DURATIONS)),
        )
    )
    for other in others.all():
        if other.starts_at + timedelta(minutes=other.duration_min) > starts_at:
            raise Invalid("overlap")
    return starts_at


async def case_meetings(session: AsyncSession, *, actor: Profile, case_id: int, now: datetime) -> list[MeetingView]:
    """The case's live and upcoming meetings for the team (the case view is audited elsewhere)."""
    case = await session.get(Case, case_id)
    if case is None or (not _may_schedule(actor, case) and actor.user_id != case.curator_id):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted="meetings", now=now
        )
        raise Refused("meetings")
    rows = await session.scalars(
        select(Meeting)
        .where(
            Meeting.case_id == case_id,
            Meeting.state.in_([s.value for s in LIVE]),
            Meeting.starts_at > now - timedelta(hours=12),
        )
        .order_by(Meeting.starts_at)
    )
    views = [await _view(session, m, case) for m in rows.all()]
    await session.commit()
    return views


async def take_back(session: AsyncSession, *, actor: Profile, meeting_id: int, now: datetime) -> Changed:
    """The facilitator withdraws a slot or an option; whoever had taken it is told."""
    meeting = await session.get(Meeting, meeting_id)
    case = await session.get(Case, meeting.case_id) if meeting else None
    if meeting is None or case is None or not _may_schedule(actor, case):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="meeting", object_id=meeting_id, attempted="take_back", now=now
        )
        raise Refused("take_back")
    if meeting.state not in (MeetingState.OPEN, MeetingState.BOOKED, MeetingState.PROPOSED, MeetingState.FIXED):
        await session.rollback()
        raise Invalid("state")
    tell: list[int] = []
    if meeting.booked_by is not None:
        booked = await session.get(Participant, meeting.booked_by)
        if booked is not None and booked.user_id is not None:
            tell.append(booked.user_id)
    if meeting.kind == MeetingKind.GENERAL:
        tell += [p.user_id for p in await _invited(session, case.id) if p.user_id is not None]
    meeting.state = MeetingState.WITHDRAWN.value
    meeting.updated_at = now
    await reminders.cancel(session, meeting_id=meeting.id, now=now)
    audit.record(
        session, actor_id=actor.user_id, action="slot_withdrawn", object_type="meeting", object_id=meeting.id, now=now
    )
    changed = Changed(meeting.id, case.code, tuple(dict.fromkeys(tell)), meeting.starts_at, meeting.kind)
    await _tell_times(session, changed.tell, meeting, "taken_back", now, exclude=actor.user_id)
    await session.commit()
    return changed


async def fix_general(
    session: AsyncSession, *, actor: Profile, meeting_id: int, now: datetime, before: tuple[int, ...]
) -> Changed:
    """The facilitator fixes one option of the general meeting; the other options are withdrawn and
    everyone gets reminders."""
    meeting = await session.get(Meeting, meeting_id)
    case = await session.get(Case, meeting.case_id) if meeting else None
    if meeting is None or case is None or not _may_schedule(actor, case) or meeting.kind != MeetingKind.GENERAL:
        await audit.denied(
            session, actor_id=actor.user_id, object_type="meeting", object_id=meeting_id, attempted="fix", now=now
        )
        raise Refused("fix")
    if meeting.state != MeetingState.PROPOSED or meeting.starts_at <= now:
        await session.rollback()
        raise Invalid("state")
    if not await everyone_agreed(session, case.id):
        await session.rollback()
        raise Invalid("not_everyone_agreed")
    await session.execute(
        update(Meeting)
        .where(
            Meeting.case_id == case.id,
            Meeting.kind == MeetingKind.GENERAL.value,
            Meeting.state == MeetingState.PROPOSED.value,
            Meeting.id != meeting.id,
        )
        .values(state=MeetingState.WITHDRAWN.value, updated_at=now)
    )
    meeting.state = MeetingState.FIXED.value
    meeting.updated_at = now
    people = [p.user_id for p in await _invited(session, case.id) if p.user_id is not None]
    for user_id in people:
        await _schedule(session, meeting, user_id, case.id, now, before)
    audit.record(
        session, actor_id=actor.user_id, action="general_fixed", object_type="meeting", object_id=meeting.id, now=now
    )
    changed = Changed(meeting.id, case.code, tuple(people), meeting.starts_at, meeting.kind)
    await _tell_times(session, changed.tell, meeting, "general_fixed", now, exclude=actor.user_id)
    await session.commit()
    return changed


async def call_off_general(session: AsyncSession, *, case_id: int, now: datetime) -> Changed | None:
    """Someone withdrew: the general meeting (fixed or still being agreed) is off for everyone. The
    caller commits (it runs inside the withdrawal's transaction). Nobody is told who withdrew."""
    live = (
        await session.scalars(
            select(Meeting).where(
                Meeting.case_id == case_id,
                Meeting.kind == MeetingKind.GENERAL.value,
                Meeting.state.in_([MeetingState.PROPOSED.value, MeetingState.FIXED.value]),
                Meeting.starts_at > now,
            )
        )
    ).all()
    if not live:
        return None
    for meeting in live:
        meeting.state = MeetingState.CALLED_OFF.value
        meeting.updated_at = now
        await reminders.cancel(session, meeting_id=meeting.id, now=now)
    case = await session.get(Case, case_id)
    assert case is not None
    people = [p.user_id for p in await _invited(session, case_id) if p.user_id is not None]
    if case.facilitator_id is not None:
        people.append(case.facilitator_id)
    first = min(live, key=lambda m: m.starts_at)
    audit.record(session, actor_id=None, action="general_called_off", object_type="case", object_id=case_id, now=now)
    return Changed(first.id, case.code, tuple(dict.fromkeys(people)), first.starts_at, MeetingKind.GENERAL.value)


async def release_bookings(session: AsyncSession, *, participant_id: int, now: datetime) -> list[int]:
    """Her booked preliminary slots go back to open (she withdrew). The caller commits."""
    booked = (
        await session.scalars(
            select(Meeting).where(Meeting.booked_by == participant_id, Meeting.state == MeetingState.BOOKED.value)
        )
    ).all()
    for meeting in booked:
        meeting.state = MeetingState.OPEN.value
        meeting.booked_by = None
        meeting.updated_at = now
        await reminders.cancel(session, meeting_id=meeting.id, now=now)
    return [m.id for m in booked]
