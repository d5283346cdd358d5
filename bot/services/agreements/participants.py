"""The participants' side: reading and acknowledging the agreement, their items, answering a check-
in."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices
from bot.services.agreements.model import AgreementText, CheckinView, MyItem, Rules
from bot.services.agreements.schedule import _plan, _remind
from bot.services.errors import Invalid, Refused
from db.models import (
    Agreement,
    AgreementAck,
    AgreementItem,
    AgreementState,
    Case,
    Checkin,
    CheckinState,
    ItemResponsible,
    Participant,
    Region,
)


async def text_of(session: AsyncSession, agreement_id: int) -> AgreementText | None:
    agreement = await session.get(Agreement, agreement_id)
    if agreement is None:
        await session.commit()
        return None
    case = await session.get(Case, agreement.case_id)
    assert case is not None
    rows = (
        await session.scalars(
            select(AgreementItem).where(AgreementItem.agreement_id == agreement.id).order_by(AgreementItem.position)
        )
    ).all()
    items = []
    for item in rows:
        names = (
            await session.scalars(
                select(Participant.first_name)
                .join(ItemResponsible, ItemResponsible.participant_id == Participant.id)
                .where(ItemResponsible.item_id == item.id)
                .order_by(Participant.id)
            )
        ).all()
        items.append((item.text, tuple(names), item.due_date, item.repeat))
    result = AgreementText(
        agreement.id, case.code, agreement.valid_until, agreement.consequences, tuple(items), case.facilitator_id
    )
    await session.commit()
    return result


async def acknowledge(
    session: AsyncSession, *, user_id: int, agreement_id: int, confirmed: bool, comment: str | None, now: datetime
) -> tuple[int | None, str, str]:
    """Her answer to the recorded text. Returns (facilitator id, case code, her first name)."""
    agreement = await session.get(Agreement, agreement_id)
    participant = None
    if agreement is not None:
        participant = await session.scalar(
            select(Participant).where(Participant.case_id == agreement.case_id, Participant.user_id == user_id)
        )
    if agreement is None or participant is None:
        await audit.denied(
            session, actor_id=user_id, object_type="agreement", object_id=agreement_id, attempted="ack", now=now
        )
        raise Refused("ack")
    ack = await session.get(AgreementAck, (agreement_id, participant.id))
    # The same answer again (her press handled twice after a crash) tells nobody a second time.
    changed = ack is None or ack.confirmed != confirmed or (not confirmed and ack.comment != comment)
    if ack is None:
        session.add(
            AgreementAck(
                agreement_id=agreement_id, participant_id=participant.id, confirmed=confirmed, comment=comment, at=now
            )
        )
    else:
        ack.confirmed, ack.comment, ack.at = confirmed, comment, now
    case = await session.get(Case, agreement.case_id)
    assert case is not None
    audit.record(
        session,
        actor_id=user_id,
        action="agreement_ack",
        object_type="agreement",
        object_id=agreement_id,
        now=now,
        confirmed=confirmed,
    )
    result = (case.facilitator_id, case.code, participant.first_name)
    if changed and case.facilitator_id is not None and case.facilitator_id != user_id:
        await notices.queue(
            session,
            recipient_id=case.facilitator_id,
            event="agreement_confirmed" if confirmed else "agreement_disputed",
            now=now,
            case_id=case.id,
            text=None if confirmed else comment,
            agreement=agreement_id,
            participant=participant.id,
        )
    await session.commit()
    return result


async def my_items(session: AsyncSession, *, user_id: int, today: date) -> list[MyItem]:
    participant_ids = (await session.scalars(select(Participant.id).where(Participant.user_id == user_id))).all()
    rows = (
        await session.execute(
            select(AgreementItem, Checkin)
            .join(Checkin, Checkin.item_id == AgreementItem.id)
            .join(Agreement, Agreement.id == AgreementItem.agreement_id)
            .where(Checkin.participant_id.in_(participant_ids), Agreement.state == AgreementState.ACTIVE.value)
            .order_by(AgreementItem.agreement_id, AgreementItem.position, Checkin.due_date)
        )
    ).all()
    by_item: dict[int, dict] = {}
    for item, checkin in rows:
        entry = by_item.setdefault(item.id, {"item": item, "due": None, "done": 0, "open_past": 0})
        if checkin.state == CheckinState.DONE:
            entry["done"] += 1
        elif checkin.state in (CheckinState.OPEN, CheckinState.MISSED, CheckinState.HELP):
            if checkin.due_date >= today and entry["due"] is None:
                entry["due"] = checkin.due_date
            elif checkin.due_date < today:
                entry["open_past"] += 1
    await session.commit()
    return [MyItem(e["item"].text, e["due"], e["item"].repeat, e["done"], e["open_past"]) for e in by_item.values()]


async def checkin_view(session: AsyncSession, checkin_id: int) -> CheckinView | None:
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None:
        return None
    item = await session.get(AgreementItem, checkin.item_id)
    participant = await session.get(Participant, checkin.participant_id)
    if item is None or participant is None or participant.user_id is None:
        return None
    agreement = await session.get(Agreement, item.agreement_id)
    case = await session.get(Case, participant.case_id)
    if agreement is None or case is None or agreement.state != AgreementState.ACTIVE:
        return None
    region = await session.get(Region, case.region_code)
    assert region is not None  # a foreign key
    zone = region.timezone
    return CheckinView(
        checkin.id,
        item.text,
        checkin.due_date,
        checkin.state,
        participant.user_id,
        participant.first_name,
        case.id,
        case.code,
        case.curator_id,
        case.facilitator_id,
        zone,
    )


async def answer(
    session: AsyncSession,
    *,
    user_id: int,
    checkin_id: int,
    state: CheckinState,
    now: datetime,
    rules: Rules,
    new_date: date | None = None,
) -> CheckinView:
    """Done / Need more time (with the new day) / Need help, for her own check-in."""
    view = await checkin_view(session, checkin_id)
    if view is None or view.user_id != user_id:
        await audit.denied(
            session, actor_id=user_id, object_type="checkin", object_id=checkin_id, attempted="checkin", now=now
        )
        raise Refused("checkin")
    checkin = await session.get(Checkin, checkin_id)
    assert checkin is not None
    if checkin.state in (CheckinState.DONE, CheckinState.MORE_TIME):
        await session.rollback()
        raise Invalid("answered")
    checkin.state = state.value
    checkin.answered_at = now
    # Its pending reminders drop by themselves when they come due (the renderer sees it answered).
    if state == CheckinState.MORE_TIME:
        today = now.astimezone(ZoneInfo(view.timezone)).date()
        item = await session.get(AgreementItem, checkin.item_id)
        participant = await session.get(Participant, checkin.participant_id)
        agreement = await session.get(Agreement, item.agreement_id) if item else None
        assert item is not None and participant is not None and agreement is not None
        if new_date is not None:
            new_date = min(new_date, agreement.valid_until)  # not past the agreement's term
        if new_date is None or new_date <= today:
            await session.rollback()
            raise Invalid("new_date")
        moved = Rules(days_before=0, escalate_after=rules.escalate_after)
        already = await session.scalar(
            select(Checkin).where(
                Checkin.item_id == item.id, Checkin.participant_id == participant.id, Checkin.due_date == new_date
            )
        )
        if already is None:  # that day may already be one of the item's days (a weekly item moved a week)
            await _plan(session, item, participant, new_date, view.timezone, now, moved, repeating=True)
        elif already.state == CheckinState.MORE_TIME:
            # Moved back to a day she had moved away from: that day is hers again, with its reminders.
            already.state = CheckinState.OPEN.value
            already.answered_at = None
            await _remind(session, already, participant, view.timezone, now, moved, repeating=True)
    audit.record(
        session,
        actor_id=user_id,
        action="checkin_answered",
        object_type="checkin",
        object_id=checkin_id,
        now=now,
        state=state.value,
    )
    await session.commit()
    return view


async def still_open(session: AsyncSession, checkin_id: int) -> bool:
    checkin = await session.get(Checkin, checkin_id)
    return checkin is not None and checkin.state in (CheckinState.OPEN, CheckinState.MISSED)


async def mark_missed(session: AsyncSession, checkin_id: int, now: datetime) -> None:
    checkin = await session.get(Checkin, checkin_id)
    if checkin is not None and checkin.state == CheckinState.OPEN:
        checkin.state = CheckinState.MISSED.value
    await session.commit()


async def mark_escalated(session: AsyncSession, checkin_id: int, now: datetime) -> None:
    checkin = await session.get(Checkin, checkin_id)
    if checkin is not None:
        checkin.escalated_at = now
    await session.commit()
