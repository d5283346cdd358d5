"""Recording an agreement: its items, who answers for each, the check-ins planned."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices, reminders, surveys
from bot.services.agreements.model import ITEM_MAX, KIND_END, MAX_ITEMS, ItemDraft, Recorded, Rules
from bot.services.agreements.schedule import _at, _plan, occurrences, parse_repeat
from bot.services.cases import can_move_stage, latest_decisions
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db.models import (
    Agreement,
    AgreementItem,
    AgreementState,
    Case,
    ConsentPurpose,
    Decision,
    ItemResponsible,
    Participant,
    Region,
)


async def _taking_part(session: AsyncSession, case_id: int) -> dict[int, Participant]:
    people = (await session.scalars(select(Participant).where(Participant.case_id == case_id))).all()
    state = await latest_decisions(session, [p.id for p in people])
    return {p.id: p for p in people if state.get((p.id, ConsentPurpose.PARTICIPATION.value)) == Decision.AGREE}


async def record(
    session: AsyncSession,
    *,
    actor: Profile,
    case_id: int,
    items: list[ItemDraft],
    valid_until: date,
    consequences: str | None,
    now: datetime,
    rules: Rules,
    survey_expire_days: int = 14,
) -> Recorded:
    """The facilitator (or staff) records the agreement; check-ins and their reminders are planned."""
    case, zone, today, people = await _case_and_people(
        session, actor=actor, case_id=case_id, items=items, valid_until=valid_until, now=now
    )
    agreement = Agreement(
        case_id=case.id,
        recorded_by=actor.user_id,
        valid_until=valid_until,
        consequences=(consequences or "").strip() or None,
        state=AgreementState.ACTIVE.value,
        created_at=now,
    )
    session.add(agreement)
    await session.flush()
    await _add_items(session, agreement, items, people, today=today, zone=zone, now=now, rules=rules)
    await reminders.add(
        session,
        kind=KIND_END,
        recipient_id=actor.user_id,
        due_at=_at(valid_until + timedelta(days=1), zone),
        now=now,
        case_id=case.id,
        payload={"agreement": agreement.id},
    )
    recipients = tuple(p.user_id for p in people.values() if p.user_id is not None)
    await _invite_to_surveys(session, agreement, recipients, now=now, expire_days=survey_expire_days)
    audit.record(
        session, actor_id=actor.user_id, action="agreement_recorded", object_type="case", object_id=case.id, now=now
    )
    recorded = Recorded(agreement.id, case.code, recipients)
    # Each participant gets the text to confirm, worded when it is sent.
    await notices.queue_many(
        session,
        recipients,
        event="agreement_recorded",
        now=now,
        exclude=actor.user_id,
        case_id=case.id,
        agreement=agreement.id,
    )
    await session.commit()
    return recorded


async def _case_and_people(
    session: AsyncSession, *, actor: Profile, case_id: int, items: list[ItemDraft], valid_until: date, now: datetime
) -> tuple[Case, str, date, dict[int, Participant]]:
    """The case (if the actor may record its agreement), its zone, today there, and the participants
    the items may name; the drafts are checked (``Invalid``, rolled back)."""
    case = await session.get(Case, case_id)
    if case is None or not can_move_stage(actor, case):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted="agreement", now=now
        )
        raise Refused("agreement")
    region = await session.get(Region, case.region_code)
    assert region is not None  # a foreign key
    zone = region.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    try:
        people = await _check(session, case, items, valid_until, today)
    except Invalid:
        await session.rollback()
        raise
    return case, zone, today, people


async def _add_items(
    session: AsyncSession,
    agreement: Agreement,
    items: list[ItemDraft],
    people: dict[int, Participant],
    *,
    today: date,
    zone: str,
    now: datetime,
    rules: Rules,
) -> None:
    """The items, who answers for each, and the check-ins of each up to the end of the term."""
    for position, draft in enumerate(items):
        item = AgreementItem(
            agreement_id=agreement.id,
            position=position,
            text=draft.text.strip(),
            due_date=draft.due_date,
            repeat=draft.repeat,
        )
        session.add(item)
        await session.flush()
        for participant_id in dict.fromkeys(draft.responsible):
            session.add(ItemResponsible(item_id=item.id, participant_id=participant_id))
            for day in occurrences(draft, today=today, until=agreement.valid_until):
                await _plan(
                    session, item, people[participant_id], day, zone, now, rules, repeating=draft.repeat is not None
                )


async def _invite_to_surveys(
    session: AsyncSession, agreement: Agreement, recipients: tuple[int, ...], *, now: datetime, expire_days: int
) -> None:
    """The follow-up surveys, one and three months on."""
    for user_id in recipients:
        for months, key in ((1, "followup_1m"), (3, "followup_3m")):
            await surveys.invite(
                session,
                user_id=user_id,
                survey=key,
                ref=f"agreement:{agreement.id}",
                case_id=agreement.case_id,
                due_at=now + timedelta(days=30 * months),
                now=now,
                expire_days=expire_days,
            )


async def _check(
    session: AsyncSession, case: Case, items: list[ItemDraft], valid_until: date, today: date
) -> dict[int, Participant]:
    if not items or len(items) > MAX_ITEMS:
        raise Invalid("items")
    if valid_until <= today:
        raise Invalid("valid_until")
    people = await _taking_part(session, case.id)
    for item in items:
        if not item.text.strip() or len(item.text) > ITEM_MAX:
            raise Invalid("text")
        if not item.responsible or any(pid not in people for pid in item.responsible):
            raise Invalid("responsible")
        if item.repeat is None and (item.due_date is None or not today <= item.due_date <= valid_until):
            raise Invalid("due_date")
        parse_repeat(item.repeat)
    return people
