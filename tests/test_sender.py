"""The one sender (``bot/jobs/sender.py``) with lanes kept in memory: priorities across lanes, a stop
that hands back at once what waits for a slot, sleeping until the next due time, waking on a kick
and, on PostgreSQL, on another instance's NOTIFY. (The real lanes end to end:
``tests/e2e/test_sending.py``, ``test_reminder_engine.py``, ``test_broadcasts.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.pacer import Pacer, Priority
from bot.jobs.sender import Lane, Sender, listen_url


@dataclass
class Row:
    id: int
    chat: int


@dataclass(eq=False)
class Memory(Lane):
    """A queue in memory: ``rows`` wait, ``due`` says when the next one will."""

    label: str = "lane"
    urgency: Priority = Priority.NOTICE
    rows: list[Row] = field(default_factory=list)
    sent: list[tuple[float, str, int]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    due: datetime | None = None
    log: list[tuple[float, str, int]] | None = None

    def __post_init__(self) -> None:
        super().__init__()
        self.name = self.label
        self.priority = self.urgency
        self.batch = 100
        self.lease = timedelta(minutes=5)

    async def claim(self, limit: int) -> Sequence[Row]:
        taken, self.rows = self.rows[:limit], self.rows[limit:]
        self.claimed += [r.id for r in taken]
        return taken

    def chat(self, item: Row) -> Hashable:
        return item.chat

    async def send(self, item: Row) -> str:
        await self.turn(item.chat)
        entry = (asyncio.get_running_loop().time(), self.name, item.id)
        self.sent.append(entry)
        if self.log is not None:
            self.log.append(entry)
        return "sent"

    async def release(self, ids: list[int]) -> int:
        self.released += ids
        return len(ids)

    async def next_due(self, session: AsyncSession, now: datetime) -> datetime | None:
        return self.due


class Clock:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _context() -> Any:
    class Session:
        async def rollback(self) -> None:
            return None

    @contextlib.asynccontextmanager
    async def db() -> AsyncIterator[Session]:
        yield Session()

    return SimpleNamespace(db=db, now=lambda: Clock.now)


async def _until(predicate: Any, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_relayed_message_goes_before_queued_broadcasts() -> None:
    sender = Sender(_context(), Pacer(10), worker_id="w")
    log: list[tuple[float, str, int]] = []
    broadcasts = sender.add(
        Memory(label="broadcasts", urgency=Priority.BROADCAST, rows=[Row(i, 1000 + i) for i in range(30)], log=log)
    )
    relay = sender.add(Memory(label="relay", urgency=Priority.REPLY, log=log))
    sender.start()
    try:
        await _until(lambda: len(broadcasts.sent) >= 5)
        relay.rows = [Row(1, 1), Row(2, 2)]  # two copies for the team arrive mid-broadcast
        sender.kick()
        await _until(lambda: len(relay.sent) == 2)
        order = [name for _, name, _ in log]
        arrived = order.index("relay")
        # They went next (a send already granted may come in between), not after the 25 broadcasts left.
        assert order[arrived : arrived + 4].count("relay") == 2, order
        assert order.count("broadcasts") < 12
    finally:
        await sender.close(5)


async def test_a_crisis_mark_goes_first_in_one_claim() -> None:
    sender = Sender(_context(), Pacer(5), worker_id="w")
    log: list[tuple[float, str, int]] = []
    sender.add(Memory(label="broadcasts", urgency=Priority.BROADCAST, rows=[Row(i, i) for i in range(10)], log=log))
    sender.add(Memory(label="notices", urgency=Priority.NOTICE, rows=[Row(i, 100 + i) for i in range(3)], log=log))
    sender.add(Memory(label="crisis", urgency=Priority.CRISIS, rows=[Row(1, 500)], log=log))
    counts = await sender.run_once()
    assert counts["broadcasts"]["sent"] == 10 and counts["notices"]["sent"] == 3
    order = [name for _, name, _ in log]
    # The pacer's first grant may already be spoken for; after it, the most urgent kind first.
    assert order.index("crisis") <= 1
    assert max(i for i, name in enumerate(order) if name == "notices") < 5, order


async def test_a_stop_hands_back_at_once_what_waits_for_a_slot() -> None:
    sender = Sender(_context(), Pacer(4), worker_id="w")
    lane = sender.add(Memory(label="reminders", rows=[Row(i, i) for i in range(40)]))
    sender.start()
    await _until(lambda: len(lane.sent) >= 3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sender.close(25)
    assert loop.time() - started < 1.0  # at once, not after a lease or a drain of the backlog
    sent = {row_id for _, _, row_id in lane.sent}
    assert sorted(sent | set(lane.released)) == list(range(40))  # every claimed row: sent or given back
    assert not sent & set(lane.released)
    assert len(lane.released) > 30
    assert not any((await sender.run_once()).values())  # closed: it claims nothing more
    assert lane.rows == []


async def test_it_sleeps_until_the_next_due_time_and_wakes_on_a_kick() -> None:
    sender = Sender(_context(), Pacer(30), worker_id="w", idle=60)
    lane = sender.add(Memory(label="reminders"))
    sender.start()
    try:
        await _until(lambda: sender.wakes == 1)
        await asyncio.sleep(0.5)
        assert sender.wakes == 1  # nothing due: asleep (the cap is a minute), no polling
        lane.rows = [Row(1, 1)]
        sender.kick()  # queued in this process: sent at once
        await _until(lambda: len(lane.sent) == 1, seconds=1)
        assert sender.wakes == 2
        # Something due in 0.6 s (a reminder's time): it wakes then, by itself.
        lane.due = Clock.now + timedelta(seconds=0.6)
        sender.kick()
        await _until(lambda: sender.wakes == 3)
        lane.rows = [Row(2, 2)]
        lane.due = None
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _until(lambda: len(lane.sent) == 2, seconds=3)
        assert 0.3 < loop.time() - started < 1.5
        await asyncio.sleep(0.5)
        assert sender.wakes == 4
    finally:
        await sender.close(5)


async def test_notify_from_another_instance_wakes_it(
    backend: str, session_factory: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    sender = Sender(_context(), Pacer(30), worker_id="w", idle=60, listen_url=listen_url(database_url))
    lane = sender.add(Memory(label="reminders"))
    sender.start()
    try:
        await _until(lambda: sender.wakes == 1 and sender._listener is not None)
        lane.rows = [Row(1, 1)]
        await asyncio.sleep(0.3)
        assert lane.sent == []  # asleep: it does not poll
        async with session_factory() as session:  # another instance queues something
            await session.execute(text("SELECT pg_notify('outbox', 'another-instance')"))
            await session.commit()
        await _until(lambda: len(lane.sent) == 1, seconds=3)
        # A commit of its own process wakes it once, by the after-commit hook: its own NOTIFY is not
        # heard a second time.
        async with session_factory() as session:
            from bot.services import outbox

            session.sync_session.info[outbox.WAKE] = sender.kick  # as outbox.wake_on_commit sets it
            await outbox.announce(session)
            await session.commit()
        await asyncio.sleep(0.5)
        assert sender.wakes == 3
    finally:
        await sender.close(5)


async def test_a_commit_that_queued_something_wakes_it(session: AsyncSession) -> None:
    from bot.services import outbox

    sender = Sender(_context(), Pacer(30), worker_id="w", idle=60)
    lane = sender.add(Memory(label="reminders"))
    sender.start()
    try:
        await _until(lambda: sender.wakes == 1)
        lane.rows = [Row(1, 1)]
        session.sync_session.info[outbox.WAKE] = sender.kick  # as outbox.wake_on_commit sets it
        await outbox.announce(session)  # what reminders.add and broadcasts.create do
        await asyncio.sleep(0.3)
        assert lane.sent == []  # not before the commit: the row could not be claimed yet
        await session.commit()
        await _until(lambda: len(lane.sent) == 1, seconds=2)
    finally:
        await sender.close(5)
        session.sync_session.info.pop(outbox.WAKE)
    wakes = sender.wakes
    sender.kick()  # a closed sender is not woken again
    await asyncio.sleep(0)
    assert sender.wakes == wakes
