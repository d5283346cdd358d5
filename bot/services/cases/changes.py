"""Changing a case: its stage (with the history) and the relatives the woman approves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices
from bot.services.access import can_move_stage, load_visible, refuse
from bot.services.cases.model import REASON_MAX, STAGES, Proposal
from bot.services.checks import clean_name
from bot.services.errors import Invalid
from bot.services.users import Profile
from db.models import (
    Approval,
    Case,
    Participant,
    ParticipantKind,
    Relation,
    StageMove,
)


async def move_stage(
    session: AsyncSession, *, actor: Profile, case_id: int, to_stage: int, reason: str, now: datetime
) -> int:
    """Moves the case to another stage with a reason; returns the stage it left."""
    case = await session.get(Case, case_id)
    if case is None or not can_move_stage(actor, case):
        raise await refuse(session, actor, "move_stage", case_id, now=now)
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


async def stage_history(session: AsyncSession, *, actor: Profile, case_id: int, now: datetime) -> list[StageMove]:
    await load_visible(session, actor, case_id, "stage_history", now=now)
    moves = (await session.scalars(select(StageMove).where(StageMove.case_id == case_id).order_by(StageMove.id))).all()
    await session.commit()
    return list(moves)


async def propose_relative(
    session: AsyncSession, *, actor: Profile, case_id: int, first_name: str, relation: str, now: datetime
) -> Proposal:
    """The team suggests a relative; nobody invites her or him until the woman agrees."""
    case = await load_visible(session, actor, case_id, "propose_relative", now=now)
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
        await notices.queue(
            session, recipient_id=woman_user, event="relative_proposed", now=now, case_id=case.id, relative=relative.id
        )
    await session.commit()
    return proposal
