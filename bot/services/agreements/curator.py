"""The curator's weekly view of the families, and the end of an agreement's term."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices, surveys
from bot.services.agreements.model import Ended, FamilyDigest
from bot.services.agreements.recording import _taking_part
from db.models import (
    Agreement,
    AgreementItem,
    AgreementState,
    Case,
    Checkin,
    CheckinState,
    Participant,
)


async def weekly(session: AsyncSession, *, curator_id: int, today: date) -> list[FamilyDigest]:
    """Per family of this curator: kept in the last 7 days, coming in the next 7, overdue."""
    rows = (
        await session.execute(
            select(Case.code, AgreementItem.text, Participant.first_name, Checkin)
            .join(Agreement, Agreement.case_id == Case.id)
            .join(AgreementItem, AgreementItem.agreement_id == Agreement.id)
            .join(Checkin, Checkin.item_id == AgreementItem.id)
            .join(Participant, Participant.id == Checkin.participant_id)
            .where(Case.curator_id == curator_id, Agreement.state == AgreementState.ACTIVE.value)
            .order_by(Case.code, Checkin.due_date)
        )
    ).all()
    families: dict[str, FamilyDigest] = {}
    for code, text, name, checkin in rows:
        family = families.setdefault(code, FamilyDigest(code))
        line = f"{name}: {text}"
        if checkin.state == CheckinState.DONE and today - timedelta(days=7) <= checkin.due_date <= today + timedelta(
            days=7
        ):
            family.kept.append(line)
        elif checkin.state in (CheckinState.OPEN, CheckinState.MISSED, CheckinState.HELP) and checkin.due_date < today:
            family.overdue.append(f"{line} ({checkin.due_date.isoformat()})")
        elif checkin.state == CheckinState.OPEN and checkin.due_date <= today + timedelta(days=7):
            family.coming.append(f"{line} ({checkin.due_date.isoformat()})")
    await session.commit()
    return [f for f in families.values() if f.kept or f.coming or f.overdue]


async def curators_with_agreements(session: AsyncSession) -> list[int]:
    ids = await session.scalars(
        select(Case.curator_id)
        .join(Agreement, Agreement.case_id == Case.id)
        .where(Agreement.state == AgreementState.ACTIVE.value, Case.curator_id.is_not(None))
        .distinct()
    )
    found = [i for i in ids.all() if i is not None]
    await session.commit()
    return found


async def end(session: AsyncSession, *, agreement_id: int, now: datetime, survey_expire_days: int = 14) -> Ended | None:
    """The term is over: the agreement ends, the case closes, everyone gets the final survey."""
    agreement = await session.get(Agreement, agreement_id)
    if agreement is None or agreement.state != AgreementState.ACTIVE:
        await session.commit()
        return None
    case = await session.get(Case, agreement.case_id)
    assert case is not None
    agreement.state = AgreementState.ENDED.value
    agreement.ended_at = now
    if case.closed_at is None:  # a case closed earlier with its result keeps that moment
        case.closed_at = now
    # Those still taking part: someone who withdrew is not surveyed or written to any more.
    people = tuple(p.user_id for p in (await _taking_part(session, case.id)).values() if p.user_id is not None)
    for user_id in people:
        await surveys.invite(
            session,
            user_id=user_id,
            survey="final",
            ref=f"case:{case.id}",
            case_id=case.id,
            due_at=now + timedelta(hours=1),
            now=now,
            expire_days=survey_expire_days,
        )
    audit.record(session, actor_id=None, action="case_closed", object_type="case", object_id=case.id, now=now)
    ended = Ended(case.id, case.code, case.region_code, people)
    # A goodbye to each, with a few places that help near her (read when it is sent).
    await notices.queue_many(session, people, event="goodbye", now=now, case_id=case.id, region=case.region_code)
    await session.commit()
    return ended
