"""Who is in the programme: the invited participants, who takes part, whether everyone agreed."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.cases import latest_decisions
from db.models import (
    Approval,
    ConsentPurpose,
    Decision,
    Participant,
    ParticipantKind,
)


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
