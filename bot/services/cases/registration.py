"""Registering a case: the woman, her invitation, the team that will work with her."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, invitations, join
from bot.services.access import can_register, refuse
from bot.services.cases.model import CODE_ALPHABET, CODE_LENGTH, CaseDraft, Registered, Rules, TeamMember
from bot.services.checks import clean_name
from bot.services.errors import Invalid
from bot.services.users import Profile
from db.models import (
    Approval,
    Case,
    Participant,
    ParticipantKind,
    ProgrammeType,
    Region,
    Role,
    User,
)


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
        raise await refuse(session, actor, "register_case", None, now=now)
    try:
        await _check_draft(session, draft)
    except Invalid:
        await session.rollback()
        raise
    case, woman = await _add_case(session, actor=actor, draft=draft, now=now)
    token = await invitations.issue_for_participant(
        session, participant_id=woman.id, created_by=actor.user_id, now=now, ttl_days=rules.invite_ttl_days
    )
    audit.record(session, actor_id=actor.user_id, action="case_created", object_type="case", object_id=case.id, now=now)
    registered = Registered(case.id, case.code, woman.id, token)
    if join_request_id is not None:
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


async def _add_case(
    session: AsyncSession, *, actor: Profile, draft: CaseDraft, now: datetime
) -> tuple[Case, Participant]:
    """The case at stage 1 and the woman as its first participant, approved (flushed: both have ids)."""
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
    return case, woman
