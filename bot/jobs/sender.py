"""The one sender of everything the bot sends on its own: reminders and notices, broadcasts, and the
relayed messages the immediate send did not finish.

Each kind is a ``Lane`` (a plug-in): its queue in the database (claimed with the one claim step of
``bot.services.outbox``), its priority and how it words, sends and records one row. The sender:

- **claims** from every lane in priority order (relayed messages ▸ reminders and notices ▸
  broadcasts) and keeps many rows in flight; each row takes its slot from the pacer
  (``bot/jobs/pacer.py``) right before its send, with its lane's priority, so a crisis mark or a relayed
  message goes before a queued broadcast, and Telegram's limits hold across all kinds;
- **records** each outcome in a short transaction of its own (sent, retried with backoff, failed,
  dropped) — a session is never held while Telegram is awaited;
- **sleeps** when nothing is due: until the earliest due time among the lanes (at most
  ``idle`` seconds, a safety net), woken at once by ``kick()`` when something is queued in this
  process and, on PostgreSQL, by ``NOTIFY outbox`` from other instances (``LISTEN`` on a connection
  of its own). An idle bot makes no query between two due times;
- **starts** at start-up (what fell due while the bot was down goes at once) and, on **stop**,
  hands back at once every claimed row still waiting for its slot; the sends under way finish.

A row still waiting for its slot past half its lane's lease is handed back (and claimed again), so a
claim never outlives its lease while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.pacer import PRIVATE_INTERVAL, Pacer, Priority
from bot.services import outbox

log = logging.getLogger(__name__)
L = TypeVar("L", bound="Lane")

IDLE_SECONDS = 60.0  # the longest sleep when nothing is due (a safety net: wakes are pushed)
MIN_NAP = 0.2  # something due that this run did not take (handed back, just due): look again soon
LISTEN_RETRY = 30.0  # seconds between two tries to LISTEN again after the connection was lost


class Lane:
    """One kind of outgoing message: a queue, a priority, and how one row is sent.

    Subclasses set ``name``, ``priority``, ``lease``, ``batch`` and implement ``claim``, ``send``,
    ``release`` and ``next_due``; ``chat`` names the chat a row goes to (the sender keeps rows for
    many chats in flight, since one chat takes one message a second)."""

    name = "lane"
    priority = Priority.NOTICE
    lease = timedelta(minutes=5)
    batch = 100
    in_flight = 1000  # at most this many rows of this lane claimed at once

    def __init__(self) -> None:
        self.sender: Sender | None = None

    async def claim(self, limit: int) -> Sequence[Any]:
        raise NotImplementedError

    def row_id(self, item: Any) -> int:
        return int(item.id)

    def chat(self, item: Any) -> Hashable:
        raise NotImplementedError

    async def send(self, item: Any) -> str:
        """Sends one claimed row and records its outcome; returns it ("sent", "failed", …). Takes
        its slot with ``self.turn(…)`` right before the call to Telegram."""
        raise NotImplementedError

    async def release(self, ids: list[int]) -> int:
        raise NotImplementedError

    async def next_due(self, session: AsyncSession, now: datetime) -> datetime | None:
        raise NotImplementedError

    async def after(self, final: bool) -> None:
        """Called about once a second while the lane's rows are in flight, and at the end of a run."""

    async def turn(
        self, key: Hashable, *, interval: float = PRIVATE_INTERVAL, priority: Priority | None = None
    ) -> None:
        assert self.sender is not None
        async with self.sender.waiting():
            await self.sender.pacer.slot(
                key, interval=interval, priority=self.priority if priority is None else priority
            )

    def kick(self) -> None:
        if self.sender is not None:
            self.sender.kick()


class Sender:
    def __init__(
        self,
        context: AppContext,
        pacer: Pacer,
        *,
        worker_id: str,
        idle: float = IDLE_SECONDS,
        listen_url: str | None = None,
    ) -> None:
        self.context = context
        self.pacer = pacer
        self.worker_id = worker_id
        self.idle = idle
        self.listen_url = listen_url  # a PostgreSQL DSN for LISTEN (asyncpg); None: no listening
        self.lanes: list[Lane] = []
        self._lock = asyncio.Lock()
        self._closing = False
        self._again = False  # kicked during a run: claim once more before it ends
        self._wake = asyncio.Event()  # the idle loop's: something was queued
        self._fresh = asyncio.Event()  # a run's: something was queued while rows are in flight
        self._waiting: set[asyncio.Task[Any]] = set()  # sends waiting for their slot: safe to hand back
        self._loop: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._listen_after = 0.0
        self.wakes = 0  # runs of the idle loop (for the tests and the idle measurement)
        self._held = False

    def add(self, lane: L) -> L:
        lane.sender = self
        self.lanes.append(lane)
        self.lanes.sort(key=lambda lane_: int(lane_.priority))
        return lane

    # ------------------------------------------------------------ running

    def kick(self) -> None:
        """Something was queued for now (or its due time changed): look at once."""
        if self._closing or self._held:
            return
        self._again = True
        self._wake.set()
        self._fresh.set()

    def start(self) -> None:
        """Starts the loop: a first run at once, then sleeps until the next due time or a kick."""
        if self._loop is None and not self._closing:
            self._loop = asyncio.get_running_loop().create_task(self._forever(), name="sender")

    async def hold(self) -> None:
        """Stops the loop after its current run: from now on only ``run_once`` sends (a test that
        counts what one run did drives the sender itself)."""
        self._held = True
        self._wake.set()
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop

    async def _forever(self) -> None:
        while not self._closing and not self._held:
            self._wake.clear()
            self.wakes += 1
            await self._ensure_listening()
            try:
                await self.run_once(wait=True)
                delay = await self._idle_for()
            except Exception as exc:  # the database went away: try again shortly
                log.error("sender: run failed with %s", type(exc).__name__)
                delay = 5.0
            if self._closing or self._held:
                break
            log.debug("sender: asleep for %.1f s", delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _idle_for(self) -> float:
        """Seconds until the earliest due row of any lane (at most ``idle``)."""
        now = self.context.now()
        async with self.context.db() as session:
            moments = [await lane.next_due(session, now) for lane in self.lanes]
            await session.rollback()
        log.debug("sender: next due %s (now %s)", moments, now)
        found = [m for m in moments if m is not None]
        if not found:
            return self.idle
        return min(self.idle, max(MIN_NAP, (min(found) - now).total_seconds()))

    async def close(self, grace: float) -> None:
        """Shutdown: rows waiting for a slot go back to the queue at once, the sends under way finish
        (up to ``grace`` seconds), the loop and the listener stop."""
        self._closing = True
        self._wake.set()
        self._fresh.set()  # the run in progress hands back what waits for a slot
        try:
            async with asyncio.timeout(grace):
                async with self._lock:
                    pass
        except TimeoutError:
            log.warning("sender: a run was still going at shutdown (its claim returns after the lease)")
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
        await self._stop_listening()

    @contextlib.asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        """Marks the current send as not started yet: on stop (or past half its lease) it is
        cancelled and its row handed back."""
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            yield
        finally:
            self._waiting.discard(task)

    async def run_once(self, lanes: Sequence[Lane] | None = None, *, wait: bool = False) -> dict[str, Counter[str]]:
        """Claims and sends what is due in ``lanes`` (all by default) until nothing due is left.
        Returns the outcomes per lane. A run already going is not
        joined: without ``wait`` the call returns at once (that run looks once more before it ends);
        with it, it runs after that one."""
        chosen = list(lanes) if lanes is not None else list(self.lanes)
        counts: dict[str, Counter[str]] = {lane.name: Counter() for lane in chosen}
        if self._closing or not chosen:
            return counts
        if self._lock.locked() and not wait:
            self._again = True
            return counts
        async with self._lock:
            while True:
                self._again = False
                await self._drain(chosen, counts)
                if not self._again or self._closing:
                    break
        for name, lane_counts in counts.items():
            if lane_counts:
                log.info("sender %s: %s", name, ", ".join(f"{k} {v}" for k, v in sorted(lane_counts.items())))
        return counts

    async def _drain(self, lanes: list[Lane], counts: dict[str, Counter[str]]) -> None:
        loop = asyncio.get_running_loop()
        running: dict[asyncio.Task[str], tuple[Lane, Any]] = {}
        since: dict[asyncio.Task[str], float] = {}  # when each row was claimed
        more = dict.fromkeys(lanes, True)
        ticked = dict.fromkeys(lanes, loop.time())
        dirty = dict.fromkeys(lanes, False)  # rows claimed since its last after-step
        self._fresh.clear()
        while True:
            if self._fresh.is_set():  # queued meanwhile: every lane may have something again
                self._fresh.clear()
                more = dict.fromkeys(lanes, True)
            if self._closing:
                await self._hand_back(running, counts, [t for t in running if t in self._waiting])
            else:
                # A row still waiting for its slot past half its lease goes back (another instance
                # may take it, or this one again): a claim never outlives its lease while it waits.
                now = loop.time()
                old = [
                    t
                    for t, (lane, _) in running.items()
                    if t in self._waiting and now - since[t] > lane.lease.total_seconds() / 2
                ]
                if old:
                    for lane in {running[t][0] for t in old}:
                        more[lane] = True
                    await self._hand_back(running, counts, old)
                    for t in old:
                        since.pop(t, None)
                for lane in lanes:  # the most urgent first
                    if more[lane] and self._wants_more(lane, running):
                        items = await lane.claim(lane.batch)
                        more[lane] = len(items) == lane.batch
                        for item in items:
                            sending = asyncio.create_task(self._send(lane, item))
                            running[sending] = (lane, item)
                            since[sending] = loop.time()
                        dirty[lane] = dirty[lane] or bool(items)
            for lane in lanes:
                busy = any(owner is lane for owner, _ in running.values())
                if busy and loop.time() - ticked[lane] >= 1.0:
                    ticked[lane] = loop.time()
                    await self._after(lane, final=False)
                elif not busy and dirty[lane]:  # its last row is done (a broadcast's report goes now)
                    dirty[lane] = False
                    await self._after(lane, final=True)
            if not running:
                break
            fresh = asyncio.create_task(self._fresh.wait())
            done, _ = await asyncio.wait(
                {*running, fresh}, timeout=0.1 if self._closing else 1.0, return_when=asyncio.FIRST_COMPLETED
            )
            fresh.cancel()
            for task in done:
                if task is fresh:
                    continue
                lane, _item = running.pop(task)  # type: ignore[arg-type]
                since.pop(task, None)  # type: ignore[arg-type]
                if not task.cancelled() and task.exception() is None:
                    counts[lane.name][str(task.result())] += 1
        for lane in lanes:
            await self._after(lane, final=True)  # also what finished without a claim here

    def _wants_more(self, lane: Lane, running: dict[asyncio.Task[str], tuple[Lane, Any]]) -> bool:
        """Claim more while fewer chats than two seconds' worth of sends have rows of this lane
        waiting (one chat takes one message a second, so rows for few people cannot keep the rate)."""
        mine = [item for owner, item in running.values() if owner is lane]
        if len(mine) >= lane.in_flight:
            return False
        chats = {lane.chat(item) for item in mine}
        return len(chats) < max(2 * self.pacer.rate, lane.batch // 2)

    async def _send(self, lane: Lane, item: Any) -> str:
        try:
            return await lane.send(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database went away: the lease brings the row back
            log.error("sender %s %s: %s, left to the lease", lane.name, lane.row_id(item), type(exc).__name__)
            return "retried"

    async def _after(self, lane: Lane, *, final: bool) -> None:
        try:
            await lane.after(final)
        except Exception as exc:
            log.warning("sender %s: after-run step failed with %s", lane.name, type(exc).__name__)

    async def _hand_back(
        self,
        running: dict[asyncio.Task[str], tuple[Lane, Any]],
        counts: dict[str, Counter[str]],
        waiting: list[asyncio.Task[str]],
    ) -> None:
        """Cancels these sends, still waiting for their slot, and returns their rows to the queue."""
        for task in waiting:
            task.cancel()
        if waiting:
            await asyncio.wait(waiting)
        by_lane: dict[Lane, list[int]] = {}
        for task in waiting:
            lane, item = running.pop(task)
            by_lane.setdefault(lane, []).append(lane.row_id(item))
        for lane, ids in by_lane.items():
            try:
                counts[lane.name]["released"] += await lane.release(ids)
            except Exception as exc:  # the lease brings them back
                log.error("sender %s: hand-back failed with %s", lane.name, type(exc).__name__)

    # ------------------------------------------------------------ LISTEN (PostgreSQL)

    async def _ensure_listening(self) -> None:
        if self.listen_url is None or self._closing:
            return
        if self._listener is not None and not self._listener.is_closed():
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._listen_after:
            return
        self._listen_after = loop.time() + LISTEN_RETRY
        try:
            import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415  # only when LISTEN runs (PostgreSQL)

            connection = await asyncpg.connect(self.listen_url, timeout=10)
            await connection.add_listener(outbox.CHANNEL, self._notified)
        except Exception as exc:
            log.warning(
                "sender: LISTEN failed with %s; other instances' rows are seen at the next wake", type(exc).__name__
            )
            return
        self._listener = connection

    def _notified(self, _connection: Any, _pid: int, _channel: str, origin: str) -> None:
        if origin != outbox.ORIGIN:  # this process kicks itself
            self.kick()

    async def _stop_listening(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=5)
            self._listener = None


def listen_url(database_url: str) -> str | None:
    """The asyncpg DSN of a PostgreSQL ``DATABASE_URL`` (None for SQLite: one process, no LISTEN)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
