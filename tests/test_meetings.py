"""bot/services/meetings.py: time zones, slots, bookings, the general meeting, reminders, withdrawal."""

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import cases, invitations, meetings, programme, users
from bot.services.cases import Invalid, Refused
from db.models import Approval, AuditEvent, ConsentPurpose, Decision, Meeting, Reminder, Role, Vote
from tests.factories import NOW, REGION_A, REGION_B, TTL, ZONE_A, ZONE_B, Ids, audit_rows, ensure_regions, register

_ids = Ids(650_000_000, __name__)
new_id, person = _ids.new, _ids.person

VERSION = programme.text_version(["Согласие на участие во встречах"])
DATA, PART = ConsentPurpose.DATA, ConsentPurpose.PARTICIPATION
AGREE, WITHDRAW = Decision.AGREE, Decision.WITHDRAW

DAY = date(2026, 11, 23)  # the Monday after NOW (Friday noon in Barnaul)
AT = time(14, 0)  # 07:00 UTC in Barnaul
STARTS = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
BEFORE = (24 * 60, 120)
PLACE = "ул. Ленина, 15, кабинет 3"


class Team(SimpleNamespace):
    pass


async def agree(session: AsyncSession, user_id: int, participant_id: int) -> None:
    for purpose in (DATA, PART):
        await programme.decide(
            session,
            user_id=user_id,
            participant_id=participant_id,
            purpose=purpose,
            decision=AGREE,
            version=VERSION,
            locale="ru",
            now=NOW,
        )


async def add_relative(session: AsyncSession, t: Team, name: str, *, agrees: bool) -> tuple[int, int]:
    """A relative the curator proposes, the woman approves, who opens her link: (participant id, user id)."""
    proposal = await cases.propose_relative(
        session, actor=t.curator, case_id=t.case_id, first_name=name, relation="mother", now=NOW
    )
    yes = await programme.decide_relative(
        session, user_id=t.woman, relative_id=proposal.participant_id, approval=Approval.APPROVED, now=NOW, ttl_days=TTL
    )
    assert yes.token is not None
    user_id = new_id()
    await invitations.redeem(session, token=yes.token, user_id=user_id, first_name=None, now=NOW)
    if agrees:
        await agree(session, user_id, proposal.participant_id)
    return proposal.participant_id, user_id


async def team(
    session: AsyncSession,
    *,
    relative: bool = True,
    relative_agrees: bool = True,
    woman_agrees: bool = True,
    facilitator: object = None,
    with_facilitator: bool = True,
) -> Team:
    """A case in region A: staff, a curator, a facilitator, the woman (joined, agreed), a relative."""
    await ensure_regions(session)
    t = Team()
    t.staff = await person(session, Role.STAFF, scope=REGION_A)
    t.curator = await person(session, Role.CURATOR, name="Ольга")
    t.facilitator = facilitator or await person(session, Role.FACILITATOR, name="Ирина")
    t.case = await register(
        session,
        t.staff,
        curator_id=t.curator.user_id,
        facilitator_id=t.facilitator.user_id if with_facilitator else None,
    )
    t.case_id = t.case.case_id
    t.woman = new_id()
    await invitations.redeem(session, token=t.case.woman_token, user_id=t.woman, first_name="Аня", now=NOW)
    t.pid = t.case.woman_participant_id
    if woman_agrees:
        await agree(session, t.woman, t.pid)
    t.rid = t.relative = None
    if relative:
        t.rid, t.relative = await add_relative(session, t, "Мария", agrees=relative_agrees)
    return t


def slot(
    t: Team,
    *,
    day: date = DAY,
    at: time = AT,
    duration: int = 60,
    fmt: str = "in_person",
    place: str | None = PLACE,
    kind: str = "preliminary",
    for_pid: int | None = None,
) -> meetings.SlotDraft:
    return meetings.SlotDraft(
        case_id=t.case_id,
        kind=kind,
        for_participant_id=for_pid,
        day=day,
        at=at,
        duration_min=duration,
        format=fmt,
        place=place,
    )


async def offer(session: AsyncSession, t: Team, *, actor: Any = None, **kw: Any) -> tuple[int, list[int]]:
    return await meetings.offer(
        session,
        actor=actor or t.facilitator,
        draft=slot(t, **kw),
        timezone=ZONE_A,
        now=NOW,
    )


async def book(session: AsyncSession, user_id: int, meeting_id: int, now: datetime = NOW) -> meetings.Booked:
    return await meetings.book(session, user_id=user_id, meeting_id=meeting_id, now=now, before=BEFORE)


async def state_of(session: AsyncSession, meeting_id: int) -> tuple[str, int | None]:
    row = await session.get(Meeting, meeting_id, populate_existing=True)
    assert row is not None
    result = (row.state, row.booked_by)
    await session.commit()
    return result


async def reminder_rows(session: AsyncSession, meeting_id: int) -> list[tuple[int, datetime, str, str]]:
    """(recipient, due, state, kind) of a meeting's reminders before it (not the survey after it)."""
    rows = await session.scalars(
        select(Reminder)
        .where(Reminder.meeting_id == meeting_id, Reminder.kind == meetings.REMINDER_KIND)
        .order_by(Reminder.recipient_id, Reminder.due_at)
        .execution_options(populate_existing=True)
    )
    result = [(r.recipient_id, r.due_at, r.state, r.kind) for r in rows.all()]
    await session.commit()
    return result


def two_reminders(user_id: int, starts: datetime, state: str = "pending") -> list[tuple[int, datetime, str, str]]:
    return [
        (user_id, starts - timedelta(hours=24), state, "meeting"),
        (user_id, starts - timedelta(hours=2), state, "meeting"),
    ]


async def denied(session: AsyncSession, actor_id: int) -> list[tuple[str | None, str | None, object]]:
    return [(e.object_type, e.object_id, e.details) for e in await audit_rows(session, actor_id, "denied")]


# ---------------------------------------------------------------- time


def test_local_to_utc_barnaul() -> None:
    assert meetings.local_to_utc(DAY, time(14, 0), "Asia/Barnaul") == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_local_to_utc_skipped_hour() -> None:
    with pytest.raises(Invalid) as caught:
        meetings.local_to_utc(date(2026, 3, 29), time(2, 30), "Europe/Berlin")
    assert caught.value.field == "no_such_time"
    # The hour after the jump exists.
    assert meetings.local_to_utc(date(2026, 3, 29), time(3, 30), "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_local_to_utc_hour_that_happens_twice_is_the_first() -> None:
    assert meetings.local_to_utc(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(("raw", "parsed"), [("14:30", time(14, 30)), ("9.05", time(9, 5)), ("1430", time(14, 30))])
def test_parse_time_accepts(raw: str, parsed: time) -> None:
    assert meetings.parse_time(raw) == parsed


@pytest.mark.parametrize("raw", ["25:00", "abc", "", "14:3", None])
def test_parse_time_refuses(raw: str | None) -> None:
    with pytest.raises(Invalid) as caught:
        meetings.parse_time(raw)
    assert caught.value.field == "time"


# ---------------------------------------------------------------- offer


async def test_facilitator_offers_a_slot(session: AsyncSession) -> None:
    t = await team(session)
    other_rid, _ = await add_relative(session, t, "Вера", agrees=False)
    mid, audience = await offer(session, t)
    assert sorted(audience) == sorted([t.woman, t.relative])  # not the relative who has not agreed
    assert not session.in_transaction()

    session.expire_all()
    row = await session.get(Meeting, mid)
    assert row is not None
    assert (row.state, row.kind, row.case_id, row.facilitator_id) == (
        "open",
        "preliminary",
        t.case_id,
        t.facilitator.user_id,
    )
    assert row.starts_at == STARTS and row.starts_at.utcoffset() == timedelta(0)
    assert (row.timezone, row.duration_min, row.format, row.place) == (ZONE_A, 60, "in_person", PLACE)
    raw = (await session.execute(text("SELECT place, starts_at FROM meetings WHERE id = :id"), {"id": mid})).one()
    assert raw[0] and "Ленина" not in raw[0] and PLACE not in raw[0]
    await session.commit()
    offered = await audit_rows(session, t.facilitator.user_id, "slot_offered")
    assert [e.object_id for e in offered] == [str(mid)]

    # A slot for one participant: only she hears of it.
    mid2, audience = await offer(session, t, at=time(16, 0), for_pid=t.rid)
    assert audience == [t.relative]
    row = await session.get(Meeting, mid2)
    assert row is not None and row.for_participant_id == t.rid
    await session.commit()
    _, audience = await offer(session, t, at=time(18, 0), for_pid=other_rid)
    assert audience == []


@pytest.mark.parametrize("who", ["curator", "other_facilitator"])
async def test_others_may_not_offer(session: AsyncSession, who: str) -> None:
    t = await team(session, relative=False)
    if who == "curator":
        actor = t.curator
    else:
        other = await team(session, relative=False)
        actor = other.facilitator
    with pytest.raises(Refused):
        await offer(session, t, actor=actor)
    assert not session.in_transaction()
    assert await denied(session, actor.user_id) == [("case", str(t.case_id), {"attempted": "offer_slot"})]
    made = (await session.scalars(select(Meeting.id).where(Meeting.case_id == t.case_id))).all()
    await session.commit()
    assert made == []


async def test_offer_in_the_past(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    for day, at in ((date(2026, 11, 20), time(11, 0)), (date(2026, 11, 20), time(12, 0)), (date(2026, 11, 19), AT)):
        with pytest.raises(Invalid) as caught:
            await offer(session, t, day=day, at=at)
        assert caught.value.field == "past"
        assert not session.in_transaction()
    # A minute after now is fine.
    await offer(session, t, day=date(2026, 11, 20), at=time(12, 1))


async def test_offer_overlap_with_the_same_facilitator(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    other_case = await team(session, relative=False, facilitator=t.facilitator)  # her second case
    await offer(session, t, at=time(14, 0), duration=60)
    for at, duration in ((time(14, 30), 30), (time(13, 30), 45), (time(13, 0), 120), (time(14, 0), 30)):
        with pytest.raises(Invalid) as caught:
            await offer(session, other_case, at=at, duration=duration)
        assert caught.value.field == "overlap", (at, duration)
        assert not session.in_transaction()
    # Right after, right before: fine.
    await offer(session, other_case, at=time(15, 0), duration=30)
    await offer(session, t, at=time(13, 0), duration=60)
    # Another facilitator at the same time: fine.
    stranger = await team(session, relative=False)
    await offer(session, stranger, at=time(14, 0), duration=60)


async def test_offer_overlap_with_a_long_slot_before(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    await offer(session, t, at=time(10, 0), duration=120)
    with pytest.raises(Invalid) as caught:
        await offer(session, t, at=time(11, 59), duration=30)
    assert caught.value.field == "overlap"
    await offer(session, t, at=time(12, 0), duration=30)


async def test_a_withdrawn_slot_does_not_block_its_time(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t)
    await meetings.take_back(session, actor=t.facilitator, meeting_id=mid, now=NOW)
    await offer(session, t)


async def test_offer_place_and_duration(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    for kw, field in (
        ({"fmt": "in_person", "place": None}, "place"),
        ({"fmt": "in_person", "place": "   "}, "place"),
        ({"fmt": "video", "place": ""}, "place"),
        ({"place": "x" * 301}, "place"),
        ({"duration": 50}, "duration"),
        ({"fmt": "carrier_pigeon"}, "format"),
        ({"kind": "party"}, "kind"),
    ):
        with pytest.raises(Invalid) as caught:
            await offer(session, t, **kw)
        assert caught.value.field == field, kw
        assert not session.in_transaction()
    mid, _ = await offer(session, t, fmt="phone", place=None)
    row = await session.get(Meeting, mid)
    assert row is not None and (row.format, row.place) == ("phone", None)
    await session.commit()


async def test_offer_without_a_facilitator(session: AsyncSession) -> None:
    t = await team(session, relative=False, with_facilitator=False)
    with pytest.raises(Invalid) as caught:
        await offer(session, t, actor=t.staff)
    assert caught.value.field == "no_facilitator"
    assert not session.in_transaction()


async def test_general_option_needs_everyone(session: AsyncSession) -> None:
    t = await team(session, relative_agrees=False)
    with pytest.raises(Invalid) as caught:
        await offer(session, t, kind="general")
    assert caught.value.field == "not_everyone_agreed"
    assert not session.in_transaction()
    made = (await session.scalars(select(Meeting.id).where(Meeting.case_id == t.case_id))).all()
    await session.commit()
    assert made == []

    await agree(session, t.relative, t.rid)
    mid, audience = await offer(session, t, kind="general", for_pid=t.pid)
    assert sorted(audience) == sorted([t.woman, t.relative])
    row = await session.get(Meeting, mid)
    assert row is not None and (row.state, row.kind, row.for_participant_id) == ("proposed", "general", None)
    await session.commit()


# ---------------------------------------------------------------- book


async def test_book_a_slot(session: AsyncSession) -> None:
    t = await team(session)
    mid, _ = await offer(session, t)
    booked = await book(session, t.woman, mid)
    assert not session.in_transaction()
    assert (booked.meeting_id, booked.starts_at, booked.facilitator_id, booked.first_name, booked.case_code) == (
        mid,
        STARTS,
        t.facilitator.user_id,
        "Анна",
        t.case.code,
    )
    assert booked.moved_from is None
    assert await state_of(session, mid) == ("booked", t.pid)
    assert await reminder_rows(session, mid) == two_reminders(t.woman, STARTS)
    view = await meetings.get_view(session, mid)
    assert view is not None and (view.booked_by, view.booked_name) == (t.pid, "Анна")
    assert [e.object_id for e in await audit_rows(session, t.woman, "slot_booked")] == [str(mid)]


async def test_book_a_slot_five_hours_away(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t, day=date(2026, 11, 20), at=time(17, 0))
    booked = await book(session, t.woman, mid)
    starts = NOW + timedelta(hours=5)
    assert booked.starts_at == starts
    assert await reminder_rows(session, mid) == [(t.woman, starts - timedelta(hours=2), "pending", "meeting")]


async def test_book_refused(session: AsyncSession) -> None:
    t = await team(session, relative_agrees=False)
    other = await team(session, relative=False)
    mid, _ = await offer(session, t)
    only_hers, _ = await offer(session, t, at=time(16, 0), for_pid=t.pid)
    await agree(session, t.relative, t.rid)
    refusals = [(t.relative, only_hers), (other.woman, mid), (new_id(), mid)]
    t2 = await team(session, relative=False, woman_agrees=False)
    mid2, _ = await offer(session, t2)
    refusals.append((t2.woman, mid2))
    for user_id, meeting_id in refusals:
        with pytest.raises(Refused):
            await book(session, user_id, meeting_id)
        assert not session.in_transaction()
        assert await denied(session, user_id) == [("meeting", str(meeting_id), {"attempted": "book"})]
    assert await state_of(session, mid) == ("open", None)
    assert await state_of(session, only_hers) == ("open", None)
    assert await state_of(session, mid2) == ("open", None)
    assert await reminder_rows(session, mid) == []


async def test_book_refused_before_she_agreed(session: AsyncSession) -> None:
    t = await team(session, relative_agrees=False)
    mid, _ = await offer(session, t)
    with pytest.raises(Refused):
        await book(session, t.relative, mid)
    assert not session.in_transaction()
    assert await denied(session, t.relative) == [("meeting", str(mid), {"attempted": "book"})]
    assert await state_of(session, mid) == ("open", None)


async def test_booking_another_slot_releases_the_first(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    first, _ = await offer(session, t)
    second, _ = await offer(session, t, day=DAY + timedelta(days=1))
    await book(session, t.woman, first)
    moved = await book(session, t.woman, second)
    assert moved.moved_from == STARTS
    assert await state_of(session, first) == ("open", None)
    assert await state_of(session, second) == ("booked", t.pid)
    assert await reminder_rows(session, first) == two_reminders(t.woman, STARTS, "cancelled")
    assert await reminder_rows(session, second) == two_reminders(t.woman, STARTS + timedelta(days=1))


async def test_a_slot_taken_back_cannot_be_booked(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t)
    changed = await meetings.take_back(session, actor=t.facilitator, meeting_id=mid, now=NOW)
    assert changed.tell == ()
    with pytest.raises(meetings.Taken):
        await book(session, t.woman, mid)
    assert not session.in_transaction()
    assert await state_of(session, mid) == ("withdrawn", None)
    assert await reminder_rows(session, mid) == []


async def test_take_back_a_booked_slot_tells_her_and_cancels_reminders(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t)
    await book(session, t.woman, mid)
    changed = await meetings.take_back(session, actor=t.facilitator, meeting_id=mid, now=NOW)
    assert changed.tell == (t.woman,)
    assert await reminder_rows(session, mid) == two_reminders(t.woman, STARTS, "cancelled")
    with pytest.raises(Refused):
        await meetings.take_back(session, actor=t.curator, meeting_id=mid, now=NOW)
    assert not session.in_transaction()


async def test_a_slot_that_has_started_cannot_be_booked(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t)
    with pytest.raises(meetings.Taken):
        await book(session, t.woman, mid, now=STARTS)
    assert await state_of(session, mid) == ("open", None)


async def test_two_book_the_same_slot_at_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], backend: str
) -> None:
    t = await team(session)
    mid, _ = await offer(session, t)

    async def take(user_id: int) -> meetings.Booked | meetings.Taken:
        async with session_factory() as own:
            try:
                return await book(own, user_id, mid)
            except meetings.Taken as taken:
                assert not own.in_transaction()
                return taken

    if backend == "postgresql":
        results = list(await asyncio.gather(take(t.woman), take(t.relative)))
    else:  # SQLite serialises writers: one after the other
        results = [await take(t.woman), await take(t.relative)]
    won = [r for r in results if isinstance(r, meetings.Booked)]
    lost = [r for r in results if isinstance(r, meetings.Taken)]
    assert len(won) == 1 and len(lost) == 1
    winner = t.woman if results[0] is won[0] else t.relative
    winner_pid = t.pid if winner == t.woman else t.rid
    assert await state_of(session, mid) == ("booked", winner_pid)
    assert await reminder_rows(session, mid) == two_reminders(winner, STARTS)


# ---------------------------------------------------------------- cancel_booking


async def test_cancel_booking(session: AsyncSession) -> None:
    t = await team(session)
    mid, _ = await offer(session, t)
    await book(session, t.woman, mid)
    for user_id in (t.relative, t.facilitator.user_id, new_id()):
        with pytest.raises(Refused):
            await meetings.cancel_booking(session, user_id=user_id, meeting_id=mid, now=NOW)
        assert not session.in_transaction()
        assert await denied(session, user_id) == [("meeting", str(mid), {"attempted": "cancel"})]
    assert await state_of(session, mid) == ("booked", t.pid)

    cancelled = await meetings.cancel_booking(session, user_id=t.woman, meeting_id=mid, now=NOW)
    assert (cancelled.meeting_id, cancelled.facilitator_id, cancelled.first_name) == (
        mid,
        t.facilitator.user_id,
        "Анна",
    )
    assert await state_of(session, mid) == ("open", None)
    assert await reminder_rows(session, mid) == two_reminders(t.woman, STARTS, "cancelled")
    # Nothing left to cancel.
    with pytest.raises(Refused):
        await meetings.cancel_booking(session, user_id=t.woman, meeting_id=mid, now=NOW)


# ---------------------------------------------------------------- the general meeting


async def votes_of(session: AsyncSession, meeting_id: int) -> list[tuple[int, bool]]:
    rows = await session.execute(
        select(Vote.participant_id, Vote.suits)
        .where(Vote.meeting_id == meeting_id)
        .order_by(Vote.participant_id)
        .execution_options(populate_existing=True)
    )
    result = [(pid, bool(suits)) for pid, suits in rows.all()]
    await session.commit()
    return result


async def test_votes_upsert(session: AsyncSession) -> None:
    t = await team(session)
    mid, _ = await offer(session, t, kind="general")
    await meetings.vote(session, user_id=t.woman, meeting_id=mid, suits=True, now=NOW)
    await meetings.vote(session, user_id=t.relative, meeting_id=mid, suits=True, now=NOW)
    await meetings.vote(session, user_id=t.woman, meeting_id=mid, suits=False, now=NOW + timedelta(minutes=1))
    assert await votes_of(session, mid) == sorted([(t.pid, False), (t.rid, True)])
    view = await meetings.get_view(session, mid)
    assert view is not None and view.votes == (("Анна", False), ("Мария", True))
    # A preliminary slot is not voted on; a stranger does not vote.
    slot_id, _ = await offer(session, t, at=time(16, 0))
    for user_id, meeting_id in ((t.woman, slot_id), (new_id(), mid)):
        with pytest.raises(Refused):
            await meetings.vote(session, user_id=user_id, meeting_id=meeting_id, suits=True, now=NOW)
        assert not session.in_transaction()
        assert await denied(session, user_id) == [("meeting", str(meeting_id), {"attempted": "vote"})]


async def test_fix_general(session: AsyncSession) -> None:
    t = await team(session)
    chosen, _ = await offer(session, t, kind="general")
    other, _ = await offer(session, t, kind="general", day=DAY + timedelta(days=1))
    slot_id, _ = await offer(session, t, kind="preliminary", day=DAY + timedelta(days=2))
    with pytest.raises(Refused):
        await meetings.fix_general(session, actor=t.curator, meeting_id=chosen, now=NOW, before=BEFORE)
    assert not session.in_transaction()
    assert await denied(session, t.curator.user_id) == [("meeting", str(chosen), {"attempted": "fix"})]
    assert await state_of(session, chosen) == ("proposed", None)

    changed = await meetings.fix_general(session, actor=t.facilitator, meeting_id=chosen, now=NOW, before=BEFORE)
    assert sorted(changed.tell) == sorted([t.woman, t.relative])
    assert (changed.meeting_id, changed.starts_at, changed.kind) == (chosen, STARTS, "general")
    assert await state_of(session, chosen) == ("fixed", None)
    assert await state_of(session, other) == ("withdrawn", None)
    assert await state_of(session, slot_id) == ("open", None)
    assert await reminder_rows(session, chosen) == sorted(
        two_reminders(t.woman, STARTS) + two_reminders(t.relative, STARTS), key=lambda r: (r[0], r[1])
    )
    # Fixed: no more votes, no second fix.
    with pytest.raises(meetings.Taken):
        await meetings.vote(session, user_id=t.woman, meeting_id=chosen, suits=True, now=NOW)
    with pytest.raises(Invalid):
        await meetings.fix_general(session, actor=t.facilitator, meeting_id=chosen, now=NOW, before=BEFORE)
    assert not session.in_transaction()


# ---------------------------------------------------------------- withdrawal


async def withdrawal_world(session: AsyncSession) -> tuple[Team, int, int]:
    """The general meeting fixed (everyone has reminders) and the woman's preliminary slot booked."""
    t = await team(session)
    general, _ = await offer(session, t, kind="general", day=DAY + timedelta(days=3))
    await meetings.fix_general(session, actor=t.facilitator, meeting_id=general, now=NOW, before=BEFORE)
    prelim, _ = await offer(session, t)
    await book(session, t.woman, prelim)
    return t, general, prelim


async def withdraw(session: AsyncSession, user_id: int, participant_id: int) -> programme.Notice:
    return await programme.decide(
        session,
        user_id=user_id,
        participant_id=participant_id,
        purpose=PART,
        decision=WITHDRAW,
        version=VERSION,
        locale="ru",
        now=NOW + timedelta(hours=1),
    )


async def test_withdrawal_calls_the_general_meeting_off(session: AsyncSession) -> None:
    t, general, prelim = await withdrawal_world(session)
    notice = await withdraw(session, t.woman, t.pid)
    assert not session.in_transaction()
    assert await state_of(session, general) == ("called_off", None)
    assert {state for _, _, state, _ in await reminder_rows(session, general)} == {"cancelled"}
    assert len(await reminder_rows(session, general)) == 4
    assert await state_of(session, prelim) == ("open", None)
    assert await reminder_rows(session, prelim) == two_reminders(t.woman, STARTS, "cancelled")
    assert t.relative in notice.called_off and t.facilitator.user_id in notice.called_off
    # Recorded without an actor: the log of the call-off does not say who withdrew.
    rows = (
        await session.execute(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "general_called_off", AuditEvent.object_id == str(t.case_id)
            )
        )
    ).all()
    await session.commit()
    assert rows == [(None,)]


async def test_withdrawal_notice_leaves_out_who_withdrew(session: AsyncSession) -> None:
    t, _, _ = await withdrawal_world(session)
    notice = await withdraw(session, t.woman, t.pid)
    assert sorted(notice.called_off) == sorted([t.relative, t.facilitator.user_id])
    assert t.woman not in notice.called_off


async def test_relative_withdrawal_notice_leaves_her_out(session: AsyncSession) -> None:
    t, general, _ = await withdrawal_world(session)
    notice = await withdraw(session, t.relative, t.rid)
    assert await state_of(session, general) == ("called_off", None)
    assert t.relative not in notice.called_off
    assert sorted(notice.called_off) == sorted([t.woman, t.facilitator.user_id])


async def test_withdrawal_without_a_general_meeting_tells_nobody(session: AsyncSession) -> None:
    t = await team(session)
    prelim, _ = await offer(session, t)
    await book(session, t.relative, prelim)
    notice = await withdraw(session, t.relative, t.rid)
    assert notice.called_off == ()
    assert await state_of(session, prelim) == ("open", None)


# ---------------------------------------------------------------- attend


async def test_attend(session: AsyncSession) -> None:
    t = await team(session)
    mid, _ = await offer(session, t)
    await book(session, t.woman, mid)
    # Not hers.
    for user_id in (t.relative, new_id()):
        with pytest.raises(Refused):
            await meetings.attend(session, user_id=user_id, meeting_id=mid, coming=True, now=NOW)
        assert not session.in_transaction()
        assert await denied(session, user_id) == [("meeting", str(mid), {"attempted": "attend"})]
    # In the past.
    with pytest.raises(meetings.Taken):
        await meetings.attend(session, user_id=t.woman, meeting_id=mid, coming=True, now=STARTS + timedelta(minutes=1))
    assert not session.in_transaction()
    assert await state_of(session, mid) == ("booked", t.pid)

    await meetings.attend(session, user_id=t.woman, meeting_id=mid, coming=True, now=NOW)
    assert await state_of(session, mid) == ("booked", t.pid)
    assert await reminder_rows(session, mid) == two_reminders(t.woman, STARTS)

    await meetings.attend(session, user_id=t.woman, meeting_id=mid, coming=False, now=NOW + timedelta(minutes=5))
    assert await state_of(session, mid) == ("open", None)
    assert await reminder_rows(session, mid) == two_reminders(t.woman, STARTS, "cancelled")
    rows = await audit_rows(session, t.woman, "attendance")
    assert [e.details for e in rows] == [{"coming": True}, {"coming": False}]


async def test_not_coming_to_the_general_meeting_cancels_only_her_reminders(session: AsyncSession) -> None:
    t = await team(session)
    general, _ = await offer(session, t, kind="general")
    await meetings.fix_general(session, actor=t.facilitator, meeting_id=general, now=NOW, before=BEFORE)
    await meetings.attend(session, user_id=t.relative, meeting_id=general, coming=False, now=NOW)
    assert await state_of(session, general) == ("fixed", None)
    rows = await reminder_rows(session, general)
    assert {(r, s) for r, _, s, _ in rows} == {(t.woman, "pending"), (t.relative, "cancelled")}


# ---------------------------------------------------------------- reminders


async def test_reminder_target(session: AsyncSession) -> None:
    t = await team(session)
    await users.set_region(session, t.relative, REGION_B)
    mid, _ = await offer(session, t)
    await book(session, t.relative, mid)

    found = await meetings.reminder_target(session, meeting_id=mid, recipient_id=t.relative, now=NOW)
    assert found is not None
    view, zone = found
    assert (view.id, view.booked_by, view.starts_at, view.timezone, view.place) == (mid, t.rid, STARTS, ZONE_A, PLACE)
    assert zone == ZONE_B == "Europe/Moscow"
    assert not session.in_transaction()

    # Passed; booked by someone else.
    assert await meetings.reminder_target(session, meeting_id=mid, recipient_id=t.relative, now=STARTS) is None
    assert await meetings.reminder_target(session, meeting_id=mid, recipient_id=t.woman, now=NOW) is None
    # A fixed general meeting: every recipient, each in her own zone.
    general, _ = await offer(session, t, kind="general", day=DAY + timedelta(days=1))
    await meetings.fix_general(session, actor=t.facilitator, meeting_id=general, now=NOW, before=BEFORE)
    found = await meetings.reminder_target(session, meeting_id=general, recipient_id=t.woman, now=NOW)
    assert found is not None and found[0].id == general and found[1] == ZONE_A
    # Withdrawn.
    await meetings.take_back(session, actor=t.facilitator, meeting_id=mid, now=NOW)
    assert await meetings.reminder_target(session, meeting_id=mid, recipient_id=t.relative, now=NOW) is None
    assert await meetings.reminder_target(session, meeting_id=2_000_000_000, recipient_id=t.woman, now=NOW) is None


async def test_an_open_slot_has_no_reminder_target(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t)
    await book(session, t.woman, mid)
    await meetings.cancel_booking(session, user_id=t.woman, meeting_id=mid, now=NOW)
    assert await meetings.reminder_target(session, meeting_id=mid, recipient_id=t.woman, now=NOW) is None


async def test_superseded(session: AsyncSession) -> None:
    t = await team(session, relative=False)
    mid, _ = await offer(session, t)
    await book(session, t.woman, mid)
    rows = (await session.scalars(select(Reminder).where(Reminder.meeting_id == mid).order_by(Reminder.due_at))).all()
    early, late = rows[0].id, rows[1].id
    await session.commit()
    after_both = STARTS - timedelta(hours=1)
    between = STARTS - timedelta(hours=3)
    assert await meetings.superseded(session, reminder_id=early, meeting_id=mid, recipient_id=t.woman, now=after_both)
    assert not await meetings.superseded(
        session, reminder_id=late, meeting_id=mid, recipient_id=t.woman, now=after_both
    )
    # Before the later one is due, the earlier one still goes out.
    assert not await meetings.superseded(session, reminder_id=early, meeting_id=mid, recipient_id=t.woman, now=between)
    assert not await meetings.superseded(
        session, reminder_id=2_000_000_000, meeting_id=mid, recipient_id=t.woman, now=after_both
    )
    await session.commit()


# ---------------------------------------------------------------- day_list


async def test_day_list(session: AsyncSession) -> None:
    x = await team(session)
    y = await team(session, relative=False, facilitator=x.facilitator)
    f = x.facilitator.user_id
    night, _ = await offer(session, x, at=time(0, 30))  # 17:30 UTC the day before
    morning, _ = await offer(session, x, at=time(10, 0))
    await offer(session, x, at=time(12, 0))  # stays open
    afternoon, _ = await offer(session, y, at=time(15, 0))
    gone, _ = await offer(session, y, at=time(18, 0))
    general_y, _ = await offer(session, y, kind="general", at=time(20, 0))
    late_x, _ = await offer(session, x, kind="general", at=time(23, 0))  # not chosen: withdrawn
    next_day_x, _ = await offer(session, x, kind="general", day=DAY + timedelta(days=1), at=time(0, 0))
    await book(session, x.woman, night)
    await book(session, x.relative, morning)
    await book(session, y.woman, afternoon)
    await meetings.take_back(session, actor=y.facilitator, meeting_id=gone, now=NOW)
    await meetings.fix_general(session, actor=x.facilitator, meeting_id=next_day_x, now=NOW, before=BEFORE)
    await meetings.fix_general(session, actor=y.facilitator, meeting_id=general_y, now=NOW, before=BEFORE)
    assert await state_of(session, late_x) == ("withdrawn", None)

    views = await meetings.day_list(session, facilitator_id=f, day=DAY, timezone=ZONE_A)
    assert not session.in_transaction()
    assert [v.id for v in views] == [night, morning, afternoon, general_y]
    assert [v.case_code for v in views] == [x.case.code, x.case.code, y.case.code, y.case.code]
    assert [v.booked_name for v in views] == ["Анна", "Мария", "Анна", None]
    assert views[0].starts_at == datetime(2026, 11, 22, 17, 30, tzinfo=UTC)

    following = await meetings.day_list(session, facilitator_id=f, day=DAY + timedelta(days=1), timezone=ZONE_A)
    assert [v.id for v in following] == [next_day_x]
    # In Moscow's day (UTC+3) the night meeting falls on the day before.
    moscow = await meetings.day_list(session, facilitator_id=f, day=DAY, timezone=ZONE_B)
    assert night not in [v.id for v in moscow] and next_day_x in [v.id for v in moscow]
    assert await meetings.day_list(session, facilitator_id=y.curator.user_id, day=DAY, timezone=ZONE_A) == []
