"""A participant's programmes as she sees them."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.cases import latest_decisions
from bot.services.programme.model import MyProgramme, RelativeLine
from db.engine import run_alone
from db.models import (
    Case,
    ConsentPurpose,
    Participant,
    ParticipantKind,
    User,
)

_PARTICIPANTS, _CASES = cast(Table, Participant.__table__), cast(Table, Case.__table__)
# Asked on the first menus of every person: one statement of its own, built once.
_IN_PROGRAMME = (
    select(_PARTICIPANTS.c.id)
    .select_from(_PARTICIPANTS.join(_CASES, _CASES.c.id == _PARTICIPANTS.c.case_id))
    .where(_PARTICIPANTS.c.user_id == bindparam("user_id"), _CASES.c.closed_at.is_(None))
    .limit(1)
)


async def has_programme(session: AsyncSession, *, user_id: int) -> bool:
    """Whether she has a place in an open case. Ends the session's transaction, if it had one."""
    return bool(await run_alone(session, _IN_PROGRAMME, {"user_id": user_id}))


async def woman_of(session: AsyncSession, *, case_id: int) -> str | None:
    """The first name of the woman of a case, as the team wrote it (what her relatives are told)."""
    return await session.scalar(
        select(Participant.first_name)
        .where(Participant.case_id == case_id, Participant.kind == ParticipantKind.WOMAN.value)
        .order_by(Participant.id)
        .limit(1)
    )


async def my_programmes(session: AsyncSession, *, user_id: int) -> list[MyProgramme]:
    """Her own places in cases (normally one), with what she may see of them."""
    mine = (
        await session.scalars(select(Participant).where(Participant.user_id == user_id).order_by(Participant.id))
    ).all()
    result = []
    for participant in mine:
        case = await session.get(Case, participant.case_id)
        if case is None or case.closed_at is not None:
            continue
        relatives: tuple[RelativeLine, ...] = ()
        if participant.kind == ParticipantKind.WOMAN.value:
            others = (
                await session.scalars(
                    select(Participant)
                    .where(Participant.case_id == case.id, Participant.kind == ParticipantKind.RELATIVE.value)
                    .order_by(Participant.id)
                )
            ).all()
            answered = await latest_decisions(session, [o.id for o in others])
            relatives = tuple(
                RelativeLine(o.id, o.first_name, o.relation, o.approval, any(k[0] == o.id for k in answered))
                for o in others
            )
        state = await latest_decisions(session, [participant.id])
        woman_name = None
        if participant.kind != ParticipantKind.WOMAN.value:
            woman_name = await woman_of(session, case_id=case.id)
        result.append(
            MyProgramme(
                participant_id=participant.id,
                case_id=case.id,
                kind=participant.kind,
                stage=case.stage,
                curator_name=await _first_name(session, case.curator_id),
                facilitator_name=await _first_name(session, case.facilitator_id),
                data_consent=state.get((participant.id, ConsentPurpose.DATA.value)),
                participation_consent=state.get((participant.id, ConsentPurpose.PARTICIPATION.value)),
                relatives=relatives,
                woman_name=woman_name,
            )
        )
    await session.commit()
    return result


async def _first_name(session: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    person = await session.get(User, user_id)
    # Appointed but not named yet: "" (she reads "appointed"), never "not appointed yet".
    return (person.display_name or "") if person else None
