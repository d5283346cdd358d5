"""The reminder rows: adding once, claiming atomically, leases, retries, cancelling.

All tests of a run share one database per backend, so each test claims only kinds of its own
(``claim_due(kinds=…)``); the worker itself claims every kind.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import reminders
from db.models import Meeting, Reminder, ReminderState, Role
from tests.factories import Ids, ensure_regions, register

_ids = Ids(640_000_000, __name__)
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _kind() -> str:
    return "t_" + uuid.uuid4().hex[:12]


async def _person(session: AsyncSession) -> int:
    return (await _ids.person(session, None)).user_id


async def _add(session: AsyncSession, kind: str, recipient: int, due: datetime, **extra: Any) -> bool:
    added = await reminders.add(session, kind=kind, recipient_id=recipient, due_at=due, now=NOW, **extra)
    await session.commit()
    return added


async def _claim(session: AsyncSession, kind: str, *, now: datetime = NOW, **extra: Any) -> list[reminders.Claimed]:
    return await reminders.claim_due(session, now=now, worker="w1", kinds=[kind], **extra)


async def _state(session: AsyncSession, reminder_id: int) -> reminders.ReminderView:
    view = await reminders.get(session, reminder_id)
    await session.commit()
    assert view is not None
    return view


async def test_only_due_rows_are_claimed_and_only_once(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    await _add(session, kind, uid, NOW - timedelta(minutes=1), payload={"n": 1})
    await _add(session, kind, uid, NOW)
    await _add(session, kind, uid, NOW + timedelta(seconds=1))

    first = await _claim(session, kind)
    assert [c.due_at for c in first] == [NOW - timedelta(minutes=1), NOW]
    assert all(c.attempts == 1 and c.recipient_id == uid and c.kind == kind for c in first)
    assert first[0].payload == {"n": 1}
    row = await _state(session, first[0].id)
    assert row.state is ReminderState.SENDING and row.claimed_by == "w1"

    assert await _claim(session, kind) == []  # claimed rows are not claimed again
    later = await _claim(session, kind, now=NOW + timedelta(seconds=1))
    assert [c.due_at for c in later] == [NOW + timedelta(seconds=1)]


async def test_claim_takes_the_oldest_first_and_respects_the_limit(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    dues = [NOW - timedelta(minutes=m) for m in (3, 10, 1, 7, 5)]
    for due in dues:
        await _add(session, kind, uid, due)
    first = await _claim(session, kind, limit=2)
    assert [c.due_at for c in first] == sorted(dues)[:2]
    rest = await _claim(session, kind, limit=10)
    assert [c.due_at for c in rest] == sorted(dues)[2:]


async def test_a_duplicate_is_ignored(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    assert await _add(session, kind, uid, NOW)
    assert not await _add(session, kind, uid, NOW)  # meeting_id NULL: the key covers it too
    assert await _add(session, kind, uid, NOW + timedelta(minutes=1))
    assert len(await _claim(session, kind)) == 1
    # Once sent, the same reminder is still not scheduled again.
    assert not await _add(session, kind, uid, NOW)


async def test_a_duplicate_of_a_meeting_reminder_is_ignored_by_the_constraint(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    meeting = await _meeting(session)
    assert await _add(session, kind, uid, NOW, meeting_id=meeting)
    # Also when the first is not yet committed: ON CONFLICT DO NOTHING inside one transaction.
    assert await reminders.add(
        session, kind=kind, recipient_id=uid, due_at=NOW + timedelta(hours=1), now=NOW, meeting_id=meeting
    )
    assert not await reminders.add(
        session, kind=kind, recipient_id=uid, due_at=NOW + timedelta(hours=1), now=NOW, meeting_id=meeting
    )
    await session.commit()
    assert not await _add(session, kind, uid, NOW, meeting_id=meeting)
    assert len(await reminders.pending_for_meeting(session, meeting)) == 2
    await session.commit()


async def test_a_reminder_wanted_again_is_revived_unless_it_went_out(session: AsyncSession) -> None:
    """She let a time go and took it again: its cancelled or dropped rows come back, fresh; a row
    already sent (or given up) is never sent again."""
    kind, uid = _kind(), await _person(session)
    meeting = await _meeting(session)
    due = NOW + timedelta(hours=1)
    assert await _add(session, kind, uid, due, meeting_id=meeting, payload={"before": 60})
    (first,) = await reminders.pending_for_meeting(session, meeting)
    assert await reminders.cancel(session, meeting_id=meeting, now=NOW) == 1
    await session.commit()
    assert await reminders.pending_for_meeting(session, meeting) == []

    assert await _add(session, kind, uid, due, meeting_id=meeting, payload={"before": 60})
    again = await _state(session, first.id)  # the same row, pending again
    assert (again.state, again.attempts, again.done_at) == (ReminderState.PENDING, 0, None)
    assert not await _add(session, kind, uid, due, meeting_id=meeting, payload={"before": 60})  # pending: as it is

    # Claimed, tried once, then found of no use: dropped; wanted again → pending with fresh attempts.
    (claimed,) = await _claim(session, kind, now=due)
    assert await reminders.drop(session, claimed.id, now=due, reason="meeting_off")
    assert await _add(session, kind, uid, due, meeting_id=meeting, payload={"before": 60})
    revived = await _state(session, first.id)
    assert (revived.state, revived.attempts, revived.last_error, revived.claimed_by) == (
        ReminderState.PENDING,
        0,
        None,
        None,
    )

    (claimed,) = await _claim(session, kind, now=due)
    assert await reminders.mark_sent(session, claimed.id, now=due)
    assert not await _add(session, kind, uid, due, meeting_id=meeting, payload={"before": 60})
    assert (await _state(session, first.id)).state is ReminderState.SENT
    assert await _claim(session, kind, now=due + timedelta(days=1)) == []
    rows = (await session.scalars(select(Reminder.id).where(Reminder.kind == kind))).all()
    assert rows == [first.id]
    await session.commit()


async def test_a_failed_reminder_is_not_revived(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    assert await _add(session, kind, uid, NOW, payload={"checkin": 1})
    (claimed,) = await _claim(session, kind)
    assert await reminders.mark_failed(session, claimed.id, now=NOW, error="blocked")
    assert not await _add(session, kind, uid, NOW, payload={"checkin": 1})
    assert (await _state(session, claimed.id)).state is ReminderState.FAILED


@pytest.mark.parametrize("with_meeting", [False, True])
async def test_two_transactions_adding_one_reminder_at_once_write_one_row(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], with_meeting: bool
) -> None:
    """Two bookings of one time racing (or a check-in planned twice): one row, one message. Without
    a meeting too — the key does not rely on a NULL."""
    kind, uid = _kind(), await _person(session)
    meeting = await _meeting(session) if with_meeting else None
    await session.commit()
    due = NOW + timedelta(hours=3)

    async def one() -> bool:
        async with session_factory() as own:
            added = await reminders.add(
                own, kind=kind, recipient_id=uid, due_at=due, now=NOW, meeting_id=meeting, payload={"checkin": 7}
            )
            await asyncio.sleep(0)  # let the other transaction run before this one commits
            await own.commit()
            return added

    results = await asyncio.gather(*(one() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    rows = (await session.scalars(select(Reminder).where(Reminder.kind == kind))).all()
    assert len(rows) == 1 and rows[0].state == ReminderState.PENDING.value
    await session.commit()


def test_the_key_reads_a_payload_whatever_its_order() -> None:
    assert reminders.once_key(None, {"a": 1, "b": 2}) == reminders.once_key(None, {"b": 2, "a": 1})
    assert reminders.once_key(None, {}) == reminders.once_key(None, None)
    assert reminders.once_key(1, None) != reminders.once_key(None, None)
    assert reminders.once_key(None, {"checkin": 1}) != reminders.once_key(None, {"checkin": 2})


async def test_add_does_not_commit(session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]) -> None:
    kind, uid = _kind(), await _person(session)
    await reminders.add(session, kind=kind, recipient_id=uid, due_at=NOW, now=NOW)
    await session.rollback()
    assert await _claim(session, kind) == []


async def test_a_stale_claim_returns_after_the_lease(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    await _add(session, kind, uid, NOW)
    (claimed,) = await _claim(session, kind)  # ... and this worker dies
    assert await _claim(session, kind, now=NOW + LEASE) == []  # the lease is not over yet
    (again,) = await reminders.claim_due(session, now=NOW + LEASE + timedelta(seconds=1), worker="w2", kinds=[kind])
    assert again.id == claimed.id and again.attempts == 2
    # The first worker, were it only slow, can no longer record anything about the row.
    assert not await reminders.mark_sent(session, claimed.id, now=NOW, worker="w1")
    assert await reminders.mark_sent(session, claimed.id, now=NOW, worker="w2")
    assert (await _state(session, claimed.id)).state is ReminderState.SENT


async def test_retry_backs_off_then_fails_after_max_attempts(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    await _add(session, kind, uid, NOW)
    now = NOW
    delays = []
    for attempt in range(1, 4):
        (claimed,) = await _claim(session, kind, now=now)
        assert claimed.attempts == attempt
        again = await reminders.retry_later(
            session, claimed.id, now=now, error="TelegramServerError", max_attempts=4, worker="w1"
        )
        assert again
        row = await _state(session, claimed.id)
        assert row.state is ReminderState.PENDING and row.last_error == "TelegramServerError"
        delays.append(row.due_at - now)
        assert await _claim(session, kind, now=row.due_at - timedelta(seconds=1)) == []  # not before its time
        now = row.due_at
    assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    (claimed,) = await _claim(session, kind, now=now)
    assert not await reminders.retry_later(session, claimed.id, now=now, error="TelegramServerError", max_attempts=4)
    row = await _state(session, claimed.id)
    assert row.state is ReminderState.FAILED and row.attempts == 4 and row.done_at == now
    assert await _claim(session, kind, now=now + timedelta(days=1)) == []


async def test_backoff_is_capped_and_retry_after_is_respected(session: AsyncSession) -> None:
    assert reminders.backoff(1) == timedelta(seconds=30)
    assert reminders.backoff(8) == timedelta(hours=1)
    assert reminders.backoff(200) == timedelta(hours=1)
    kind, uid = _kind(), await _person(session)
    await _add(session, kind, uid, NOW)
    (claimed,) = await _claim(session, kind)
    assert await reminders.retry_later(
        session, claimed.id, now=NOW, error="TelegramRetryAfter", max_attempts=5, min_delay=timedelta(seconds=90)
    )
    assert (await _state(session, claimed.id)).due_at == NOW + timedelta(seconds=90)


async def test_sent_failed_and_dropped_rows_are_final(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    for minutes in (1, 2, 3):
        await _add(session, kind, uid, NOW - timedelta(minutes=minutes))
    a, b, c = await _claim(session, kind)
    assert await reminders.mark_sent(session, a.id, now=NOW)
    assert await reminders.mark_failed(session, b.id, now=NOW, error="blocked")
    assert await reminders.drop(session, c.id, now=NOW, reason="meeting_passed")
    assert [(r.state, r.last_error) for r in [await _state(session, x.id) for x in (a, b, c)]] == [
        (ReminderState.SENT, None),
        (ReminderState.FAILED, "blocked"),
        (ReminderState.DROPPED, "meeting_passed"),
    ]
    # Nothing brings a finished row back: not a late retry, not a mark, not the lease.
    assert not await reminders.retry_later(session, a.id, now=NOW, error="X", max_attempts=5)
    assert not await reminders.mark_sent(session, b.id, now=NOW)
    assert await _claim(session, kind, now=NOW + timedelta(days=1)) == []


async def test_release_hands_rows_back_without_spending_an_attempt(session: AsyncSession) -> None:
    kind, uid = _kind(), await _person(session)
    await _add(session, kind, uid, NOW)
    (claimed,) = await _claim(session, kind)
    assert await reminders.release(session, [claimed.id], worker="someone-else") == 0
    assert await reminders.release(session, [claimed.id], worker="w1") == 1
    (again,) = await _claim(session, kind)
    assert again.id == claimed.id and again.attempts == 1


async def _meeting(session: AsyncSession) -> int:
    await ensure_regions(session)
    staff = await _ids.person(session, Role.STAFF, scope="altai_krai")
    case = await register(session, staff)
    meeting = Meeting(
        case_id=case.case_id,
        kind="preliminary",
        facilitator_id=None,
        starts_at=NOW + timedelta(days=2),
        duration_min=60,
        timezone="Asia/Barnaul",
        format="phone",
        state="open",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(meeting)
    await session.commit()
    return meeting.id


async def test_cancel_touches_only_pending_rows_of_the_meeting(session: AsyncSession) -> None:
    kind, other_kind = _kind(), _kind()
    her, him = await _person(session), await _person(session)
    meeting, other_meeting = await _meeting(session), await _meeting(session)
    for uid in (her, him):
        await _add(session, kind, uid, NOW + timedelta(hours=1), meeting_id=meeting)
        await _add(session, other_kind, uid, NOW + timedelta(hours=1), meeting_id=meeting)
    await _add(session, kind, her, NOW + timedelta(hours=1), meeting_id=other_meeting)
    await _add(session, kind, her, NOW - timedelta(hours=1), meeting_id=meeting)
    (claimed,) = await _claim(session, kind)  # already being sent: stays

    assert await reminders.cancel(session, meeting_id=meeting, now=NOW, recipient_id=him, kinds=[kind]) == 1
    await session.commit()
    left = await reminders.pending_for_meeting(session, meeting)
    assert sorted((r.recipient_id, r.kind) for r in left) == sorted(
        [(her, kind), (her, kind), (her, other_kind), (him, other_kind)]
    )
    assert await reminders.cancel(session, meeting_id=meeting, now=NOW) == 3
    await session.rollback()  # cancel does not commit
    assert len(await reminders.pending_for_meeting(session, meeting)) == 4
    assert await reminders.cancel(session, meeting_id=meeting, now=NOW) == 3
    await session.commit()
    assert [r.id for r in await reminders.pending_for_meeting(session, meeting)] == [claimed.id]
    assert len(await reminders.pending_for_meeting(session, other_meeting)) == 1
    cancelled = [r for r in await reminders.for_recipient(session, him) if r.state is ReminderState.CANCELLED]
    assert len(cancelled) == 2 and all(r.done_at == NOW for r in cancelled)
    await session.commit()


async def test_two_workers_claiming_at_once_get_disjoint_rows(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kind = _kind()
    recipients = [await _person(session) for _ in range(10)]
    for i in range(60):
        await _add(session, kind, recipients[i % 10], NOW - timedelta(seconds=i))

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        async with session_factory() as own:
            while batch := await reminders.claim_due(own, now=NOW, worker=name, limit=7, kinds=[kind]):
                got += [c.id for c in batch]
                await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(worker(f"w{n}") for n in range(3)))
    claimed = [rid for got in results for rid in got]
    assert len(claimed) == len(set(claimed)) == 60
    rows = (await session.scalars(select(Reminder).where(Reminder.kind == kind))).all()
    assert {r.state for r in rows} == {ReminderState.SENDING.value}
    await session.commit()


async def test_postgres_skips_locked_rows_instead_of_waiting(
    backend: str, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    kind, uid = _kind(), await _person(session)
    for minutes in range(4):
        await _add(session, kind, uid, NOW - timedelta(minutes=minutes))
    async with session_factory() as holder:
        # Another instance in the middle of its claim: the two oldest rows are locked.
        locked = (
            await holder.scalars(
                select(Reminder.id).where(Reminder.kind == kind).order_by(Reminder.due_at).limit(2).with_for_update()
            )
        ).all()
        async with session_factory() as other:
            got = await asyncio.wait_for(reminders.claim_due(other, now=NOW, worker="w2", kinds=[kind]), timeout=60)
        assert len(got) == 2 and not {c.id for c in got} & set(locked)
        await holder.rollback()
    assert {c.id for c in await _claim(session, kind)} == set(locked)


async def test_same_moment_different_payloads_are_two_reminders(session) -> None:
    """Two check-ins due the same morning are two messages; the same one added twice is one."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot.services import reminders as service
    from db.models import Reminder

    user = 649_999_001
    due = datetime(2026, 12, 13, 3, 0, tzinfo=UTC)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for payload in ({"checkin": 1}, {"checkin": 2}, {"checkin": 1}):
        await service.add(session, kind="t_same_moment", recipient_id=user, due_at=due, now=now, payload=payload)
    await session.commit()
    rows = (await session.scalars(select(Reminder.payload).where(Reminder.kind == "t_same_moment"))).all()
    assert sorted(r["checkin"] for r in rows) == [1, 2]
