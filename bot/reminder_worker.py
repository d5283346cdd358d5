"""The reminder engine's sending side: claims due reminder rows and sends them through Telegram.

Each kind of reminder registers a renderer that words the message in the recipient's language (or
says it is no longer worth sending); the worker does the rest: claim, render, send, record the
outcome. Run by an APScheduler interval job on every instance; the claim in the database makes
sure each row goes out from one instance once (``bot.services.reminders``).

A session is never held while Telegram is awaited: claiming, rendering and each outcome run in
short transactions of their own. Logs carry ids, kinds, counts and error types only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notify
from bot.context import AppContext
from bot.pacer import Pacer, Priority
from bot.services import reminders, users
from bot.services.reminders import Claimed

log = logging.getLogger(__name__)

OUTCOMES = ("sent", "failed", "retried", "dropped", "released")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The message to send: HTML (the bot's default parse mode), so escape what people typed."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    message_thread_id: int | None = None  # a forum topic, when the recipient is a group


@dataclass(frozen=True, slots=True)
class Drop:
    """Not worth sending any more; ``reason`` is a short code (it is stored and logged)."""

    reason: str


# (session, the claimed row, the recipient's locale) -> what to send. Runs inside ``i18n.context()``
# with that locale set, so ``gettext`` words the text in her language. The session is for reading;
# a renderer that writes commits itself.
Renderer = Callable[[AsyncSession, Claimed, str], Awaitable[Outgoing | Drop]]
# Called after a 403: the recipient blocked the bot (e.g. tell the facilitator she cannot be reached).
Unreachable = Callable[[Claimed], Awaitable[None]]


def make_worker_id() -> str:
    """hostname:pid:random — tells apart two instances even on one host, and a restarted one."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"[:64]


class ReminderWorker:
    def __init__(
        self,
        context: AppContext,
        bot: Bot,
        i18n: I18n,
        *,
        worker_id: str,
        max_attempts: int = 5,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        pacer: Pacer | None = None,
    ) -> None:
        self.context = context
        self.bot = bot
        self.i18n = i18n
        self.worker_id = worker_id
        self.max_attempts = max_attempts
        self.lease = lease
        self.batch = batch
        self.renderers: dict[str, Renderer] = {}
        self.unreachable: dict[str, Unreachable] = {}
        self.pacer = pacer or Pacer(25)
        self._waiting: set[int] = set()
        self._lock = asyncio.Lock()
        self._closing = False
        self._again = False  # something was queued while a run was going: look once more
        self._kicks: set[asyncio.Task[Any]] = set()

    def register(self, kind: str, renderer: Renderer, on_unreachable: Unreachable | None = None) -> None:
        if len(kind) > 32:
            raise ValueError("kind: at most 32 characters")
        self.renderers[kind] = renderer
        if on_unreachable is not None:
            self.unreachable[kind] = on_unreachable
        else:
            self.unreachable.pop(kind, None)

    async def tick(self) -> None:
        """The scheduler's job: ``run_once`` that never lets an exception (and its text) reach
        APScheduler's log."""
        try:
            await self.run_once()
        except Exception as exc:
            log.error("reminders: run failed with %s", type(exc).__name__)

    def kick(self) -> None:
        """Something was just queued for now: send it without waiting for the next poll."""
        if self._closing:
            return
        if self._lock.locked():
            self._again = True
            return
        task = asyncio.get_running_loop().create_task(self.tick())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def close(self, grace: float) -> None:
        """Shutdown: a run in progress stops after its current message and hands the rest of its
        claim back; waits for it up to ``grace`` seconds."""
        self._closing = True
        try:
            async with asyncio.timeout(grace):
                async with self._lock:
                    pass
        except TimeoutError:
            log.warning("reminders: a run was still going at shutdown (its rows return after the lease)")

    async def run_once(self, *, wait: bool = False) -> dict[str, int]:
        """Claims and sends what is due, batch after batch, until nothing due is left (or half the
        lease has passed: the rest is handed back for the next run). Returns counts per outcome.
        A run already going in this process is not joined: without ``wait`` the call returns zeros
        at once (that run looks once more before it ends); with it, it runs after that one."""
        counts = dict.fromkeys(OUTCOMES, 0)
        if self._closing:
            return counts
        if self._lock.locked() and not wait:
            self._again = True
            return counts
        async with self._lock:
            while True:
                self._again = False
                await self._run_locked(counts)
                if not self._again or self._closing:
                    break
            if any(counts.values()):
                log.info("reminders: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        return counts

    async def _run_locked(self, counts: dict[str, int]) -> None:
        """Many rows in flight at once, each waiting for its slot from the pacer (the overall rate,
        one message a second per chat); the next batch is claimed while the last one still sends, so
        the rate never waits for a claim. Past half the lease, or on shutdown, what has not started
        sending is handed back at once."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        budget = self.lease.total_seconds() / 2
        running: dict[asyncio.Task[str], Claimed] = {}
        self._waiting = set()  # rows waiting for a slot: safe to hand back
        more = True
        while True:
            stop = self._closing or loop.time() - started > budget
            if more and not stop and self._wants_more(running):
                async with self.context.db() as session:
                    # Only kinds this instance can word: a row of a kind it does not know (a newer
                    # instance's, during a rolling update) waits for one that does.
                    claimed = await reminders.claim_due(
                        session,
                        now=self.context.now(),
                        worker=self.worker_id,
                        limit=self.batch,
                        lease=self.lease,
                        kinds=list(self.renderers),
                    )
                more = len(claimed) == self.batch
                for item in claimed:
                    running[asyncio.create_task(self._deliver_safely(item))] = item
            if stop:
                await self._hand_back(running, counts)
            if not running:
                break
            done, _ = await asyncio.wait(set(running), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                running.pop(task)
                if not task.cancelled() and task.exception() is None:
                    counts[task.result()] += 1

    def _wants_more(self, running: dict[asyncio.Task[str], Claimed]) -> bool:
        """Claim more while fewer chats than two seconds' worth of sends have rows waiting (one chat
        takes one message a second, so rows for few people cannot keep the rate), within bounds."""
        if len(running) >= self.batch * 10:
            return False
        chats = {item.recipient_id for item in running.values()}
        return len(chats) < max(2 * self.pacer.rate, self.batch // 2)

    async def _hand_back(self, running: dict[asyncio.Task[str], Claimed], counts: dict[str, int]) -> None:
        """Cancels the rows still waiting for a slot and returns them to the queue."""
        waiting = [task for task, item in running.items() if item.id in self._waiting]
        for task in waiting:
            task.cancel()
        if waiting:
            await asyncio.wait(waiting)
        ids = [running.pop(task).id for task in waiting]
        if ids:
            async with self.context.db() as session:
                counts["released"] += await reminders.release(session, ids, worker=self.worker_id)

    async def _deliver_safely(self, item: Claimed) -> str:
        try:
            return await self._deliver(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database went away: the lease brings the row back
            log.error("reminder %s (%s): %s, left to the lease", item.id, item.kind, type(exc).__name__)
            return "retried"

    async def _deliver(self, item: Claimed) -> str:
        if item.attempts > self.max_attempts:  # came back through the lease too often
            await self._fail(item, "attempts_spent")
            return "failed"
        renderer = self.renderers[item.kind]  # claimed only for kinds registered here
        locale, discreet = await notify.recipient_prefs(self.context.db, item.recipient_id, self.i18n.default_locale)
        try:
            with self.i18n.context(), self.i18n.use_locale(locale):
                async with self.context.db() as session:
                    outcome = await renderer(session, item, locale)
                if discreet and isinstance(outcome, Outgoing) and outcome.message_thread_id is None:
                    outcome = dataclasses.replace(outcome, text=notify.discreet(outcome.text))
        except Exception as exc:
            log.warning("reminder %s (%s): renderer raised %s", item.id, item.kind, type(exc).__name__)
            return await self._retry(item, type(exc).__name__)
        if isinstance(outcome, Drop):
            async with self.context.db() as session:
                await reminders.drop(
                    session, item.id, now=self.context.now(), reason=outcome.reason, worker=self.worker_id
                )
            log.info("reminder %s (%s): dropped, %s", item.id, item.kind, outcome.reason[:64])
            return "dropped"

        self._waiting.add(item.id)
        try:
            await self.pacer.slot(item.recipient_id, priority=Priority.NOTICE)
        finally:
            self._waiting.discard(item.id)
        try:
            await self.bot.send_message(
                item.recipient_id,
                outcome.text,
                reply_markup=outcome.reply_markup,
                message_thread_id=outcome.message_thread_id,
            )
        except TelegramForbiddenError:
            async with self.context.db() as session:
                await users.set_blocked(session, item.recipient_id, True)
            await self._fail(item, "blocked")
            await self._unreachable(item)
            return "failed"
        except TelegramRetryAfter as exc:  # the session's own retries are spent
            return await self._retry(item, type(exc).__name__, min_delay=timedelta(seconds=exc.retry_after))
        except (TelegramServerError, TelegramNetworkError) as exc:
            return await self._retry(item, type(exc).__name__)
        except TelegramBadRequest as exc:  # a chat that never started the bot, a malformed text
            log.warning("reminder %s (%s): %s", item.id, item.kind, type(exc).__name__)
            await self._fail(item, type(exc).__name__)
            return "failed"
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            return await self._retry(item, type(exc).__name__)
        async with self.context.db() as session:
            await reminders.mark_sent(session, item.id, now=self.context.now(), worker=self.worker_id)
        return "sent"

    async def _fail(self, item: Claimed, error: str) -> None:
        async with self.context.db() as session:
            await reminders.mark_failed(session, item.id, now=self.context.now(), error=error, worker=self.worker_id)

    async def _retry(self, item: Claimed, error: str, *, min_delay: timedelta | None = None) -> str:
        async with self.context.db() as session:
            again = await reminders.retry_later(
                session,
                item.id,
                now=self.context.now(),
                error=error,
                max_attempts=self.max_attempts,
                min_delay=min_delay,
                worker=self.worker_id,
            )
        log.warning(
            "reminder %s (%s): %s, attempt %d of %d, %s",
            item.id,
            item.kind,
            error,
            item.attempts,
            self.max_attempts,
            "retried later" if again else "given up",
        )
        return "retried" if again else "failed"

    async def _unreachable(self, item: Claimed) -> None:
        log.info("reminder %s (%s): recipient has blocked the bot", item.id, item.kind)
        callback = self.unreachable.get(item.kind)
        if callback is None:
            return
        try:
            await callback(item)
        except Exception as exc:
            log.warning("reminder %s (%s): on_unreachable raised %s", item.id, item.kind, type(exc).__name__)
