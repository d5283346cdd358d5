"""The inbox's rules, without Telegram: stored once, claimed by one, emptied when done, given back."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.services import inbox
from db.models import InboxUpdate

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _ids(n: int) -> list[int]:
    base = random.randrange(9 * 10**12, 10**13, 1_000)  # apart from the fake Telegram's ids
    return [base + i for i in range(n)]


def _update(uid: int, text: str = "hello") -> dict[str, object]:
    return {
        "update_id": uid,
        "message": {"message_id": 1, "date": 0, "text": text, "chat": {"id": 1, "type": "private"}},
    }


async def _mine(session_factory, ids, **kw):
    async with session_factory() as session:
        claimed = await inbox.claim(session, lease=LEASE, limit=1000, **kw)
    return [c for c in claimed if c.update_id in ids]


async def test_stored_once_then_claimed_in_order_and_emptied_when_done(session_factory) -> None:
    ids = _ids(3)
    async with session_factory() as session:
        await inbox.store(session, [(i, _update(i)) for i in reversed(ids)], now=NOW)
        await inbox.store(session, [(ids[0], _update(ids[0], "again"))], now=NOW)  # the same update again
    claimed = await _mine(session_factory, ids, worker="a", now=NOW)
    assert [c.update_id for c in claimed] == ids
    assert claimed[0].payload["message"]["text"] == "hello"  # the first copy stays
    assert {c.attempts for c in claimed} == {1}
    for uid in ids:
        async with session_factory() as session:
            await inbox.finish(session, uid, now=NOW)
    async with session_factory() as session:
        rows = (await session.scalars(select(InboxUpdate).where(InboxUpdate.update_id.in_(ids)))).all()
        assert all(r.payload is None and r.done_at is not None for r in rows)
    # Fetched again after a crash: stored again it is not, so it is never handled twice.
    async with session_factory() as session:
        await inbox.store(session, [(ids[1], _update(ids[1]))], now=NOW)
    assert await _mine(session_factory, ids, worker="a", now=NOW + timedelta(hours=1)) == []


async def test_one_claimant_per_update_until_the_lease_runs_out(session_factory) -> None:
    ids = _ids(20)
    async with session_factory() as session:
        await inbox.store(session, [(i, _update(i)) for i in ids], now=NOW)

    async def grab(worker: str) -> list[int]:
        return [c.update_id for c in await _mine(session_factory, ids, worker=worker, now=NOW)]

    a, b = await asyncio.gather(grab("a"), grab("b"))
    assert sorted(a + b) == ids  # each once, none twice
    assert await grab("c") == []  # all leased
    later = await _mine(session_factory, ids, worker="c", now=NOW + LEASE + timedelta(seconds=1))
    assert sorted(c.update_id for c in later) == ids  # the claimant died: the lease ran out
    assert {c.attempts for c in later} == {2}
    async with session_factory() as session:
        await inbox.release(session, ids[:5], worker="c")
        await inbox.release(session, ids[5:], worker="someone else")  # not theirs: nothing happens
    again = await _mine(session_factory, ids, worker="d", now=NOW + LEASE + timedelta(seconds=2))
    assert sorted(c.update_id for c in again) == ids[:5]  # given back at once
    for uid in ids:
        async with session_factory() as session:
            await inbox.finish(session, uid, now=NOW)


async def test_renewed_leases_are_kept(session_factory) -> None:
    ids = _ids(2)
    async with session_factory() as session:
        await inbox.store(session, [(i, _update(i)) for i in ids], now=NOW)
    await _mine(session_factory, ids, worker="a", now=NOW)
    async with session_factory() as session:
        await inbox.renew(session, ids[:1], worker="a", until=NOW + 10 * LEASE)
    later = await _mine(session_factory, ids, worker="b", now=NOW + 2 * LEASE)
    assert [c.update_id for c in later] == ids[1:]  # the renewed one stays with its instance
    for uid in ids:
        async with session_factory() as session:
            await inbox.finish(session, uid, now=NOW)


async def test_marks_are_purged_after_telegram_could_resend(session_factory) -> None:
    ids = _ids(2)
    async with session_factory() as session:
        await inbox.store(session, [(i, _update(i)) for i in ids], now=NOW)
        await inbox.finish(session, ids[0], now=NOW)
        await inbox.purge(session, now=NOW + inbox.KEEP_MARKS + timedelta(minutes=1))
        left = (await session.scalars(select(InboxUpdate.update_id).where(InboxUpdate.update_id.in_(ids)))).all()
        await session.rollback()
    assert left == [ids[1]]  # the handled one's mark went; the waiting one stays
    async with session_factory() as session:
        await inbox.finish(session, ids[1], now=NOW)


async def test_stored_claimed_by_the_instance_that_received_them(session_factory) -> None:
    """The receiving instance stores its updates already claimed (no second statement to claim them):
    nobody else takes them while its lease lasts, and an update seen before is not returned as new."""
    ids = _ids(3)
    async with session_factory() as session:
        assert await inbox.store(session, [(ids[0], _update(ids[0]))], now=NOW) == [ids[0]]
        stored = await inbox.store(session, [(i, _update(i)) for i in ids], now=NOW, worker="a", lease=LEASE)
    assert stored == ids[1:]  # the first was there already: not handed over a second time
    assert [c.update_id for c in await _mine(session_factory, ids, worker="b", now=NOW)] == ids[:1]
    later = await _mine(session_factory, ids, worker="b", now=NOW + LEASE + timedelta(seconds=1))
    assert sorted(c.update_id for c in later) == ids  # "a" died: its lease ran out
    assert {c.update_id: c.attempts for c in later} == {ids[0]: 2, ids[1]: 2, ids[2]: 2}
    async with session_factory() as session:
        await inbox.finish(session, ids, now=NOW)  # several marks in one statement
        rows = (await session.scalars(select(InboxUpdate).where(InboxUpdate.update_id.in_(ids)))).all()
        assert all(r.payload is None and r.done_at is not None for r in rows)
