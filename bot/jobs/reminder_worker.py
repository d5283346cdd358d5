"""Reminders and notices: the lane of the one sender (``bot/jobs/sender.py``) for the ``reminders`` table.

Each kind of reminder registers a renderer that words the message in the recipient's language (or
says it is no longer worth sending); the lane does the rest: claim (``bot.services.reminders``, the
outbox's one claim step), render, take a slot from the pacer, send, record the outcome. The claim
in the database makes sure each row goes out from one instance once.

A session is never held while Telegram is awaited: claiming, rendering and each outcome run in
short transactions of their own. Logs carry ids, kinds, counts and error types only.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
from collections.abc import Hashable, Sequence
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.outgoing import Drop, Outgoing, Renderer, Unreachable
from bot.jobs.pacer import Priority
from bot.jobs.sender import Lane, Sender
from bot.services import reminders, users
from bot.services.reminders import Claimed

log = logging.getLogger(__name__)

OUTCOMES = ("sent", "failed", "retried", "dropped", "released")


def make_worker_id() -> str:
    """hostname:pid:random — tells apart two instances even on one host, and a restarted one."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"[:64]


class ReminderWorker(Lane):
    """The reminders' lane (kept under its old name: renderers register on it)."""

    name = "reminders"
    priority = Priority.NOTICE

    def __init__(
        self,
        context: AppContext,
        bot: Bot,
        i18n: I18n,
        sender: Sender,
        *,
        max_attempts: int = 5,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
    ) -> None:
        super().__init__()
        self.context = context
        self.bot = bot
        self.i18n = i18n
        self.max_attempts = max_attempts
        self.lease = lease
        self.batch = batch
        self.renderers: dict[str, Renderer] = {}
        self.unreachable: dict[str, Unreachable] = {}
        sender.add(self)
        self.sender_: Sender = sender

    @property
    def worker_id(self) -> str:
        return self.sender_.worker_id

    @property
    def in_flight(self) -> int:  # type: ignore[override]
        return self.batch * 10

    def register(self, kind: str, renderer: Renderer, on_unreachable: Unreachable | None = None) -> None:
        if len(kind) > 32:
            raise ValueError("kind: at most 32 characters")
        self.renderers[kind] = renderer
        if on_unreachable is not None:
            self.unreachable[kind] = on_unreachable
        else:
            self.unreachable.pop(kind, None)

    async def tick(self) -> None:
        """``run_once`` that never lets an exception (and its text) reach a log."""
        try:
            await self.run_once()
        except Exception as exc:
            log.error("reminders: run failed with %s", type(exc).__name__)

    async def close(self, grace: float) -> None:
        await self.sender_.close(grace)

    async def run_once(self, *, wait: bool = False) -> dict[str, int]:
        """Claims and sends the due reminders now (the sender does it by itself; the tests call this).
        Returns counts per outcome."""
        counts = dict.fromkeys(OUTCOMES, 0)
        found = await self.sender_.run_once([self], wait=wait)
        counts.update(found.get(self.name, {}))
        return counts

    # ------------------------------------------------------------ the lane

    async def claim(self, limit: int) -> Sequence[Claimed]:
        async with self.context.db() as session:
            # Only kinds this instance can word: a row of a kind it does not know (a newer
            # instance's, during a rolling update) waits for one that does.
            return await reminders.claim_due(
                session,
                now=self.context.now(),
                worker=self.worker_id,
                limit=limit,
                lease=self.lease,
                kinds=list(self.renderers),
            )

    def chat(self, item: Claimed) -> Hashable:
        return item.recipient_id

    async def release(self, ids: list[int]) -> int:
        async with self.context.db() as session:
            return await reminders.release(session, ids, worker=self.worker_id)

    async def next_due(self, session: AsyncSession, now: datetime) -> datetime | None:
        return await reminders.next_due(session, now=now, lease=self.lease, kinds=list(self.renderers))

    async def send(self, item: Claimed) -> str:
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

        await self.turn(item.recipient_id)
        try:
            await self.bot.send_message(
                item.recipient_id,
                outcome.text,
                reply_markup=outcome.reply_markup,
                message_thread_id=outcome.message_thread_id,
            )
        except TelegramForbiddenError:
            async with self.context.db() as session:
                await users.set_blocked(session, item.recipient_id, True, now=self.context.now())
            # Told before the row is closed: a crash between the two sends the row again, which meets
            # the 403 again, and the notice (queued once per reminder) is not queued a second time.
            await self._unreachable(item)
            await self._fail(item, "blocked")
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
