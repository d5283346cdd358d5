"""Cases as the team reads them: the list in scope, a case by its code, one case opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.access import can_move_stage, can_see, in_scope, load_visible, refuse
from bot.services.cases.deadlines import deadline_of, local_date
from bot.services.cases.model import CaseLine, CaseView, ParticipantView, Rules
from bot.services.users import Profile
from db.models import (
    AccountingCard,
    Case,
    ConsentEvent,
    Invitation,
    Participant,
    Region,
    User,
)


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
        session,
        actor_id=actor.user_id,
        action="overdue_listed" if only_overdue else "cases_listed",
        count=len(lines),
        now=now,
    )
    await session.commit()
    return lines


async def find_code(session: AsyncSession, *, actor: Profile, code: str, now: datetime) -> int:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    case_id = await session.scalar(select(Case.id).where(Case.code == normalized))
    if case_id is None:
        raise await refuse(session, actor, "find_case", None, now=now)
    case = await session.get(Case, case_id)
    assert case is not None
    if not can_see(actor, case):
        raise await refuse(session, actor, "find_case", case_id, now=now)
    await session.commit()
    return case_id


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
    case = await load_visible(session, actor, case_id, "view_case", now=now)
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
