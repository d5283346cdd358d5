"""Telegram's sending limits, kept for everything the bot sends on its own in this process.

Every unsolicited send (a reminder, a notice, a copy into the curators' group, a broadcast) first
asks the pacer for a slot: at most ``rate`` sends a second overall, evenly spaced (no bursts), and
at least ``interval`` seconds between two sends to one chat (1 s for a person, 3 s for a group: 20
a minute). When several wait, the most urgent kind goes first (``Priority``), then the one that
has waited longest. A 429 pauses what it concerns: ``pause(seconds)`` everything, ``pause(seconds,
key)`` one chat. Answers to a person's own update never come through here: a handler never waits
on the pacer.

With ``shared`` (on PostgreSQL, by default), the limits hold across every instance on the database:
before a grant the pacer takes the chat's moment and books the next overall moment there
(``bot.services.pace``), so two instances together send no faster than one, and a 429 one of them
gets pauses the others too. The local pacing stays in front, so an instance never asks the
database more often than it may send.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services import pace

log = logging.getLogger(__name__)


class Priority(enum.IntEnum):
    CRISIS = 0
    REPLY = 1  # a curator's answer, her message relayed to the team
    NOTICE = 2  # notices, reminders, check-ins, digests
    BROADCAST = 3


PRIVATE_INTERVAL = 1.1  # Telegram asks for one a second; the margin absorbs the network's jitter
GROUP_INTERVAL = 3.0  # Telegram allows about 20 messages a minute into one group


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    key: Hashable = field(compare=False)
    interval: float = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class Shared:
    """The pacer's link to the pace every instance shares in the database. ``name`` turns a chat
    into the key stored there (a pseudonym: the table never holds a Telegram id). Its statements run
    in autocommit: each is atomic alone, and a send costs two round trips, not two transactions."""

    PURGE_EVERY = 300.0  # seconds between two clean-ups of chats' old rows

    def __init__(self, engine: AsyncEngine, name: Callable[[Hashable], str], overall: str = pace.ALL) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.name = name
        self.overall = overall
        self._last_purge = 0.0
        self._last_warning = -3600.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._conn: AsyncConnection | None = None
        self._closed = False

    async def turns(self, asks: list[tuple[Hashable, float]], gap: float, slack: float) -> tuple[list[float], float]:
        """Books one overall moment per ask, ``gap`` apart, and takes each chat from its moment for
        its interval. Returns, for each (chat, interval), 0.0 when the chat was taken or else the
        seconds until it is free (its moment goes unused); and the seconds until the first moment.
        Two statements for the whole batch."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge > self.PURGE_EVERY:
            self._last_purge = loop.time()
            self._background(self._purge())
        names = [self.name(key) for key, _ in asks]
        async with self._connected() as conn:
            wait = await pace.book(conn, gap, slack, self.overall, len(asks))
            until = {
                name: wait + i * gap + interval for i, (name, (_, interval)) in enumerate(zip(names, asks, strict=True))
            }
            busy = await pace.take(conn, until)
        return [busy[name] for name in names], wait

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[AsyncConnection]:
        """The pacer's own connection, kept open: a send never waits in the pool behind the rows
        being rendered (a backlog keeps every pooled connection busy). Not on SQLite, whose one
        pooled connection is the whole bot's."""
        if self.engine.dialect.name == "sqlite" or self._closed:
            async with self.engine.connect() as conn:
                yield conn
            return
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = await self.engine.connect()
        try:
            yield self._conn
        except BaseException:
            await self._drop()  # a connection that failed once is not trusted again
            raise

    async def close(self) -> None:
        self._closed = True  # what still comes borrows a pooled connection and gives it back
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def hold(self, seconds: float, key: Hashable | None) -> None:
        """A 429: every instance waits too (written beside the caller, which must not wait)."""
        self._background(self._hold(seconds, self.overall if key is None else self.name(key)))

    async def _hold(self, seconds: float, key: str) -> None:
        try:
            async with self.engine.connect() as conn:
                await pace.hold(conn, key, seconds)
        except Exception as exc:
            self.failed(exc)

    async def _purge(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await pace.purge(conn, self.overall)
        except Exception as exc:
            self.failed(exc)

    def _background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def failed(self, exc: BaseException) -> None:
        """The database did not answer: this instance keeps its own pace meanwhile (said once a minute)."""
        now = asyncio.get_running_loop().time()
        if now - self._last_warning >= 60:
            self._last_warning = now
            log.warning("pacer: the shared pace is unavailable (%s); pacing this instance alone", type(exc).__name__)


class Pacer:
    def __init__(self, rate: float, *, shared: Shared | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.shared = shared
        # With the shared pace, how many sends ask the database together: a third of a second's worth
        # (what a more urgent send may wait behind, at most).
        self._batch = max(1, min(10, round(rate / 3)))
        # How far behind the ideal spacing grants may run before the lost time is given up: up to
        # three sends, but never enough to pass 29 in one second.
        self._slack = max(0.0, min(3.0, 29.0 - rate)) / rate
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._next_any = 0.0  # the earliest moment of the next send, overall
        self._next_key: dict[Hashable, float] = {}
        self._paused_until = 0.0
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def slot(
        self, key: Hashable, *, interval: float = PRIVATE_INTERVAL, priority: Priority = Priority.NOTICE
    ) -> None:
        """Returns when one message to ``key`` may be sent now. Cancelling the wait gives the place up."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(int(priority), next(self._seq), key, interval, future))
        self._wake()
        try:
            await future
        except asyncio.CancelledError:
            # Granted just as it was cancelled, the slot is spent; else the place is given up.
            self._waiters = [w for w in self._waiters if w.future is not future]
            raise

    def pause(self, seconds: float, key: Hashable | None = None) -> None:
        """Telegram said 429 (``retry_after`` seconds): for one chat, or for everything."""
        until = self._now() + max(seconds, 0.0)
        if key is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._next_key[key] = max(self._next_key.get(key, 0.0), until)
        if self.shared is not None:
            self.shared.hold(seconds, key)
        self._wake()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def close(self) -> None:
        """At shutdown, once the senders have stopped: no more grants, the shared pace's connection let go."""
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
            with contextlib.suppress(BaseException):
                await self._runner
        if self.shared is not None:
            await self.shared.close()

    def _wake(self) -> None:
        self._changed.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._waiters:
            self._changed.clear()
            now = self._now()
            # A little slack (GCRA): a grant the event loop made late is caught up by the next ones,
            # so the average stays exact; never more than a few beyond the rate in any second.
            start = max(self._next_any - self._slack, self._paused_until)
            if now < start:
                await self._nap(start - now)
                continue
            chosen: _Waiter | None = None
            soonest: float | None = None
            for waiter in self._waiters:
                if waiter.future.done():
                    continue
                ready_at = self._next_key.get(waiter.key, 0.0)
                if ready_at <= now:
                    if chosen is None or waiter < chosen:
                        chosen = waiter
                elif soonest is None or ready_at < soonest:
                    soonest = ready_at
            self._waiters = [w for w in self._waiters if not w.future.done()]
            if chosen is None:
                if soonest is None:
                    continue
                await self._nap(soonest - now)
                continue
            if self.shared is not None:
                await self._shared_batch(chosen, now)
                continue
            self._waiters.remove(chosen)
            self._grant(chosen, now)

    def _grant(self, chosen: _Waiter, now: float) -> None:
        self._next_any = max(self._next_any, now) + 1.0 / self.rate
        self._next_key[chosen.key] = now + chosen.interval
        if not chosen.future.done():
            chosen.future.set_result(None)
        if len(self._next_key) > 10_000:
            self._next_key = {k: t for k, t in self._next_key.items() if t > now}

    async def _shared_batch(self, chosen: _Waiter, now: float) -> None:
        """With the shared pace: the most urgent ready waiters (a fifth of a second's worth, other
        chats) ask the database together; each whose chat was free gets one of the overall moments
        booked for them and is let go at it; the others go back, ready when their chat is free."""
        assert self.shared is not None
        batch = [chosen]
        keys = {chosen.key}
        for waiter in sorted(self._waiters):
            if len(batch) >= self._batch:
                break
            if waiter.future.done() or waiter.key in keys or self._next_key.get(waiter.key, 0.0) > now:
                continue
            batch.append(waiter)
            keys.add(waiter.key)
        taken = set(map(id, batch))
        self._waiters = [w for w in self._waiters if id(w) not in taken]
        gap = 1.0 / self.rate
        try:
            busy, wait = await self.shared.turns([(w.key, w.interval) for w in batch], gap, self._slack)
        except Exception as exc:  # no database: the local pace alone, rather than no message at all
            self.shared.failed(exc)
            busy, wait = [0.0] * len(batch), 0.0
        start = self._now() + wait
        moment = start
        for waiter, seconds in zip(batch, busy, strict=True):
            if seconds > 0:  # another instance sent to this chat a moment ago: its moment goes unused
                self._next_key[waiter.key] = self._now() + seconds
                if not waiter.future.done():
                    self._waiters.append(waiter)
            else:
                now = self._now()
                moment = max(moment, now - self._slack)  # lateness is caught up by the slack, no more
                if moment > now:
                    await asyncio.sleep(moment - now)
                self._grant(waiter, self._now())
            moment += gap

    async def _nap(self, seconds: float) -> None:
        """Sleeps ``seconds``, or less when a waiter or a pause comes in (it may change the choice)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._changed.wait()
