"""Telegram's sending limits, kept for everything the bot sends on its own in this process.

Every unsolicited send (a reminder, a notice, a copy into the curators' group, a broadcast) first
asks the pacer for a slot: at most ``rate`` sends a second overall, evenly spaced (no bursts), and
at least ``interval`` seconds between two sends to one chat (1 s for a person, 3 s for a group: 20
a minute). When several wait, the most urgent kind goes first (``Priority``), then the one that
has waited longest. A 429 pauses what it concerns: ``pause(seconds)`` everything, ``pause(seconds,
key)`` one chat. Answers to a person's own update never come through here: a handler never waits
on the pacer.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
from collections.abc import Hashable
from dataclasses import dataclass, field


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


class Pacer:
    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
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
        self._wake()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def _wake(self) -> None:
        self._changed.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._waiters:
            self._changed.clear()
            now = self._now()
            gap = 1.0 / self.rate
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
            self._waiters.remove(chosen)
            self._next_any = max(self._next_any, now) + gap
            self._next_key[chosen.key] = now + chosen.interval
            chosen.future.set_result(None)
            if len(self._next_key) > 10_000:
                self._next_key = {k: t for k, t in self._next_key.items() if t > now}

    async def _nap(self, seconds: float) -> None:
        """Sleeps ``seconds``, or less when a waiter or a pause comes in (it may change the choice)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._changed.wait()
