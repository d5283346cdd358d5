"""bot/services/agreements.py: recording the agreement, its check-ins and reminders, the participants'
answers, the curator's weekly view and the end of the term (no Telegram)."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import agreements, cases, invitations, programme
from bot.services.agreements import ItemDraft, Rules
from bot.services.cases import Invalid, Refused
from bot.services.users import Profile
from db.models import (
    Agreement,
    AgreementAck,
    AgreementItem,
    AgreementState,
    Approval,
    Case,
    Checkin,
    CheckinState,
    ConsentPurpose,
    Decision,
    ItemResponsible,
    Reminder,
    Role,
    SurveyInvite,
)
from tests.factories import NOW, REGION_A, TTL, ZONE_A, Ids, audit_rows, ensure_regions, register

_ids = Ids(750_000_000, __name__)
new_id, person = _ids.new, _ids.person

VERSION = programme.text_version(["Согласие на участие во встречах"])
RULES = Rules()
TODAY = date(2026, 11, 20)  # NOW is Friday noon in Barnaul
UNTIL = date(2026, 12, 20)  # a Sunday
DUE = date(2026, 12, 1)  # a Tuesday
SUNDAYS = [date(2026, 11, 22), date(2026, 11, 29), date(2026, 12, 6), date(2026, 12, 13), date(2026, 12, 20)]
CALL = "Позвонить маме в субботу"
LUNCH = "Воскресный обед вместе"


def at10(day: date) -> datetime:
    """10:00 in Barnaul (UTC+7) as UTC."""
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


# ---------------------------------------------------------------- a case with people


async def agree(session: AsyncSession, user_id: int, participant_id: int) -> None:
    for purpose in (ConsentPurpose.DATA, ConsentPurpose.PARTICIPATION):
        await programme.decide(
            session,
            user_id=user_id,
            participant_id=participant_id,
            purpose=purpose,
            decision=Decision.AGREE,
            version=VERSION,
            locale="ru",
            now=NOW,
        )


async def team(
    session: AsyncSession, *, relative_agrees: bool = True, curator: Profile | None = None
) -> SimpleNamespace:
    """A case in region A: staff, curator, facilitator, the woman (agreed) and her mother Мария."""
    await ensure_regions(session)
    t = SimpleNamespace()
    t.staff = await person(session, Role.STAFF, scope=REGION_A)
    t.curator = curator or await person(session, Role.CURATOR, name="Ольга")
    t.facilitator = await person(session, Role.FACILITATOR, name="Ирина")
    t.case = await register(session, t.staff, curator_id=t.curator.user_id, facilitator_id=t.facilitator.user_id)
    t.case_id = t.case.case_id
    t.woman = new_id()
    await invitations.redeem(session, token=t.case.woman_token, user_id=t.woman, first_name="Аня", now=NOW)
    t.pid = t.case.woman_participant_id
    await agree(session, t.woman, t.pid)
    proposal = await cases.propose_relative(
        session, actor=t.curator, case_id=t.case_id, first_name="Мария", relation="mother", now=NOW
    )
    yes = await programme.decide_relative(
        session, user_id=t.woman, relative_id=proposal.participant_id, approval=Approval.APPROVED, now=NOW, ttl_days=TTL
    )
    assert yes.token is not None
    t.rid, t.relative = proposal.participant_id, new_id()
    await invitations.redeem(session, token=yes.token, user_id=t.relative, first_name=None, now=NOW)
    if relative_agrees:
        await agree(session, t.relative, t.rid)
    return t


def items_of(t: SimpleNamespace) -> list[ItemDraft]:
    """A one-off item for her, a weekly (Sunday) one for both."""
    return [
        ItemDraft(text=f"  {CALL} ", responsible=(t.pid,), due_date=DUE),
        ItemDraft(text=LUNCH, responsible=(t.pid, t.rid, t.pid), repeat="weekly:6"),
    ]


async def record(
    session: AsyncSession,
    t: SimpleNamespace,
    items: list[ItemDraft] | None = None,
    *,
    actor: Profile | None = None,
    valid_until: date = UNTIL,
) -> agreements.Recorded:
    return await agreements.record(
        session,
        actor=actor or t.facilitator,
        case_id=t.case_id,
        items=items_of(t) if items is None else items,
        valid_until=valid_until,
        consequences="  Обсудим на встрече ",
        now=NOW,
        rules=RULES,
    )


async def fetch(session: AsyncSession, stmt: Any) -> list[Any]:
    result = list((await session.scalars(stmt.execution_options(populate_existing=True))).all())
    await session.commit()
    return result


async def items_in(session: AsyncSession, agreement_id: int) -> list[AgreementItem]:
    return await fetch(
        session,
        select(AgreementItem).where(AgreementItem.agreement_id == agreement_id).order_by(AgreementItem.position),
    )


async def checkins_of(session: AsyncSession, item_id: int) -> list[tuple[int, date, str]]:
    rows = await fetch(session, select(Checkin).where(Checkin.item_id == item_id).order_by(Checkin.id))
    return sorted((c.participant_id, c.due_date, c.state) for c in rows)


async def checkin_id(session: AsyncSession, item_id: int, participant_id: int, day: date) -> int:
    """The id only: objects a rolled-back service call expired cannot be read outside greenlet."""
    return (await checkin(session, item_id, participant_id, day)).id


async def checkin(session: AsyncSession, item_id: int, participant_id: int, day: date) -> Checkin:
    rows = await fetch(
        session,
        select(Checkin).where(
            Checkin.item_id == item_id, Checkin.participant_id == participant_id, Checkin.due_date == day
        ),
    )
    assert len(rows) == 1
    return rows[0]


async def reminders_to(session: AsyncSession, recipient: int, kind: str) -> list[Reminder]:
    return await fetch(
        session,
        select(Reminder).where(Reminder.recipient_id == recipient, Reminder.kind == kind).order_by(Reminder.due_at),
    )


async def reminders_of_checkin(session: AsyncSession, checkin_id: int) -> list[tuple[int, str, datetime, Any]]:
    rows = await fetch(session, select(Reminder).order_by(Reminder.id))
    return sorted(
        (r.recipient_id, r.kind, r.due_at, (r.payload or {}).get("step"))
        for r in rows
        if (r.payload or {}).get("checkin") == checkin_id
    )


async def denied(session: AsyncSession, actor_id: int) -> list[tuple[str | None, str | None, Any]]:
    return [(e.object_type, e.object_id, e.details) for e in await audit_rows(session, actor_id, "denied")]


async def agreements_of(session: AsyncSession, case_id: int) -> list[Agreement]:
    return await fetch(session, select(Agreement).where(Agreement.case_id == case_id))


# ---------------------------------------------------------------- parse_repeat, occurrences


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("daily", ("daily", None)), *((f"weekly:{d}", ("weekly", d)) for d in range(7))],
)
def test_parse_repeat_accepts(raw: str, parsed: tuple[str, int | None]) -> None:
    assert agreements.parse_repeat(raw) == parsed


def test_parse_repeat_none_is_a_one_off() -> None:
    assert agreements.parse_repeat(None) is None


@pytest.mark.parametrize("raw", ["weekly:7", "monthly:1", "", "weekly:", "weekly:-1", "Daily", "weekly:1:2"])
def test_parse_repeat_refuses(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        agreements.parse_repeat(raw)
    assert caught.value.field == "repeat"


def test_occurrences_of_a_one_off_day() -> None:
    def days(due: date | None) -> list[date]:
        return agreements.occurrences(ItemDraft("x", (1,), due_date=due), today=TODAY, until=UNTIL)

    assert days(DUE) == [DUE]
    assert days(TODAY) == [TODAY]
    assert days(UNTIL) == [UNTIL]
    assert days(UNTIL + timedelta(days=1)) == []
    assert days(TODAY - timedelta(days=1)) == []
    assert days(None) == []


def test_occurrences_weekly_sundays_between_two_dates() -> None:
    draft = ItemDraft("x", (1,), repeat="weekly:6")
    assert agreements.occurrences(draft, today=TODAY, until=UNTIL) == SUNDAYS
    assert all(d.weekday() == 6 for d in SUNDAYS)
    # Nothing after the end of the term.
    assert agreements.occurrences(draft, today=TODAY, until=date(2026, 12, 19)) == SUNDAYS[:-1]
    assert agreements.occurrences(draft, today=TODAY, until=date(2026, 11, 21)) == []


def test_occurrences_daily() -> None:
    draft = ItemDraft("x", (1,), repeat="daily")
    days = agreements.occurrences(draft, today=TODAY, until=date(2026, 11, 25))
    assert days == [date(2026, 11, d) for d in range(21, 26)]
    assert max(days) <= date(2026, 11, 25)


# ---------------------------------------------------------------- record


async def test_record_by_the_facilitator_stores_the_items_in_order(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    assert done.case_code == t.case.code
    assert sorted(done.recipients) == sorted([t.woman, t.relative])

    [agreement] = await agreements_of(session, t.case_id)
    assert agreement.id == done.agreement_id
    assert (agreement.state, agreement.valid_until, agreement.recorded_by) == (
        AgreementState.ACTIVE.value,
        UNTIL,
        t.facilitator.user_id,
    )
    assert agreement.consequences == "Обсудим на встрече"
    one_off, weekly = await items_in(session, done.agreement_id)
    assert [(i.position, i.text, i.due_date, i.repeat) for i in (one_off, weekly)] == [
        (0, CALL, DUE, None),
        (1, LUNCH, None, "weekly:6"),
    ]
    people = await fetch(session, select(ItemResponsible).where(ItemResponsible.item_id.in_([one_off.id, weekly.id])))
    people = [(r.item_id, r.participant_id) for r in people]
    assert sorted(people) == sorted([(one_off.id, t.pid), (weekly.id, t.pid), (weekly.id, t.rid)])

    # At rest the texts are encrypted.
    raw = (
        await session.execute(
            text("SELECT text FROM agreement_items WHERE agreement_id = :id ORDER BY position"),
            {"id": done.agreement_id},
        )
    ).all()
    raw_consequences = (
        await session.execute(text("SELECT consequences FROM agreements WHERE id = :id"), {"id": done.agreement_id})
    ).scalar_one()
    await session.commit()
    assert len(raw) == 2 and all(row[0] for row in raw)
    assert CALL not in raw[0][0] and "маме" not in raw[0][0]
    assert LUNCH not in raw[1][0] and "обед" not in raw[1][0]
    assert raw_consequences and "Обсудим" not in raw_consequences
    assert [e.object_id for e in await audit_rows(session, t.facilitator.user_id, "agreement_recorded")] == [
        str(t.case_id)
    ]


async def test_record_plans_one_checkin_per_day_per_responsible_person(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    one_off, weekly = await items_in(session, done.agreement_id)
    assert await checkins_of(session, one_off.id) == [(t.pid, DUE, "open")]
    assert await checkins_of(session, weekly.id) == sorted(
        [(t.pid, d, "open") for d in SUNDAYS] + [(t.rid, d, "open") for d in SUNDAYS]
    )


async def test_record_reminders_of_a_one_off_item(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    one_off, _ = await items_in(session, done.agreement_id)
    c = await checkin(session, one_off.id, t.pid, DUE)
    assert await reminders_of_checkin(session, c.id) == sorted(
        [
            (t.woman, agreements.KIND_CHECKIN, at10(DUE - timedelta(days=3)), "before"),
            (t.woman, agreements.KIND_CHECKIN, at10(DUE), "day"),
            (t.woman, agreements.KIND_CHECKIN, at10(DUE + timedelta(days=1)), "missed"),
            (t.curator.user_id, agreements.KIND_OVERDUE, at10(DUE + timedelta(days=3)), None),
        ]
    )
    [overdue] = [
        r
        for r in await reminders_to(session, t.curator.user_id, agreements.KIND_OVERDUE)
        if r.payload == {"checkin": c.id}
    ]
    assert overdue.case_id == t.case_id and overdue.state == "pending"


async def test_record_reminders_of_a_weekly_item_are_on_the_day_only(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    _, weekly = await items_in(session, done.agreement_id)
    for who, user_id in ((t.pid, t.woman), (t.rid, t.relative)):
        for day in SUNDAYS:
            c = await checkin(session, weekly.id, who, day)
            assert await reminders_of_checkin(session, c.id) == sorted(
                [
                    (user_id, agreements.KIND_CHECKIN, at10(day), "day"),
                    (user_id, agreements.KIND_CHECKIN, at10(day + timedelta(days=1)), "missed"),
                    (t.curator.user_id, agreements.KIND_OVERDUE, at10(day + timedelta(days=3)), None),
                ]
            )


async def test_record_plans_the_end_of_the_term_and_the_followup_surveys(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    [end] = await reminders_to(session, t.facilitator.user_id, agreements.KIND_END)
    assert (end.due_at, end.case_id, end.payload) == (
        at10(UNTIL + timedelta(days=1)),
        t.case_id,
        {"agreement": done.agreement_id},
    )
    invites = await fetch(session, select(SurveyInvite).where(SurveyInvite.case_id == t.case_id))
    assert sorted((i.user_id, i.survey, i.ref) for i in invites) == sorted(
        (user, survey, f"agreement:{done.agreement_id}")
        for user in (t.woman, t.relative)
        for survey in ("followup_1m", "followup_3m")
    )
    for user in (t.woman, t.relative):
        survey_reminders = await reminders_to(session, user, "survey")
        assert [r.due_at for r in survey_reminders] == [NOW + timedelta(days=30), NOW + timedelta(days=90)]


async def test_record_leaves_out_a_relative_who_has_not_agreed(session: AsyncSession) -> None:
    t = await team(session, relative_agrees=False)
    done = await record(session, t, [ItemDraft(text=CALL, responsible=(t.pid,), due_date=DUE)])
    assert done.recipients == (t.woman,)
    invites = await fetch(session, select(SurveyInvite).where(SurveyInvite.user_id == t.relative))
    assert invites == []


@pytest.mark.parametrize("who", ["curator", "other facilitator"])
async def test_record_refused_to_others(session: AsyncSession, who: str) -> None:
    t = await team(session)
    if who == "curator":
        actor = t.curator
    else:
        other = await team(session)
        actor = other.facilitator
    with pytest.raises(Refused):
        await record(session, t, actor=actor)
    assert not session.in_transaction()
    assert await denied(session, actor.user_id) == [("case", str(t.case_id), {"attempted": "agreement"})]
    assert await agreements_of(session, t.case_id) == []


def _one(t: SimpleNamespace, **kw: Any) -> list[ItemDraft]:
    values: dict[str, Any] = {"text": CALL, "responsible": (t.pid,), "due_date": DUE, "repeat": None}
    values.update(kw)
    return [ItemDraft(**values)]


INVALID = {
    "no items": (lambda t: [], UNTIL, "items"),
    "21 items": (lambda t: _one(t) * 21, UNTIL, "items"),
    "term ends today": (lambda t: _one(t, due_date=TODAY), TODAY, "valid_until"),
    "term ended": (lambda t: _one(t, due_date=TODAY), TODAY - timedelta(days=1), "valid_until"),
    "empty text": (lambda t: _one(t, text="   "), UNTIL, "text"),
    "long text": (lambda t: _one(t, text="я" * 501), UNTIL, "text"),
    "nobody responsible": (lambda t: _one(t, responsible=()), UNTIL, "responsible"),
    "relative not agreed": (lambda t: _one(t, responsible=(t.pid, t.rid)), UNTIL, "responsible"),
    "someone else": (lambda t: _one(t, responsible=(t.pid + 10_000_000,)), UNTIL, "responsible"),
    "no due date": (lambda t: _one(t, due_date=None), UNTIL, "due_date"),
    "due yesterday": (lambda t: _one(t, due_date=TODAY - timedelta(days=1)), UNTIL, "due_date"),
    "due after the term": (lambda t: _one(t, due_date=UNTIL + timedelta(days=1)), UNTIL, "due_date"),
    "bad repeat": (lambda t: _one(t, due_date=None, repeat="monthly:1"), UNTIL, "repeat"),
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_record_refuses_invalid_input(session: AsyncSession, case: str) -> None:
    make, valid_until, field = INVALID[case]
    t = await team(session, relative_agrees=False)
    with pytest.raises(Invalid) as caught:
        await record(session, t, make(t), valid_until=valid_until)
    assert caught.value.field == field
    assert not session.in_transaction()
    assert await agreements_of(session, t.case_id) == []


async def test_record_accepts_the_limits(session: AsyncSession) -> None:
    t = await team(session)
    items = _one(t, text="я" * 500, due_date=TODAY) + _one(t, due_date=UNTIL) * 19
    done = await record(session, t, items)
    rows = await items_in(session, done.agreement_id)
    assert [i.position for i in rows] == list(range(20))
    assert rows[0].text == "я" * 500
    # Due today: the "before" and "day" moments have passed, only "missed" and the curator's remain.
    c = await checkin(session, rows[0].id, t.pid, TODAY)
    assert await reminders_of_checkin(session, c.id) == sorted(
        [
            (t.woman, agreements.KIND_CHECKIN, at10(TODAY + timedelta(days=1)), "missed"),
            (t.curator.user_id, agreements.KIND_OVERDUE, at10(TODAY + timedelta(days=3)), None),
        ]
    )


# ---------------------------------------------------------------- acknowledge


async def test_acknowledge_confirmed(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    facilitator, code, name = await agreements.acknowledge(
        session, user_id=t.relative, agreement_id=done.agreement_id, confirmed=True, comment=None, now=NOW
    )
    assert (facilitator, code, name) == (t.facilitator.user_id, t.case.code, "Мария")
    [ack] = await fetch(session, select(AgreementAck).where(AgreementAck.agreement_id == done.agreement_id))
    assert (ack.participant_id, ack.confirmed, ack.comment, ack.at) == (t.rid, True, None, NOW)
    assert len(await audit_rows(session, t.relative, "agreement_ack")) == 1


async def test_acknowledge_not_right_then_again_keeps_one_row(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    comment = "Обед не по воскресеньям, а по субботам"
    await agreements.acknowledge(
        session, user_id=t.woman, agreement_id=done.agreement_id, confirmed=False, comment=comment, now=NOW
    )
    [ack] = await fetch(session, select(AgreementAck).where(AgreementAck.agreement_id == done.agreement_id))
    assert (ack.participant_id, ack.confirmed, ack.comment) == (t.pid, False, comment)
    raw = (
        await session.execute(
            text("SELECT comment FROM agreement_acks WHERE agreement_id = :id"), {"id": done.agreement_id}
        )
    ).scalar_one()
    await session.commit()
    assert raw and "субботам" not in raw and comment not in raw

    later = NOW + timedelta(hours=1)
    await agreements.acknowledge(
        session, user_id=t.woman, agreement_id=done.agreement_id, confirmed=True, comment=None, now=later
    )
    [ack] = await fetch(session, select(AgreementAck).where(AgreementAck.agreement_id == done.agreement_id))
    assert (ack.participant_id, ack.confirmed, ack.comment, ack.at) == (t.pid, True, None, later)


async def test_acknowledge_refused_to_someone_outside_the_case(session: AsyncSession) -> None:
    t = await team(session)
    other = await team(session)
    done = await record(session, t)
    for outsider in (other.woman, t.curator.user_id):
        with pytest.raises(Refused):
            await agreements.acknowledge(
                session, user_id=outsider, agreement_id=done.agreement_id, confirmed=True, comment=None, now=NOW
            )
        assert await denied(session, outsider) == [("agreement", str(done.agreement_id), {"attempted": "ack"})]
    with pytest.raises(Refused):
        await agreements.acknowledge(
            session, user_id=t.woman, agreement_id=done.agreement_id + 10_000, confirmed=True, comment=None, now=NOW
        )
    assert await fetch(session, select(AgreementAck).where(AgreementAck.agreement_id == done.agreement_id)) == []


# ---------------------------------------------------------------- check-ins


async def answer(
    session: AsyncSession, user_id: int, checkin_id: int, state: CheckinState, new_date: date | None = None
) -> agreements.CheckinView:
    return await agreements.answer(
        session, user_id=user_id, checkin_id=checkin_id, state=state, now=NOW, rules=RULES, new_date=new_date
    )


async def test_my_items_for_her_and_for_her_mother(session: AsyncSession) -> None:
    t = await team(session)
    items = [*items_of(t), ItemDraft(text="Забрать внука из садика", responsible=(t.rid,), due_date=DUE)]
    done = await record(session, t, items)
    _, weekly, _ = await items_in(session, done.agreement_id)

    mine = await agreements.my_items(session, user_id=t.woman, today=TODAY)
    assert mine == [
        agreements.MyItem(CALL, DUE, None, 0, 0),
        agreements.MyItem(LUNCH, SUNDAYS[0], "weekly:6", 0, 0),
    ]
    first = await checkin(session, weekly.id, t.pid, SUNDAYS[0])
    await answer(session, t.woman, first.id, CheckinState.DONE)
    # A week on: one kept, the next Sunday is the 29th; the one-off is still ahead.
    mine = await agreements.my_items(session, user_id=t.woman, today=date(2026, 11, 23))
    assert mine == [
        agreements.MyItem(CALL, DUE, None, 0, 0),
        agreements.MyItem(LUNCH, SUNDAYS[1], "weekly:6", 1, 0),
    ]
    # After the one-off's day, unanswered: no next day, one passed.
    mine = await agreements.my_items(session, user_id=t.woman, today=date(2026, 12, 2))
    assert mine == [
        agreements.MyItem(CALL, None, None, 0, 1),
        agreements.MyItem(LUNCH, SUNDAYS[2], "weekly:6", 1, 1),
    ]
    hers = await agreements.my_items(session, user_id=t.relative, today=TODAY)
    assert hers == [
        agreements.MyItem(LUNCH, SUNDAYS[0], "weekly:6", 0, 0),
        agreements.MyItem("Забрать внука из садика", DUE, None, 0, 0),
    ]
    assert await agreements.my_items(session, user_id=t.curator.user_id, today=TODAY) == []


@pytest.mark.parametrize("state", [CheckinState.DONE, CheckinState.HELP])
async def test_answer_done_or_help(session: AsyncSession, state: CheckinState) -> None:
    t = await team(session)
    done = await record(session, t)
    one_off, _ = await items_in(session, done.agreement_id)
    c = await checkin(session, one_off.id, t.pid, DUE)
    view = await answer(session, t.woman, c.id, state)
    assert (view.id, view.item_text, view.due_date, view.user_id, view.case_id, view.curator_id, view.timezone) == (
        c.id,
        CALL,
        DUE,
        t.woman,
        t.case_id,
        t.curator.user_id,
        ZONE_A,
    )
    c = await checkin(session, one_off.id, t.pid, DUE)
    assert (c.state, c.answered_at) == (state.value, NOW)
    assert [e.details for e in await audit_rows(session, t.woman, "checkin_answered")] == [{"state": state.value}]
    assert await checkins_of(session, one_off.id) == [(t.pid, DUE, state.value)]


async def test_answer_more_time_plans_the_new_day(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    one_off, _ = await items_in(session, done.agreement_id)
    c = await checkin(session, one_off.id, t.pid, DUE)
    later = date(2026, 12, 10)
    await answer(session, t.woman, c.id, CheckinState.MORE_TIME, new_date=later)
    assert await checkins_of(session, one_off.id) == [(t.pid, DUE, "more_time"), (t.pid, later, "open")]
    moved = await checkin(session, one_off.id, t.pid, later)
    assert await reminders_of_checkin(session, moved.id) == sorted(
        [
            (t.woman, agreements.KIND_CHECKIN, at10(later), "day"),
            (t.woman, agreements.KIND_CHECKIN, at10(later + timedelta(days=1)), "missed"),
            (t.curator.user_id, agreements.KIND_OVERDUE, at10(later + timedelta(days=3)), None),
        ]
    )


@pytest.mark.parametrize("new_date", [None, TODAY, TODAY - timedelta(days=1)])
async def test_answer_more_time_needs_a_future_date(session: AsyncSession, new_date: date | None) -> None:
    t = await team(session)
    done = await record(session, t)
    item_id = (await items_in(session, done.agreement_id))[0].id
    cid = await checkin_id(session, item_id, t.pid, DUE)
    with pytest.raises(Invalid) as caught:
        await answer(session, t.woman, cid, CheckinState.MORE_TIME, new_date=new_date)
    assert caught.value.field == "new_date"
    assert not session.in_transaction()
    assert await checkins_of(session, item_id) == [(t.pid, DUE, "open")]


async def test_answer_more_time_to_a_day_that_already_has_a_checkin(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t, [ItemDraft(text=LUNCH, responsible=(t.pid,), repeat="weekly:6")])
    item_id = (await items_in(session, done.agreement_id))[0].id
    cid = await checkin_id(session, item_id, t.pid, SUNDAYS[0])
    try:
        await answer(session, t.woman, cid, CheckinState.MORE_TIME, new_date=SUNDAYS[1])
    except Invalid as refused:
        assert refused.field == "new_date"
        assert not session.in_transaction()
    rows = await checkins_of(session, item_id)
    assert [d for _, d, _ in rows] == SUNDAYS


async def test_answering_a_done_checkin_again_is_invalid(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    item_id = (await items_in(session, done.agreement_id))[0].id
    cid = await checkin_id(session, item_id, t.pid, DUE)
    await answer(session, t.woman, cid, CheckinState.DONE)
    for state in (CheckinState.HELP, CheckinState.DONE, CheckinState.MORE_TIME):
        with pytest.raises(Invalid) as caught:
            await answer(session, t.woman, cid, state, new_date=DUE + timedelta(days=5))
        assert caught.value.field == "answered"
        assert not session.in_transaction()
    assert await checkins_of(session, item_id) == [(t.pid, DUE, "done")]
    assert len(await audit_rows(session, t.woman, "checkin_answered")) == 1


async def test_answering_someone_elses_checkin_is_refused(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    one_off, _ = await items_in(session, done.agreement_id)
    c = await checkin(session, one_off.id, t.pid, DUE)
    for intruder in (t.relative, t.curator.user_id):
        with pytest.raises(Refused):
            await answer(session, intruder, c.id, CheckinState.DONE)
        assert await denied(session, intruder) == [("checkin", str(c.id), {"attempted": "checkin"})]
    assert await checkins_of(session, one_off.id) == [(t.pid, DUE, "open")]


async def test_still_open_mark_missed_mark_escalated(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    one_off, weekly = await items_in(session, done.agreement_id)
    c = await checkin(session, one_off.id, t.pid, DUE)
    assert await agreements.still_open(session, c.id) is True
    await agreements.mark_missed(session, c.id, NOW)
    assert (await checkin(session, one_off.id, t.pid, DUE)).state == "missed"
    assert await agreements.still_open(session, c.id) is True
    stamp = NOW + timedelta(days=14)
    await agreements.mark_escalated(session, c.id, stamp)
    assert (await checkin(session, one_off.id, t.pid, DUE)).escalated_at == stamp

    kept = await checkin(session, weekly.id, t.pid, SUNDAYS[0])
    await answer(session, t.woman, kept.id, CheckinState.DONE)
    await session.commit()
    assert await agreements.still_open(session, kept.id) is False
    await agreements.mark_missed(session, kept.id, NOW)  # an answered one stays answered
    assert (await checkin(session, weekly.id, t.pid, SUNDAYS[0])).state == "done"
    helped = await checkin(session, weekly.id, t.pid, SUNDAYS[1])
    await answer(session, t.woman, helped.id, CheckinState.HELP)
    await session.commit()
    assert await agreements.still_open(session, helped.id) is False
    await session.commit()
    assert await agreements.still_open(session, c.id + 10_000_000) is False
    await session.commit()


# ---------------------------------------------------------------- the curator's week


async def set_state(session: AsyncSession, checkin_id: int, state: CheckinState) -> None:
    await session.execute(update(Checkin).where(Checkin.id == checkin_id).values(state=state.value))
    await session.commit()


async def test_weekly_per_family_of_the_curator(session: AsyncSession) -> None:
    first = await team(session)
    second = await team(session, curator=first.curator)
    stranger = await team(session)
    done = await record(session, first)
    await record(session, second, [ItemDraft(text="Сходить к врачу", responsible=(second.pid,), due_date=DUE)])
    await record(session, stranger)
    one_off, weekly = await items_in(session, done.agreement_id)
    today = date(2026, 12, 3)  # Thursday: Sundays 29 Nov (past) and 6 Dec (coming)
    # Hers: the one-off (1 Dec) asked for help; 22 Nov missed; 29 Nov done; 6 and 13 Dec open.
    await set_state(session, (await checkin(session, one_off.id, first.pid, DUE)).id, CheckinState.HELP)
    await set_state(session, (await checkin(session, weekly.id, first.pid, SUNDAYS[0])).id, CheckinState.MISSED)
    await set_state(session, (await checkin(session, weekly.id, first.pid, SUNDAYS[1])).id, CheckinState.DONE)
    # Her mother's: 22 Nov done (11 days ago: not in this week), 29 Nov open (overdue), 6 Dec done ahead.
    await set_state(session, (await checkin(session, weekly.id, first.rid, SUNDAYS[0])).id, CheckinState.DONE)
    await set_state(session, (await checkin(session, weekly.id, first.rid, SUNDAYS[2])).id, CheckinState.DONE)

    digest = await agreements.weekly(session, curator_id=first.curator.user_id, today=today)
    by_code = {f.case_code: f for f in digest}
    assert set(by_code) == {first.case.code, second.case.code}
    assert stranger.case.code not in by_code
    family = by_code[first.case.code]
    assert sorted(family.kept) == sorted([f"Анна: {LUNCH}", f"Мария: {LUNCH}"])
    assert sorted(family.overdue) == sorted(
        [f"Анна: {CALL} (2026-12-01)", f"Анна: {LUNCH} (2026-11-22)", f"Мария: {LUNCH} (2026-11-29)"]
    )
    assert family.coming == [f"Анна: {LUNCH} (2026-12-06)"]
    other = by_code[second.case.code]
    assert (other.kept, other.coming, other.overdue) == ([], [], ["Анна: Сходить к врачу (2026-12-01)"])

    assert [
        f.case_code for f in await agreements.weekly(session, curator_id=stranger.curator.user_id, today=today)
    ] == [stranger.case.code]


# ---------------------------------------------------------------- the end


async def test_end_closes_the_case_and_invites_the_final_survey(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    later = datetime(2026, 12, 21, 3, 0, tzinfo=UTC)
    ended = await agreements.end(session, agreement_id=done.agreement_id, now=later)
    assert ended is not None
    assert (ended.case_id, ended.case_code, ended.region_code) == (t.case_id, t.case.code, REGION_A)
    assert sorted(ended.people) == sorted([t.woman, t.relative])
    [agreement] = await agreements_of(session, t.case_id)
    assert (agreement.state, agreement.ended_at) == (AgreementState.ENDED.value, later)
    [case] = await fetch(session, select(Case).where(Case.id == t.case_id))
    assert case.closed_at == later
    finals = await fetch(
        session, select(SurveyInvite).where(SurveyInvite.survey == "final", SurveyInvite.case_id == t.case_id)
    )
    assert sorted((i.user_id, i.ref) for i in finals) == sorted(
        [(t.woman, f"case:{t.case_id}"), (t.relative, f"case:{t.case_id}")]
    )
    # No longer in her list, nor in the curator's week; a check-in of it can no longer be answered.
    assert await agreements.my_items(session, user_id=t.woman, today=date(2026, 12, 21)) == []
    assert await agreements.weekly(session, curator_id=t.curator.user_id, today=date(2026, 12, 21)) == []

    assert await agreements.end(session, agreement_id=done.agreement_id, now=later + timedelta(days=1)) is None
    [case] = await fetch(session, select(Case).where(Case.id == t.case_id))
    assert case.closed_at == later
    assert (
        len(
            await fetch(
                session, select(SurveyInvite).where(SurveyInvite.survey == "final", SurveyInvite.case_id == t.case_id)
            )
        )
        == 2
    )
    assert await agreements.end(session, agreement_id=done.agreement_id + 10_000_000, now=later) is None


async def test_end_does_not_survey_someone_who_withdrew(session: AsyncSession) -> None:
    t = await team(session)
    done = await record(session, t)
    await programme.decide(
        session,
        user_id=t.relative,
        participant_id=t.rid,
        purpose=ConsentPurpose.DATA,
        decision=Decision.WITHDRAW,
        version=VERSION,
        locale="ru",
        now=NOW + timedelta(days=1),
    )
    ended = await agreements.end(session, agreement_id=done.agreement_id, now=NOW + timedelta(days=31))
    assert ended is not None
    finals = await fetch(
        session, select(SurveyInvite).where(SurveyInvite.survey == "final", SurveyInvite.user_id == t.relative)
    )
    assert finals == []
    assert ended.people == (t.woman,)
