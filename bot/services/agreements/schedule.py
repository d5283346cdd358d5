"""When check-ins fall: an item's repetition, its days up to the end of the term, the reminders of
each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import parse, reminders
from bot.services.agreements.model import KIND_CHECKIN, KIND_OVERDUE, REMIND_AT, WEEKDAYS, ItemDraft, Rules
from bot.services.errors import Invalid
from db.models import (
    AgreementItem,
    Case,
    Checkin,
    CheckinState,
    Participant,
)


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
