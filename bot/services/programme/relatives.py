"""The woman's answer about a relative the team proposed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, invitations, notices
from bot.services.cases import latest_decisions
from bot.services.errors import Refused
from bot.services.programme.model import NotNow, RelativeDecision
from db.models import (
    Approval,
    Case,
    Participant,
    ParticipantKind,
)


async def decide_relative(
    session: AsyncSession, *, user_id: int, relative_id: int, approval: Approval, now: datetime, ttl_days: int
) -> RelativeDecision:
    """The woman answers "may we invite this person?": yes / no / not now. She may change her mind
    until the relative has answered; a "no" after a "yes" revokes the link."""
    relative = await _her_relative(session, user_id=user_id, relative_id=relative_id, now=now)
    if relative.user_id is not None or await latest_decisions(session, [relative.id]):
        await session.rollback()
        raise NotNow("answered")
    case = await session.get(Case, relative.case_id)
    assert case is not None
    before = relative.approval
    token = None
    revoked = False
    if approval == Approval.APPROVED and before != Approval.APPROVED.value:
        token = await invitations.issue_for_participant(
            session, participant_id=relative.id, created_by=user_id, now=now, ttl_days=ttl_days
        )
    elif approval != Approval.APPROVED and before == Approval.APPROVED.value:
        revoked = await invitations.revoke_open(session, relative.id, now) > 0
    relative.approval = approval.value
    audit.record(
        session,
        actor_id=user_id,
        action="relative_decided",
        object_type="participant",
        object_id=relative.id,
        now=now,
        approval=approval.value,
    )
    tell = tuple(dict.fromkeys(i for i in (relative.proposed_by, case.curator_id) if i is not None))
    outcome = RelativeDecision(token, tell, case.code, relative.first_name, relative.relation, approval.value, revoked)
    # The link is a secret: it travels in the notice's encrypted text, never in its payload.
    await notices.queue_many(
        session,
        tell,
        event="relative_decided",
        now=now,
        exclude=user_id,
        case_id=case.id,
        text=token,
        relative=relative.id,
        approval=approval.value,
        revoked=revoked,
    )
    await session.commit()
    return outcome


async def _her_relative(session: AsyncSession, *, user_id: int, relative_id: int, now: datetime) -> Participant:
    """A relative in her own case; otherwise the attempt is audited and ``Refused`` raised."""
    relative = await session.get(Participant, relative_id)
    woman = None
    if relative is not None and relative.kind == ParticipantKind.RELATIVE.value:
        woman = await session.scalar(
            select(Participant).where(
                Participant.case_id == relative.case_id,
                Participant.kind == ParticipantKind.WOMAN.value,
                Participant.user_id == user_id,
            )
        )
    if relative is None or woman is None:
        await audit.denied(
            session,
            actor_id=user_id,
            object_type="participant",
            object_id=relative_id,
            attempted="approve_relative",
            now=now,
        )
        raise Refused("approve_relative")
    return relative
