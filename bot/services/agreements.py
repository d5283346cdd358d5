"""The agreement (договор) and its follow-up: the facilitator records it, each participant says
whether it is right, the responsible people are reminded before each due day and answer Done / Need
more time / Need help; what slips is raised to the curator; when its term ends the case closes.

Every item's occurrences are check-in rows; the messages about them are reminder rows, worded when
they are sent (a check-in answered in the meantime makes its reminders drop).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices, parse, reminders, surveys
from bot.services.cases import can_move_stage, latest_decisions
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db.models import (
    Agreement,
    AgreementAck,
    AgreementItem,
    AgreementState,
    Case,
    Checkin,
    CheckinState,
    ConsentPurpose,
    Decision,
    ItemResponsible,
    Participant,
    Region,
)

ITEM_MAX = 500
MAX_ITEMS = 20
REMIND_AT = time(10, 0)  # local time of day for check-in messages
KIND_CHECKIN = "checkin"  # payload {"checkin": id, "step": "before" | "day" | "missed"}
KIND_OVERDUE = "item_overdue"  # to the curator; payload {"checkin": id}
KIND_END = "agreement_end"  # payload {"agreement": id}
WEEKDAYS = range(7)  # Monday 0 … Sunday 6


@dataclass(frozen=True, slots=True)
class ItemDraft:
    text: str
    responsible: tuple[int, ...]  # participant ids
    due_date: date | None = None
    repeat: str | None = None  # "daily" or "weekly:<0-6>"


@dataclass(frozen=True, slots=True)
class Rules:
    days_before: int = 3
    escalate_after: int = 3


def parse_repeat(repeat: str | None) -> tuple[str, int | None] | None:
    if repeat is None:
        return None
    if repeat == "daily":
        return ("daily", None)
    kind, _, arg = repeat.partition(":")
    if kind == "weekly" and parse.digits(arg) and int(arg) in WEEKDAYS:
        return ("weekly", int(arg))
    raise Invalid("repeat")


def occurrences(item: ItemDraft, *, today: date, until: date) -> list[date]:
    """The days an item falls due, from today to the end of the agreement."""
    rule = parse_repeat(item.repeat)
    if rule is None:
        return [item.due_date] if item.due_date and today <= item.due_date <= until else []
    kind, weekday = rule
    days = []
    current = today + timedelta(days=1)
    while current <= until:
        if kind == "daily" or current.weekday() == weekday:
            days.append(current)
        current += timedelta(days=1)
    return days


def _at(day: date, zone: str) -> datetime:
    return datetime.combine(day, REMIND_AT, tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def _taking_part(session: AsyncSession, case_id: int) -> dict[int, Participant]:
    people = (await session.scalars(select(Participant).where(Participant.case_id == case_id))).all()
    state = await latest_decisions(session, [p.id for p in people])
    return {p.id: p for p in people if state.get((p.id, ConsentPurpose.PARTICIPATION.value)) == Decision.AGREE}


@dataclass(frozen=True, slots=True)
class Recorded:
    agreement_id: int
    case_code: str
    recipients: tuple[int, ...]  # Telegram ids of the participants, to acknowledge it


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
            for day in occurrences(draft, today=today, until=valid_until):
                await _plan(
                    session, item, people[participant_id], day, zone, now, rules, repeating=draft.repeat is not None
                )
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
    for user_id in recipients:
        for months, key in ((1, "followup_1m"), (3, "followup_3m")):
            await surveys.invite(
                session,
                user_id=user_id,
                survey=key,
                ref=f"agreement:{agreement.id}",
                case_id=case.id,
                due_at=now + timedelta(days=30 * months),
                now=now,
                expire_days=survey_expire_days,
            )
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


async def _plan(
    session: AsyncSession,
    item: AgreementItem,
    person: Participant,
    day: date,
    zone: str,
    now: datetime,
    rules: Rules,
    *,
    repeating: bool,
) -> Checkin:
    checkin = Checkin(item_id=item.id, participant_id=person.id, due_date=day, state=CheckinState.OPEN.value)
    session.add(checkin)
    await session.flush()
    await _remind(session, checkin, person, zone, now, rules, repeating=repeating)
    return checkin


async def _remind(
    session: AsyncSession,
    checkin: Checkin,
    person: Participant,
    zone: str,
    now: datetime,
    rules: Rules,
    *,
    repeating: bool,
) -> None:
    """The reminder rows of one check-in: written, or revived if they had been let go."""
    if person.user_id is None:
        return
    day = checkin.due_date
    # Repeating items are reminded on the day only; one-off ones also some days before.
    steps = [("day", day), ("missed", day + timedelta(days=1))]
    if not repeating and rules.days_before > 0:
        steps.insert(0, ("before", day - timedelta(days=rules.days_before)))
    for step, when in steps:
        due = _at(when, zone)
        if due > now:
            await reminders.add(
                session,
                kind=KIND_CHECKIN,
                recipient_id=person.user_id,
                due_at=due,
                now=now,
                case_id=None,
                payload={"checkin": checkin.id, "step": step},
            )
    case = await session.get(Case, person.case_id)
    if case is not None and case.curator_id is not None:
        await reminders.add(
            session,
            kind=KIND_OVERDUE,
            recipient_id=case.curator_id,
            due_at=_at(day + timedelta(days=rules.escalate_after), zone),
            now=now,
            case_id=case.id,
            payload={"checkin": checkin.id},
        )


# ---------------------------------------------------------------- participants


@dataclass(frozen=True, slots=True)
class AgreementText:
    agreement_id: int
    case_code: str
    valid_until: date
    consequences: str | None
    items: tuple[tuple[str, tuple[str, ...], date | None, str | None], ...]  # text, names, due, repeat
    facilitator_id: int | None


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


@dataclass(frozen=True, slots=True)
class MyItem:
    text: str
    due: date | None  # the next open day, if any
    repeat: str | None
    done: int
    open_past: int  # days passed without "done"


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


@dataclass(frozen=True, slots=True)
class CheckinView:
    id: int
    item_text: str
    due_date: date
    state: str
    user_id: int
    first_name: str
    case_id: int
    case_code: str
    curator_id: int | None
    facilitator_id: int | None
    timezone: str


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


# ---------------------------------------------------------------- the curator's view


@dataclass(frozen=True, slots=True)
class FamilyDigest:
    case_code: str
    kept: list[str] = field(default_factory=list)
    coming: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)


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


# ---------------------------------------------------------------- the end of the term


@dataclass(frozen=True, slots=True)
class Ended:
    case_id: int
    case_code: str
    region_code: str
    people: tuple[int, ...]


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
