"""Meetings: preliminary slots the facilitator offers and participants take, options for the general
meeting that everyone answers, and the reminders that go with them.

Times are entered in the facilitator's time zone and stored in UTC; each person sees them in hers.
A slot is taken by one conditional UPDATE (``… WHERE state = 'open'``): of two people pressing the
same slot at once, the database lets exactly one through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices, parse, reminders
from bot.services.cases import can_move_stage, latest_decisions
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db.models import (
    Approval,
    Attendance,
    Case,
    ConsentPurpose,
    Decision,
    Meeting,
    MeetingFormat,
    MeetingKind,
    MeetingState,
    Participant,
    ParticipantKind,
    Region,
    Reminder,
    User,
    Vote,
)

DURATIONS = (30, 45, 60, 90, 120)
LIVE = (MeetingState.OPEN, MeetingState.BOOKED, MeetingState.PROPOSED, MeetingState.FIXED)
PLACE_MAX = 300
REMINDER_KIND = "meeting"  # payload {"before": minutes}
FOLLOWUP_KIND = "meeting_followup"  # after the meeting: starts its survey; payload {"survey": key}


class Taken(Exception):
    """The slot is no longer free: someone else took it, or the facilitator took it back."""


@dataclass(frozen=True, slots=True)
class SlotDraft:
    case_id: int
    kind: str
    for_participant_id: int | None
    day: date
    at: time
    duration_min: int
    format: str
    place: str | None


@dataclass(frozen=True, slots=True)
class MeetingView:
    id: int
    case_id: int
    case_code: str
    kind: str
    state: str
    starts_at: datetime
    duration_min: int
    format: str
    place: str | None
    for_participant_id: int | None
    booked_by: int | None
    booked_name: str | None
    facilitator_id: int | None
    timezone: str  # the facilitator's zone, in which the time was entered
    votes: tuple[tuple[str, bool], ...] = ()  # (first name, suits) for the general meeting's options


# ---------------------------------------------------------------- time


def local_to_utc(day: date, at: time, timezone: str) -> datetime:
    """A wall-clock time in a zone, as UTC. A time that does not exist there (the hour skipped when
    clocks go forward) is refused; an hour that happens twice is taken the first time."""
    zone = ZoneInfo(timezone)
    moment = datetime.combine(day, at, tzinfo=zone)
    back = moment.astimezone(UTC).astimezone(zone)
    if (back.date(), back.time().replace(tzinfo=None)) != (day, at):
        raise Invalid("no_such_time")
    return moment.astimezone(UTC)


def parse_time(raw: str | None) -> time:
    """ "14:30", "14.30", "9:05", "1430"."""
    text = (raw or "").strip().replace(".", ":").replace("-", ":").replace(" ", "")
    if parse.digits(text) and len(text) in (3, 4):
        text = text[:-2] + ":" + text[-2:]
    hours, sep, minutes = text.partition(":")
    if not (sep and parse.digits(hours) and parse.digits(minutes) and len(hours) <= 2 and len(minutes) == 2):
        raise Invalid("time")
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise Invalid("time") from None


async def zone_of(session: AsyncSession, user_id: int | None, case: Case | None, default: str) -> str:
    """A person's time zone: her own (from her region), else the case's region, else the default."""
    if user_id is not None:
        person = await session.get(User, user_id)
        if person is not None and person.timezone:
            return person.timezone
    if case is not None:
        region = await session.get(Region, case.region_code)
        if region is not None:
            return region.timezone
    return default


# ---------------------------------------------------------------- who is in the programme


async def _invited(session: AsyncSession, case_id: int) -> list[Participant]:
    """The woman and the relatives she agreed to invite."""
    rows = await session.scalars(
        select(Participant)
        .where(
            Participant.case_id == case_id,
            or_(Participant.kind == ParticipantKind.WOMAN.value, Participant.approval == Approval.APPROVED.value),
        )
        .order_by(Participant.id)
    )
    return list(rows.all())


async def _taking_part(session: AsyncSession, people: list[Participant]) -> set[int]:
    state = await latest_decisions(session, [p.id for p in people])
    return {p.id for p in people if state.get((p.id, ConsentPurpose.PARTICIPATION.value)) == Decision.AGREE}


async def everyone_agreed(session: AsyncSession, case_id: int) -> bool:
    people = await _invited(session, case_id)
    return bool(people) and await _taking_part(session, people) == {p.id for p in people}


async def _her_participation(session: AsyncSession, user_id: int, case_id: int) -> Participant | None:
    participant = await session.scalar(
        select(Participant).where(Participant.case_id == case_id, Participant.user_id == user_id)
    )
    if participant is None or participant.id not in await _taking_part(session, [participant]):
        return None
    return participant


# ---------------------------------------------------------------- the facilitator's side


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


@dataclass(frozen=True, slots=True)
class Changed:
    """What happened to a meeting, and whom to tell (Telegram ids)."""

    meeting_id: int
    case_code: str
    tell: tuple[int, ...]
    starts_at: datetime
    kind: str


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


# ---------------------------------------------------------------- the participant's side


@dataclass(frozen=True, slots=True)
class MyMeetings:
    case_id: int
    participant_id: int
    taking_part: bool
    mine: tuple[MeetingView, ...]  # her booked preliminary meeting(s) and the fixed general meeting
    open_slots: tuple[MeetingView, ...]  # preliminary slots she may take (none while she has one)
    options: tuple[tuple[MeetingView, bool | None], ...]  # general-meeting options and her answer
    facilitator_id: int | None


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


@dataclass(frozen=True, slots=True)
class Booked:
    meeting_id: int
    starts_at: datetime
    facilitator_id: int | None
    first_name: str
    case_code: str
    moved_from: datetime | None  # her earlier slot, released (a reschedule)


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
