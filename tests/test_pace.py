"""Telegram's limits shared through the database: one moment per chat and one overall pace, whoever
asks; two pacers on one database together keep the rate one alone would."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Hashable

import pytest
from sqlalchemy import select

from bot.jobs.pacer import Pacer, Priority, Shared
from bot.services import pace
from db.engine import create_engine
from db.models import SendPace


def _key() -> str:
    return "t" + secrets.token_hex(8)


async def test_a_chat_is_taken_once_until_its_interval_passes(engine) -> None:
    key = _key()
    since = _since()
    async with engine.connect() as conn:
        assert (await pace.take(conn, {key: 5.0}))[key] == 0.0
    async with engine.connect() as conn:
        wait = (await pace.take(conn, {key: 5.0}))[key]  # another instance, a moment later
    assert 5.0 - since() < wait <= 5.0
    async with engine.connect() as conn:
        assert 5.0 - since() < (await pace.take(conn, {key: 5.0}))[key] <= wait
    # Nothing was taken by the refused asks: the moment is still the first one's.
    async with engine.connect() as conn:
        stored = (await conn.execute(select(SendPace.next_at).where(SendPace.key == key))).scalar_one()
        new = _key()
        assert (await pace.take(conn, {new: 0.0}))[new] == 0.0  # a chat never seen is free at once
    async with engine.connect() as conn:
        assert (await conn.execute(select(SendPace.next_at).where(SendPace.key == key))).scalar_one() == stored


async def test_a_chat_whose_moment_passed_is_free_again(engine) -> None:
    key = _key()
    async with engine.connect() as conn:
        assert (await pace.take(conn, {key: -10.0}))[key] == 0.0  # its moment is already in the past
    async with engine.connect() as conn:
        since = _since()
        assert (await pace.take(conn, {key: 5.0}))[key] == 0.0
    async with engine.connect() as conn:
        assert (await pace.take(conn, {key: 5.0}))[key] > 5.0 - since()


async def test_many_chats_are_asked_in_one_statement(engine) -> None:
    free, busy = _key(), _key()
    since = _since()
    async with engine.connect() as conn:
        await pace.take(conn, {busy: 5.0})
    async with engine.connect() as conn:
        answer = await pace.take(conn, {free: 1.0, busy: 1.0})
    assert answer[free] == 0.0 and 5.0 - since() < answer[busy] <= 5.0
    key = _key()
    since = _since()
    async with engine.connect() as conn:
        assert await pace.book(conn, 0.5, 0.0, key, count=4) == 0.0  # four moments: now, +0.5, +1, +1.5
    async with engine.connect() as conn:
        assert 2.0 - since() < await pace.book(conn, 0.5, 0.0, key) <= 2.0  # the next is after all four


async def test_the_overall_pace_books_one_moment_after_another(engine) -> None:
    key = _key()
    since = _since()
    waits, asked = [], []
    for _ in range(5):
        async with engine.connect() as conn:
            waits.append(await pace.book(conn, 0.5, 0.0, key))
        asked.append(since())
    assert waits[0] == 0.0
    # Half a second apart, however fast they ask: each wait is its moment less the time already passed.
    for n, wait in enumerate(waits[1:], 1):
        assert 0.5 * n - asked[n] < wait <= 0.5 * n


async def test_slack_lets_a_late_sender_catch_up_by_that_much_only(engine) -> None:
    key = _key()
    async with engine.connect() as conn:
        await pace.book(conn, -5.0, 0.0, key)  # the last moment booked is long past
    waits, asked = [], []
    since = _since()
    for _ in range(5):
        async with engine.connect() as conn:
            waits.append(await pace.book(conn, 1.0, 2.0, key))
        asked.append(since())
    # Two seconds of slack at one a second: three go at once to catch up, then one a second again.
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 1.0 - asked[3] < waits[3] <= 1.0 and 2.0 - asked[4] < waits[4] <= 2.0


async def test_a_429_holds_the_key_for_every_instance(engine) -> None:
    """What is left of a 3 s hold is 3 s less the time that really passed (a busy machine may take a
    while between two statements: the bound is measured, not assumed)."""
    key, chat = _key(), _key()
    loop = asyncio.get_running_loop()
    held = loop.time()
    async with engine.connect() as conn:
        await pace.hold(conn, key, 3.0)
    async with engine.connect() as conn:
        wait = await pace.book(conn, 0.1, 0.0, key)
    assert 3.0 - (loop.time() - held) - 0.05 < wait <= 3.2
    held = loop.time()
    async with engine.connect() as conn:
        await pace.hold(conn, chat, 3.0)
    async with engine.connect() as conn:
        left = (await pace.take(conn, {chat: 1.0}))[chat]
    assert 3.0 - (loop.time() - held) - 0.05 < left <= 3.0
    async with engine.connect() as conn:
        await pace.hold(conn, chat, 1.0)  # a shorter hold never shortens a longer one
    async with engine.connect() as conn:
        assert (await pace.take(conn, {chat: 1.0}))[chat] > 3.0 - (loop.time() - held) - 0.05


async def test_old_rows_of_chats_are_purged_and_the_overall_one_kept(engine) -> None:
    old, fresh, overall = _key(), _key(), _key()
    async with engine.connect() as conn:
        await pace.take(conn, {old: -(pace.KEEP_SECONDS + 60)})
    async with engine.connect() as conn:
        await pace.take(conn, {fresh: 1.0})
    async with engine.connect() as conn:
        await pace.hold(conn, overall, -(pace.KEEP_SECONDS + 60))
    async with engine.connect() as conn:
        assert await pace.purge(conn, overall) >= 1
    async with engine.connect() as conn:
        keys = set((await conn.execute(select(SendPace.key).where(SendPace.key.in_([old, fresh, overall])))).scalars())
    assert keys == {fresh, overall}


@pytest.fixture
async def pacers(engine):
    """Pacers sharing the test database; their connections are let go at the end."""
    made: list[Pacer] = []

    def make(rate: float, prefix: str, overall: str, on=None) -> Pacer:
        pacer = Pacer(rate, shared=Shared(on or engine, _names(prefix), overall))
        made.append(pacer)
        return pacer

    yield make
    for pacer in made:
        await pacer.close()


def _since():
    """Seconds since this call, plus a little for the database's clock and this one to disagree: a
    bound that subtracts it holds however long a busy machine took between two statements."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    return lambda: loop.time() - start + 0.05


def _names(prefix: str):
    def name(chat: Hashable) -> str:
        return f"{prefix}{chat}"

    return name


async def _run(pacer: Pacer, keys: list[str], interval: float, log: list[tuple[str, float]]) -> None:
    loop = asyncio.get_running_loop()

    async def one(key: str) -> None:
        await pacer.slot(key, interval=interval)
        log.append((key, loop.time()))

    await asyncio.gather(*(one(k) for k in keys))


async def test_two_pacers_on_one_database_keep_one_rate_together(pacers, engine) -> None:
    overall, prefix = _key(), _key()
    rate = 20.0
    first = pacers(rate, prefix, overall)
    second = pacers(rate, prefix, overall)
    log: list[tuple[str, float]] = []
    async with engine.connect() as conn:
        db_start = (await conn.execute(select(pace._now(conn)))).scalar_one()
    start = asyncio.get_running_loop().time()
    await asyncio.gather(
        _run(first, [f"a{i}" for i in range(12)], 0.0, log),
        _run(second, [f"b{i}" for i in range(12)], 0.0, log),
    )
    times = sorted(t for _, t in log)
    assert len(times) == 24
    # Alone, each would send its 12 in 0.55 s; together they share 20 a second: 24 take over a second.
    # Measured from before the first ask, so a busy machine's stall can only make it longer.
    assert times[-1] - start >= (23 - 3) / rate * 0.95  # (3: the slack a late start may catch up)
    # And the two booked 24 distinct moments of the one overall pace, 1/20 s apart (on the database's
    # clock, which no stall of this process moves).
    async with engine.connect() as conn:
        booked_until = (await conn.execute(select(SendPace.next_at).where(SendPace.key == overall))).scalar_one()
    assert booked_until - db_start >= (24 - 3) / rate * 0.95


async def test_two_pacers_never_send_to_one_chat_within_its_interval(pacers) -> None:
    overall, prefix = _key(), _key()
    first = pacers(1000, prefix, overall)
    second = pacers(1000, prefix, overall)
    log: list[tuple[str, float]] = []
    await asyncio.gather(
        _run(first, ["her", "her"], 0.3, log),
        _run(second, ["her", "her", "other"], 0.3, log),
    )
    hers = sorted(t for k, t in log if k == "her")
    assert len(hers) == 4 and len(log) == 5
    assert all(b - a >= 0.3 * 0.9 for a, b in itertools.pairwise(hers))
    # The other chat did not wait behind her four.
    assert next(t for k, t in log if k == "other") < hers[-1]


async def test_a_429_one_pacer_meets_pauses_the_other(pacers) -> None:
    overall, prefix = _key(), _key()
    first = pacers(1000, prefix, overall)
    second = pacers(1000, prefix, overall)
    loop = asyncio.get_running_loop()
    first.pause(0.6)  # Telegram told the first instance: 0.6 s for everyone
    assert first.shared is not None
    await asyncio.gather(*first.shared._tasks)  # written beside the caller: let it land
    started = loop.time()
    await second.slot("x", interval=0.0)
    assert loop.time() - started >= 0.4


async def test_without_the_database_a_pacer_keeps_its_own_pace(pacers) -> None:
    gone = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # a database that is not there
    pacer = pacers(200, "x", _key(), on=gone)
    log: list[tuple[str, float]] = []
    await _run(pacer, ["a", "b", "c"], 0.0, log)
    assert [k for k, _ in log] == ["a", "b", "c"]
    await gone.dispose()


async def test_with_the_shared_pace_the_most_urgent_still_goes_first(pacers) -> None:
    pacer = pacers(1000, _key(), _key())
    pacer.pause(0.05)  # all four arrive while sending is paused
    loop = asyncio.get_running_loop()
    order: list[str] = []

    async def one(key: str, priority: Priority) -> None:
        await pacer.slot(key, interval=0.0, priority=priority)
        order.append(key)

    asks = [("b1", Priority.BROADCAST), ("n1", Priority.NOTICE), ("c1", Priority.CRISIS), ("n2", Priority.NOTICE)]
    started = loop.time()
    await asyncio.gather(*(one(k, p) for k, p in asks))
    assert order == ["c1", "n1", "n2", "b1"]
    assert loop.time() - started >= 0.04
