"""The one claim step (``bot.services.outbox``) on both databases: one claim per row, leases that
come back, backoff, release, the next due time, and NOTIFY on PostgreSQL.

The queue under test is the reminders' (the steps are the same for every queue); each test uses kinds
of its own, since the database outlives a test.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.sender import listen_url
from bot.services import outbox, reminders
from db.models import Reminder, ReminderState

NOW = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
BASE = timedelta(seconds=30)
CAP = timedelta(hours=1)
_recipients = iter(range(1_590_000_000, 1_600_000_000))


def _kind() -> str:
    return "o_" + uuid.uuid4().hex[:12]


async def _queue(session: AsyncSession, kind: str, n: int, *, due: datetime = NOW) -> None:
    for i in range(n):
        await reminders.add(session, kind=kind, recipient_id=next(_recipients), due_at=due, now=NOW, payload={"i": i})
    await session.commit()


async def _claim(session: AsyncSession, kind: str, worker: str, *, now: datetime = NOW, limit: int = 100) -> list[Any]:
    return await outbox.claim(
        session,
        reminders.QUEUE,
        now=now,
        worker=worker,
        limit=limit,
        lease=LEASE,
        returning=(Reminder.attempts,),
        where=[Reminder.kind == kind],
    )


async def _row(session: AsyncSession, row_id: int) -> reminders.ReminderView:
    view = await reminders.get(session, row_id)
    await session.commit()
    assert view is not None
    return view


async def test_two_workers_never_claim_one_row(session: AsyncSession) -> None:
    kind = _kind()
    await _queue(session, kind, 5)
    first = await _claim(session, kind, "w1", limit=3)
    second = await _claim(session, kind, "w2", limit=3)
    assert len(first) == 3 and len(second) == 2
    assert not {r[0] for r in first} & {r[0] for r in second}
    assert await _claim(session, kind, "w3") == []
    assert all(r[1] == 1 for r in [*first, *second])  # a claim is an attempt
    row = await _row(session, first[0][0])
    assert (row.state, row.claimed_by) == (ReminderState.SENDING, "w1")


async def test_concurrent_claims_split_the_rows(
    backend: str, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: FOR UPDATE SKIP LOCKED is PostgreSQL's (SQLite serialises writers)")
    kind = _kind()
    await _queue(session, kind, 60)

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        async with session_factory() as own:
            while batch := await _claim(own, kind, name, limit=4):
                got += [r[0] for r in batch]
        return got

    results = await asyncio.gather(*(worker(f"w{n}") for n in range(4)))
    claimed = [row_id for got in results for row_id in got]
    assert len(claimed) == 60 and len(set(claimed)) == 60


async def test_an_expired_lease_comes_back(session: AsyncSession) -> None:
    kind = _kind()
    await _queue(session, kind, 1)
    ((row_id, _),) = await _claim(session, kind, "dead")
    assert await _claim(session, kind, "w2", now=NOW + LEASE) == []  # not yet
    ((again, attempts),) = await _claim(session, kind, "w2", now=NOW + LEASE + timedelta(seconds=1))
    assert (again, attempts) == (row_id, 2)
    # The instance that died wakes up: its outcome no longer counts.
    assert not await reminders.mark_sent(session, row_id, now=NOW, worker="dead")
    assert await reminders.mark_sent(session, row_id, now=NOW, worker="w2")
    assert (await _row(session, row_id)).state is ReminderState.SENT


async def test_backoff_then_failed_when_attempts_are_spent(session: AsyncSession) -> None:
    assert [outbox.backoff(n, BASE, CAP) for n in (1, 2, 3)] == [BASE, 2 * BASE, 4 * BASE]
    assert outbox.backoff(30, BASE, CAP) == CAP
    kind = _kind()
    await _queue(session, kind, 1)
    now = NOW
    for attempt in (1, 2):
        ((row_id, attempts),) = await _claim(session, kind, "w", now=now)
        assert attempts == attempt
        assert await outbox.retry_later(
            session, reminders.QUEUE, row_id, now=now, error="TelegramServerError", worker="w",
            max_attempts=3, base=BASE, cap=CAP,
        )  # fmt: skip
        row = await _row(session, row_id)
        assert (row.state, row.due_at, row.last_error) == (
            ReminderState.PENDING,
            now + outbox.backoff(attempt, BASE, CAP),
            "TelegramServerError",
        )
        assert await _claim(session, kind, "w", now=row.due_at - timedelta(seconds=1)) == []
        now = row.due_at
    # Telegram's retry_after wins over a shorter backoff.
    ((row_id, _),) = await _claim(session, kind, "w", now=now)
    assert not await outbox.retry_later(
        session, reminders.QUEUE, row_id, now=now, error="X" * 100, worker="w", max_attempts=3, base=BASE, cap=CAP
    )
    row = await _row(session, row_id)
    assert (row.state, row.last_error) == (ReminderState.FAILED, "X" * 64)


async def test_retry_after_is_a_floor(session: AsyncSession) -> None:
    kind = _kind()
    await _queue(session, kind, 1)
    ((row_id, _),) = await _claim(session, kind, "w")
    assert await outbox.retry_later(
        session, reminders.QUEUE, row_id, now=NOW, error="TelegramRetryAfter", worker="w",
        max_attempts=5, base=BASE, cap=CAP, min_delay=timedelta(minutes=7),
    )  # fmt: skip
    assert (await _row(session, row_id)).due_at == NOW + timedelta(minutes=7)


async def test_release_gives_rows_back_at_once_without_an_attempt(session: AsyncSession) -> None:
    kind = _kind()
    await _queue(session, kind, 3)
    claimed = [r[0] for r in await _claim(session, kind, "w")]
    assert await outbox.release(session, reminders.QUEUE, claimed, worker="someone-else") == 0
    assert await outbox.release(session, reminders.QUEUE, claimed, worker="w") == 3
    again = await _claim(session, kind, "w2")
    assert sorted(r[0] for r in again) == sorted(claimed)
    assert all(r[1] == 1 for r in again)  # the released claim did not count


async def test_next_due_is_the_earliest_pending_row_or_the_end_of_a_lease(session: AsyncSession) -> None:
    kind = _kind()
    where = [Reminder.kind == kind]
    assert await outbox.next_due(session, reminders.QUEUE, now=NOW, lease=LEASE, where=where) is None
    await _queue(session, kind, 1, due=NOW + timedelta(hours=2))
    await _queue(session, kind, 1, due=NOW + timedelta(minutes=30))
    found = await outbox.next_due(session, reminders.QUEUE, now=NOW, lease=LEASE, where=where)
    assert found == NOW + timedelta(minutes=30)
    # Claimed by an instance that then died: due again when its lease ends.
    await _claim(session, kind, "dead", now=NOW + timedelta(minutes=30))
    found = await outbox.next_due(session, reminders.QUEUE, now=NOW, lease=LEASE, where=where)
    assert found == NOW + timedelta(minutes=35)
    await session.rollback()


async def test_announce_wakes_listeners_when_the_transaction_commits(
    backend: str, session: AsyncSession, database_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's (SQLite is one process: its sender is kicked directly)")
    import asyncpg  # type: ignore[import-untyped]

    dsn = listen_url(database_url)
    assert dsn is not None
    heard: list[str] = []
    connection = await asyncpg.connect(dsn)
    try:
        await connection.add_listener(outbox.CHANNEL, lambda *args: heard.append(args[-1]))
        kind = _kind()
        await reminders.add(session, kind=kind, recipient_id=next(_recipients), due_at=NOW, now=NOW)
        await asyncio.sleep(0.3)
        assert heard == []  # nothing before the commit
        await session.commit()
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard == [outbox.ORIGIN]
    finally:
        await connection.close()
