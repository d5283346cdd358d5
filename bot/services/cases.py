"""Cases: registration, who may see which, stages and their deadlines, relatives the woman approves.

Access, checked on every call that names a case (never by the caller):
- an admin sees every case; staff the cases of their ``scope_region``;
- a curator or a facilitator only the cases they are appointed to;
- participants never reach a case through here, only their own programme (``consent.my_programmes``).
Every view by the team and every refusal goes to the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CursorResult, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, invitations, parse, workdays
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db import upsert
from db.models import (
    AccountingCard,
    Approval,
    Case,
    ConsentEvent,
    DigestSent,
    Invitation,
    Participant,
    ParticipantKind,
    ProgrammeType,
    Region,
    Relation,
    Role,
    StageMove,
    User,
)

# No 0/O, 1/I/L or U: a code read out over the phone is not misheard. 30^8 ≈ 6.6·10^11 codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 8
STAGES = (1, 2, 3, 4, 5)
NAME_MAX = 40
REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class Rules:
    """Deadlines in working days (Settings), passed in so the services stay free of configuration."""

    handoff: int = 2
    programme_min: int = 10
    programme_max: int = 30
    report: int = 1
    invite_ttl_days: int = 30


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str  # "handoff" (stage 1), "programme" (stages 2-3), "report" (stage 4)
    due: date
    overdue: bool
    late_by: int  # working days past due, 0 when not overdue


@dataclass(frozen=True, slots=True)
class CaseDraft:
    first_name: str
    region_code: str
    release_date: date
    parole: bool
    programme_type: str
    curator_id: int | None
    facilitator_id: int | None


@dataclass(frozen=True, slots=True)
class Registered:
    case_id: int
    code: str
    woman_participant_id: int
    woman_token: str


@dataclass(frozen=True, slots=True)
class ParticipantView:
    id: int
    kind: str
    first_name: str
    relation: str | None
    approval: str
    joined: bool
    link_open: bool  # an unused, unexpired, unrevoked link exists
    data_consent: str | None  # latest decision, or None when not asked yet
    participation_consent: str | None


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    code: str
    first_name: str
    region_code: str
    release_date: date
    parole: bool
    programme_type: str
    curator_id: int | None
    curator_name: str | None
    facilitator_id: int | None
    facilitator_name: str | None
    stage: int
    stage_since: datetime
    deadline: Deadline | None
    participants: tuple[ParticipantView, ...]
    can_move_stage: bool
    can_manage_people: bool
    closed_at: datetime | None = None
    result: str | None = None  # the accounting card's result code, once closed


@dataclass(frozen=True, slots=True)
class CaseLine:
    id: int
    code: str
    first_name: str
    stage: int
    region_code: str
    deadline: Deadline | None


@dataclass(frozen=True, slots=True)
class TeamMember:
    user_id: int
    name: str


# ---------------------------------------------------------------- access


def in_scope(actor: Profile) -> ColumnElement[bool]:
    if actor.role == Role.ADMIN:
        return true()
    if actor.role == Role.STAFF:
        return Case.region_code == actor.scope_region if actor.scope_region else false()
    if actor.role == Role.CURATOR:
        return Case.curator_id == actor.user_id
    if actor.role == Role.FACILITATOR:
        return Case.facilitator_id == actor.user_id
    return false()


def can_see(actor: Profile, case: Case) -> bool:
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.STAFF:
        return actor.scope_region is not None and case.region_code == actor.scope_region
    if actor.role == Role.CURATOR:
        return case.curator_id == actor.user_id
    if actor.role == Role.FACILITATOR:
        return case.facilitator_id == actor.user_id
    return False


def can_move_stage(actor: Profile, case: Case) -> bool:
    """The facilitator of the case, staff of its region, admins. Curators follow, they do not move."""
    return can_see(actor, case) and actor.role in (Role.ADMIN, Role.STAFF, Role.FACILITATOR)


def can_register(actor: Profile, region_code: str) -> bool:
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.STAFF and actor.scope_region == region_code


async def _refuse(session: AsyncSession, actor: Profile, attempted: str, case_id: int | str | None) -> Refused:
    await audit.denied(session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted=attempted)
    return Refused(attempted)


async def load_visible(session: AsyncSession, actor: Profile, case_id: int, attempted: str) -> Case:
    """The case if the actor may see it; otherwise the refusal is audited and ``Refused`` raised."""
    case = await session.get(Case, case_id)
    if case is None or not can_see(actor, case):
        raise await _refuse(session, actor, attempted, case_id)
    return case


# ---------------------------------------------------------------- registration


def parse_day(raw: str | None, *, today: date, years_around: int = 3) -> date:
    """A date as staff type it: 31.12.2026, 31.12.26, 31/12/2026 or 2026-12-31 (``parse.day``)."""
    value = parse.day(raw, today=today, years_around=years_around)
    if value is None:
        raise Invalid("date")
    return value


def clean_name(raw: str | None) -> str:
    """A first name as typed: one line, letters with spaces, hyphens or apostrophes, 1-40 characters."""
    name = " ".join((raw or "").split())
    if not name or len(name) > NAME_MAX:
        raise Invalid("first_name")
    if not all(ch.isalpha() or ch in " -'’." for ch in name) or not any(ch.isalpha() for ch in name):
        raise Invalid("first_name")
    return name


async def _new_code(session: AsyncSession) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if await session.scalar(select(Case.id).where(Case.code == code)) is None:
            return code


async def team(session: AsyncSession, *, role: Role, region_code: str | None = None) -> list[TeamMember]:
    """Registered people of a team role, for choosing a curator or a facilitator. Those with a
    ``scope_region`` other than the case's are left out; those without one work everywhere. The
    most recently active first: the picker shows a page at a time."""
    query = select(User).where(User.role == role.value).order_by(User.last_seen.desc(), User.id)
    if region_code is not None:
        query = query.where(or_(User.scope_region.is_(None), User.scope_region == region_code))
    people = (await session.scalars(query)).all()
    members = [TeamMember(p.id, p.display_name or str(p.id)) for p in people]
    await session.commit()
    return members


async def _check_draft(session: AsyncSession, draft: CaseDraft) -> None:
    clean_name(draft.first_name)
    if await session.get(Region, draft.region_code) is None:
        raise Invalid("region")
    if draft.programme_type not in {t.value for t in ProgrammeType}:
        raise Invalid("programme_type")
    for field, user_id, role in (
        ("curator", draft.curator_id, Role.CURATOR),
        ("facilitator", draft.facilitator_id, Role.FACILITATOR),
    ):
        if user_id is not None:
            person = await session.get(User, user_id)
            # Appointed among the team of the case's region (or those who work everywhere).
            if person is None or person.role != role.value or person.scope_region not in (None, draft.region_code):
                raise Invalid(field)


async def register(
    session: AsyncSession,
    *,
    actor: Profile,
    draft: CaseDraft,
    rules: Rules,
    now: datetime,
    join_request_id: int | None = None,
) -> Registered:
    """Staff of the region (or an admin) open a case; the woman's invitation is issued at once. A case
    opened from her join request answers it in the same transaction: she gets her invitation in the
    bot (a notice), and the request is closed."""
    if not can_register(actor, draft.region_code):
        raise await _refuse(session, actor, "register_case", None)
    try:
        await _check_draft(session, draft)
    except Invalid:
        await session.rollback()
        raise
    first_name = clean_name(draft.first_name)
    case = Case(
        code=await _new_code(session),
        first_name=first_name,
        region_code=draft.region_code,
        release_date=draft.release_date,
        parole=draft.parole,
        programme_type=draft.programme_type,
        curator_id=draft.curator_id,
        facilitator_id=draft.facilitator_id,
        stage=1,
        stage_since=now,
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(case)
    await session.flush()
    woman = Participant(
        case_id=case.id,
        kind=ParticipantKind.WOMAN.value,
        first_name=first_name,
        approval=Approval.APPROVED.value,
        proposed_by=actor.user_id,
        created_at=now,
    )
    session.add(woman)
    await session.flush()
    token = await invitations.issue_for_participant(
        session, participant_id=woman.id, created_by=actor.user_id, now=now, ttl_days=rules.invite_ttl_days
    )
    audit.record(session, actor_id=actor.user_id, action="case_created", object_type="case", object_id=case.id, now=now)
    registered = Registered(case.id, case.code, woman.id, token)
    if join_request_id is not None:
        from bot.services import join

        await join.mark_case(
            session,
            request_id=join_request_id,
            case_id=case.id,
            actor_id=actor.user_id,
            now=now,
            token=token,
            commit=False,
        )
    await session.commit()
    return registered


# ---------------------------------------------------------------- deadlines


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def deadline_of(case: Case, *, rules: Rules, today: date, timezone: str, reported: bool = False) -> Deadline | None:
    """What the case is waiting for now, and by when, counted on the production calendar.

    Stage 1: the case reaches the facilitator within ``handoff`` working days of its start: the
    registration for parole (the court's decision is what sets the case going), otherwise the later
    of registration and release (preparation runs for months before a release at the end of term).
    Stages 2-3: the general meeting within ``programme_max`` working days of stage 2.
    Stage 4: the report within ``report`` working days of the meeting.
    A closed case: the report (its date on the accounting card, ``reported``) within ``report``
    working days of the closing.
    """
    if case.closed_at is not None:
        if reported:
            return None
        kind, due = "report", workdays.add_working_days(local_date(case.closed_at, timezone), rules.report)
    elif case.stage == 1:
        start = local_date(case.created_at, timezone)
        if not case.parole:
            start = max(start, case.release_date)
        kind, due = "handoff", workdays.add_working_days(start, rules.handoff)
    elif case.stage in (2, 3):
        started = case.programme_started or case.stage_since
        kind, due = "programme", workdays.add_working_days(local_date(started, timezone), rules.programme_max)
    elif case.stage == 4:
        kind, due = "report", workdays.add_working_days(local_date(case.stage_since, timezone), rules.report)
    else:
        return None
    # Late once a working day has passed since the due day: a weekend after a Friday deadline is not.
    late = workdays.working_days_between(due, today) if today > due else 0
    return Deadline(kind, due, late > 0, late)


def programme_window(case: Case, *, rules: Rules, timezone: str) -> tuple[date, date] | None:
    """Earliest and latest end of the programme (10-30 working days from stage 2), once it started."""
    if case.programme_started is None:
        return None
    start = local_date(case.programme_started, timezone)
    return workdays.add_working_days(start, rules.programme_min), workdays.add_working_days(start, rules.programme_max)


async def _zones(session: AsyncSession) -> dict[str, str]:
    return dict((await session.execute(select(Region.code, Region.timezone))).all())


async def list_cases(
    session: AsyncSession, *, actor: Profile, rules: Rules, now: datetime, only_overdue: bool = False
) -> list[CaseLine]:
    """The cases the actor may see (open ones), newest first; the listing itself is audited."""
    zones = await _zones(session)
    # A closed case stays on /overdue until the date of its report is on the accounting card.
    unreported = Case.closed_at.is_not(None) & AccountingCard.report_date.is_(None)
    listed = or_(Case.closed_at.is_(None), unreported) if only_overdue else Case.closed_at.is_(None)
    rows = (
        await session.execute(
            select(Case, AccountingCard.report_date)
            .outerjoin(AccountingCard, AccountingCard.case_id == Case.id)
            .where(in_scope(actor), listed)
            .order_by(Case.id.desc())
        )
    ).all()
    lines = []
    for case, report_date in rows:
        zone = zones.get(case.region_code, "UTC")
        deadline = deadline_of(
            case, rules=rules, today=local_date(now, zone), timezone=zone, reported=report_date is not None
        )
        if only_overdue and not (deadline and deadline.overdue):
            continue
        lines.append(CaseLine(case.id, case.code, case.first_name, case.stage, case.region_code, deadline))
    audit.record(
        session, actor_id=actor.user_id, action="overdue_listed" if only_overdue else "cases_listed", count=len(lines)
    )
    await session.commit()
    return lines


async def find_code(session: AsyncSession, *, actor: Profile, code: str) -> int:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    case_id = await session.scalar(select(Case.id).where(Case.code == normalized))
    if case_id is None:
        raise await _refuse(session, actor, "find_case", None)
    case = await session.get(Case, case_id)
    assert case is not None
    if not can_see(actor, case):
        raise await _refuse(session, actor, "find_case", case_id)
    await session.commit()
    return case_id


# ---------------------------------------------------------------- the case card


async def latest_decisions(session: AsyncSession, participant_ids: list[int]) -> dict[tuple[int, str], str]:
    """(participant, purpose) → the latest decision."""
    if not participant_ids:
        return {}
    last = (
        select(func.max(ConsentEvent.id))
        .where(ConsentEvent.participant_id.in_(participant_ids))
        .group_by(ConsentEvent.participant_id, ConsentEvent.purpose)
    )
    rows = await session.execute(
        select(ConsentEvent.participant_id, ConsentEvent.purpose, ConsentEvent.decision).where(
            ConsentEvent.id.in_(last)
        )
    )
    return {(pid, purpose): decision for pid, purpose, decision in rows.all()}


async def _open_links(session: AsyncSession, participant_ids: list[int], now: datetime) -> set[int]:
    if not participant_ids:
        return set()
    rows = await session.scalars(
        select(Invitation.participant_id).where(
            Invitation.participant_id.in_(participant_ids),
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    return {pid for pid in rows.all() if pid is not None}


async def _name(session: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    person = await session.get(User, user_id)
    return (person.display_name or str(person.id)) if person else None


async def open_case(session: AsyncSession, *, actor: Profile, case_id: int, rules: Rules, now: datetime) -> CaseView:
    """The case card; each opening by the team is audited."""
    case = await load_visible(session, actor, case_id, "view_case")
    region = await session.get(Region, case.region_code)
    assert region is not None  # a foreign key
    zone = region.timezone
    card = await session.get(AccountingCard, case.id)
    reported = card is not None and card.report_date is not None
    people = (
        await session.scalars(select(Participant).where(Participant.case_id == case.id).order_by(Participant.id))
    ).all()
    ids = [p.id for p in people]
    decisions = await latest_decisions(session, ids)
    links = await _open_links(session, ids, now)
    view = CaseView(
        id=case.id,
        code=case.code,
        first_name=case.first_name,
        region_code=case.region_code,
        release_date=case.release_date,
        parole=case.parole,
        programme_type=case.programme_type,
        curator_id=case.curator_id,
        curator_name=await _name(session, case.curator_id),
        facilitator_id=case.facilitator_id,
        facilitator_name=await _name(session, case.facilitator_id),
        stage=case.stage,
        stage_since=case.stage_since,
        deadline=deadline_of(case, rules=rules, today=local_date(now, zone), timezone=zone, reported=reported),
        participants=tuple(
            ParticipantView(
                id=p.id,
                kind=p.kind,
                first_name=p.first_name,
                relation=p.relation,
                approval=p.approval,
                joined=p.user_id is not None,
                link_open=p.id in links,
                data_consent=decisions.get((p.id, "data")),
                participation_consent=decisions.get((p.id, "participation")),
            )
            for p in people
        ),
        can_move_stage=can_move_stage(actor, case),
        can_manage_people=can_see(actor, case),
        closed_at=case.closed_at,
        result=card.result if card is not None else None,
    )
    audit.record(session, actor_id=actor.user_id, action="case_viewed", object_type="case", object_id=case.id, now=now)
    await session.commit()
    return view


# ---------------------------------------------------------------- stages


async def move_stage(
    session: AsyncSession, *, actor: Profile, case_id: int, to_stage: int, reason: str, now: datetime
) -> int:
    """Moves the case to another stage with a reason; returns the stage it left."""
    case = await session.get(Case, case_id)
    if case is None or not can_move_stage(actor, case):
        raise await _refuse(session, actor, "move_stage", case_id)
    if to_stage not in STAGES or to_stage == case.stage:
        await session.rollback()
        raise Invalid("stage")
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        await session.rollback()
        raise Invalid("reason")
    previous = case.stage
    case.stage = to_stage
    case.stage_since = now
    if to_stage >= 2 and case.programme_started is None:
        case.programme_started = now
    session.add(
        StageMove(
            case_id=case.id, from_stage=previous, to_stage=to_stage, reason=reason, actor_id=actor.user_id, at=now
        )
    )
    audit.record(
        session,
        actor_id=actor.user_id,
        action="stage_moved",
        object_type="case",
        object_id=case.id,
        now=now,
        from_stage=previous,
        to_stage=to_stage,
    )
    await session.commit()
    return previous


async def stage_history(session: AsyncSession, *, actor: Profile, case_id: int) -> list[StageMove]:
    await load_visible(session, actor, case_id, "stage_history")
    moves = (await session.scalars(select(StageMove).where(StageMove.case_id == case_id).order_by(StageMove.id))).all()
    await session.commit()
    return list(moves)


# ---------------------------------------------------------------- relatives


@dataclass(frozen=True, slots=True)
class Proposal:
    participant_id: int
    woman_user_id: int | None  # to ask her now; None until she has opened her link


async def propose_relative(
    session: AsyncSession, *, actor: Profile, case_id: int, first_name: str, relation: str, now: datetime
) -> Proposal:
    """The team suggests a relative; nobody invites her or him until the woman agrees."""
    case = await load_visible(session, actor, case_id, "propose_relative")
    try:
        name = clean_name(first_name)
        if relation not in {r.value for r in Relation}:
            raise Invalid("relation")
    except Invalid:
        await session.rollback()
        raise
    relative = Participant(
        case_id=case.id,
        kind=ParticipantKind.RELATIVE.value,
        first_name=name,
        relation=relation,
        approval=Approval.PENDING.value,
        proposed_by=actor.user_id,
        created_at=now,
    )
    session.add(relative)
    await session.flush()
    woman_user = await session.scalar(
        select(Participant.user_id).where(
            Participant.case_id == case.id, Participant.kind == ParticipantKind.WOMAN.value
        )
    )
    audit.record(
        session,
        actor_id=actor.user_id,
        action="relative_proposed",
        object_type="participant",
        object_id=relative.id,
        now=now,
    )
    proposal = Proposal(relative.id, woman_user)
    if woman_user is not None and woman_user != actor.user_id:
        from bot.services import notices

        await notices.queue(
            session, recipient_id=woman_user, event="relative_proposed", now=now, case_id=case.id, relative=relative.id
        )
    await session.commit()
    return proposal


async def claim_digest(
    session: AsyncSession, *, kind: str, user_id: int, day: date, now: datetime, commit: bool = True
) -> bool:
    """True for the one instance that may send this person's digest of this day. With
    ``commit=False`` the mark joins the caller's transaction (the digest's row is queued in it, so
    both are written or neither)."""
    result = await session.execute(
        upsert.insert(session, DigestSent).values(kind=kind, user_id=user_id, day=day, at=now).on_conflict_do_nothing()
    )
    if commit:
        await session.commit()
    return cast(CursorResult[Any], result).rowcount == 1


async def digest_recipients(session: AsyncSession) -> list[Profile]:
    from bot.services.users import get_profile

    ids = (
        await session.scalars(
            select(User.id).where(User.role.in_([Role.STAFF.value, Role.ADMIN.value]), User.blocked_bot.is_(False))
        )
    ).all()
    profiles = [p for p in [await get_profile(session, i) for i in ids] if p is not None]
    await session.commit()
    return profiles
