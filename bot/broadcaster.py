"""The broadcasts' sending side: claims due deliveries and sends them at a steady rate.

One ``Broadcaster`` per instance, run by a scheduler job every second and kicked at once when a
broadcast is confirmed. Each run claims a batch of deliveries in the database
(``bot.services.broadcasts.claim``), sends them through its own ``Bot`` whose session does NOT retry
(so that a 429 reaches it), and records each outcome in a short transaction of its own:

- **Rate**: sends start at most ``rate`` per second overall (25 by default, never above 30, progress
  messages included), several in flight at once, and never two to one chat within a second.
- **429**: the whole sender pauses for ``retry_after`` — no call at all, to anyone — and the
  delivery goes back to the queue without counting as an attempt.
- **403**: she blocked the bot: marked unreachable (``users.set_blocked``), the delivery "blocked".
- **5xx, timeouts, network errors**: retried after a growing delay (``not_before``) up to
  ``broadcasts.MAX_ATTEMPTS``, then "failed" with the error type. 400 and the rest: "failed" at once.
- **Crash**: a delivery is marked ``sending`` (claimed) before the call and ``sent`` right after it;
  a claim older than the lease returns to the queue, so after a crash or a restart the rest goes
  out and nobody is missed. The one case where a person could get the message twice: the process
  dies in the milliseconds between Telegram accepting a message and the ``sent`` commit (or a
  timeout hides that Telegram did accept it). A graceful stop hands its claim back at once.
- **Progress**: the author's one message, edited at most every ``PROGRESS_EVERY``; the instance
  that finishes a broadcast (a conditional UPDATE) sends the final report.

Logs carry ids, counts and error types only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
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
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, gettext

from bot import notify
from bot.context import AppContext
from bot.pacer import Pacer, Priority
from bot.services import broadcasts, users
from bot.services.broadcasts import Claimed, Content, Progress
from db.models import BroadcastState

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
PROGRESS_EVERY = timedelta(seconds=3)  # the author's progress message is edited at most this often
BAR_WIDTH = 10
MAX_RATE = 30.0


def markup_of(content: Content) -> InlineKeyboardMarkup | None:
    if not content.button_text or not content.button_url:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=content.button_text, url=content.button_url)]]
    )


async def send_content(bot: Bot, chat_id: int, content: Content) -> Message:
    """The message exactly as every recipient gets it (also the author's preview)."""
    markup = markup_of(content)
    if content.kind == "photo":
        return await bot.send_photo(chat_id, content.file_id or "", caption=content.text, reply_markup=markup)
    if content.kind == "document":
        return await bot.send_document(chat_id, content.file_id or "", caption=content.text, reply_markup=markup)
    return await bot.send_message(chat_id, content.text or "", reply_markup=markup)


class Limiter:
    """Start times spaced ``1/rate`` apart, and a pause every caller honours (Telegram's 429)."""

    def __init__(self, rate: float, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.interval = 1.0 / min(MAX_RATE, max(0.1, rate))
        self.paused_until = 0.0
        self._next = 0.0
        self._sleep = sleep

    def pause(self, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self.paused_until = max(self.paused_until, until)

    def paused_for(self) -> float:
        return max(0.0, self.paused_until - asyncio.get_running_loop().time())

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            slot = max(now, self._next, self.paused_until)
            if slot <= now:
                self._next = now + self.interval
                return
            self._next = slot + self.interval  # hold the slot, then look again (a 429 may have come)
            await self._sleep(slot - now)
            if loop.time() >= self.paused_until:
                return


def bar(done: int, total: int) -> str:
    share = done / total if total else 1.0
    filled = round(share * BAR_WIDTH)
    return "▓" * filled + "░" * (BAR_WIDTH - filled) + f" {round(share * 100)}%"


class Broadcaster:
    def __init__(
        self,
        context: AppContext,
        bot: Bot,
        i18n: I18n,
        *,
        worker_id: str,
        rate: float = 25.0,
        lease: timedelta = timedelta(seconds=60),
        concurrency: int = 8,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        # The overall limit shared with reminders and notices (they go first when both wait).
        self.pacer = pacer or Pacer(MAX_RATE)
        self.context = context
        self.bot = bot  # a Bot whose session does not retry: a 429 must reach the sender
        self.i18n = i18n
        self.worker_id = worker_id
        self.rate = min(MAX_RATE, rate)
        self.lease = lease
        self.batch = max(1, int(self.rate * 2))
        self.concurrency = concurrency
        self.limiter = Limiter(self.rate, sleep)
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._closing = False
        self._again = False
        self._kicked: set[asyncio.Task[Any]] = set()
        self._last_sent: dict[int, float] = {}

    # ---------------------------------------------------------------- running

    def kick(self) -> None:
        """Run now (a broadcast was just confirmed) rather than at the next tick."""
        if self._closing:
            return
        if self._lock.locked():
            self._again = True
            return
        task = asyncio.create_task(self.tick())
        self._kicked.add(task)
        task.add_done_callback(self._kicked.discard)

    async def tick(self) -> None:
        try:
            await self.run_once()
        except asyncio.CancelledError:  # the loop is closing: what was claimed returns after the lease
            log.info("broadcasts: run cancelled")
        except Exception as exc:
            log.error("broadcasts: run failed with %s", type(exc).__name__)

    async def close(self, grace: float) -> None:
        """Shutdown: the run stops after the messages in flight and hands the rest of its claim back."""
        self._closing = True
        try:
            async with asyncio.timeout(grace):
                async with self._lock:
                    pass
        except TimeoutError:
            log.warning("broadcasts: a run was still going at shutdown (its claim returns after the lease)")

    async def run_once(self) -> Counter[str]:
        """Starts what is due, sends claimed batches until nothing is due (or half the lease has
        passed, or a 429 pause), updates the progress messages. A run already going is not joined."""
        counts: Counter[str] = Counter()
        if self._lock.locked() or self._closing or self.limiter.paused_for() > 0:
            return counts
        async with self._lock:
            loop = asyncio.get_running_loop()
            started = loop.time()
            budget = self.lease.total_seconds() / 2
            while True:
                self._again = False
                async with self.context.db() as session:
                    for broadcast_id in await broadcasts.start_due(session, now=self.context.now()):
                        log.info("broadcast %s: scheduled time came, sending", broadcast_id)
                    claimed = await broadcasts.claim(
                        session, now=self.context.now(), worker=self.worker_id, limit=self.batch, lease=self.lease
                    )
                touched = {c.broadcast_id for c in claimed}
                if claimed:
                    await self._send_batch(claimed, counts, deadline=started + budget)
                await self._progress(touched)
                if self._closing or loop.time() - started > budget or self.limiter.paused_for() > 0:
                    break
                if not claimed and not self._again:
                    break
            if counts:
                log.info("broadcasts: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return counts

    async def _send_batch(self, claimed: list[Claimed], counts: Counter[str], *, deadline: float) -> None:
        async with self.context.db() as session:
            contents = await broadcasts.content_of(session, {c.broadcast_id for c in claimed})
            await session.commit()
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(self.concurrency)
        tasks: list[asyncio.Task[None]] = []
        for index, item in enumerate(claimed):
            await slots.acquire()
            # A long 429 pause, shutdown or the time budget: hand back what is not yet sent.
            if self._closing or loop.time() > deadline or self.limiter.paused_for() > 2.0:
                slots.release()
                rest = [c.id for c in claimed[index:]]
                not_before = None
                if self.limiter.paused_for() > 0:
                    not_before = self.context.now() + timedelta(seconds=self.limiter.paused_for())
                async with self.context.db() as session:
                    counts["released"] += await broadcasts.release(
                        session, rest, worker=self.worker_id, not_before=not_before
                    )
                break
            await self._pace(item.user_id)
            await self.limiter.acquire()
            await self.pacer.slot(item.user_id, priority=Priority.BROADCAST)
            self._last_sent[item.user_id] = loop.time()
            task = asyncio.create_task(self._deliver(item, contents.get(item.broadcast_id), counts))
            task.add_done_callback(lambda _t: slots.release())
            tasks.append(task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        now = loop.time()
        self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < PER_CHAT_INTERVAL}

    async def _pace(self, user_id: int) -> None:
        last = self._last_sent.get(user_id)
        if last is not None:
            wait = last + PER_CHAT_INTERVAL - asyncio.get_running_loop().time()
            if wait > 0:
                await self._sleep(wait)

    async def _deliver(self, item: Claimed, content: Content | None, counts: Counter[str]) -> None:
        try:
            counts[await self._send_one(item, content)] += 1
        except Exception as exc:  # the database went away: the lease brings the row back
            log.error("broadcast %s delivery %s: %s, left to the lease", item.broadcast_id, item.id, type(exc).__name__)

    async def _send_one(self, item: Claimed, content: Content | None) -> str:
        now = self.context.now
        if content is None:
            async with self.context.db() as session:
                await broadcasts.mark_failed(session, item.id, now=now(), error="no_broadcast", worker=self.worker_id)
            return "failed"
        try:
            await send_content(self.bot, item.user_id, content)
        except TelegramRetryAfter as exc:
            self.limiter.pause(float(exc.retry_after))
            self.pacer.pause(float(exc.retry_after), item.user_id)
            log.warning("broadcasts: 429, the sender pauses for %ss", exc.retry_after)
            async with self.context.db() as session:
                await broadcasts.release(
                    session,
                    [item.id],
                    worker=self.worker_id,
                    not_before=now() + timedelta(seconds=exc.retry_after),
                )
            return "paused"
        except TelegramForbiddenError:
            async with self.context.db() as session:
                await users.set_blocked(session, item.user_id, True)
            async with self.context.db() as session:
                await broadcasts.mark_blocked(session, item.id, now=now(), worker=self.worker_id)
            return "blocked"
        except TelegramBadRequest as exc:
            log.warning("broadcast %s delivery %s: %s", item.broadcast_id, item.id, type(exc).__name__)
            async with self.context.db() as session:
                await broadcasts.mark_failed(
                    session, item.id, now=now(), error=type(exc).__name__, worker=self.worker_id
                )
            return "failed"
        except (TelegramServerError, TelegramNetworkError, TelegramAPIError, OSError, TimeoutError) as exc:
            async with self.context.db() as session:
                again = await broadcasts.retry_later(
                    session, item, now=now(), error=type(exc).__name__, worker=self.worker_id
                )
            log.warning(
                "broadcast %s delivery %s: %s, attempt %d, %s",
                item.broadcast_id,
                item.id,
                type(exc).__name__,
                item.attempts,
                "retried later" if again else "given up",
            )
            return "retried" if again else "failed"
        async with self.context.db() as session:
            await broadcasts.mark_sent(session, [item.id], now=now(), worker=self.worker_id)
        return "sent"

    # ---------------------------------------------------------------- progress

    async def _progress(self, touched: set[int]) -> None:
        async with self.context.db() as session:
            ids = set(await broadcasts.running(session)) | touched
            await session.commit()
        for broadcast_id in sorted(ids):
            try:
                async with self.context.db() as session:
                    finished = await broadcasts.finish_if_done(session, broadcast_id, now=self.context.now())
                if finished:
                    log.info("broadcast %s: done", broadcast_id)
                    await self.report(broadcast_id)
                    continue
                async with self.context.db() as session:
                    due = await broadcasts.claim_progress(
                        session, broadcast_id, now=self.context.now(), every=PROGRESS_EVERY
                    )
                if due:
                    await self.report(broadcast_id)
            except Exception as exc:
                log.warning("broadcast %s: progress failed with %s", broadcast_id, type(exc).__name__)

    async def report(self, broadcast_id: int) -> None:
        """Writes the author's progress message (sends it the first time, then edits it): the bar
        while running, the final report once done or cancelled."""
        async with self.context.db() as session:
            view = await broadcasts.progress(session, broadcast_id)
            await session.commit()
        if view is None or view.progress_chat_id is None:
            return
        locale = await notify.recipient_locale(self.context.db, view.author_id or 0, self.i18n.default_locale)
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = self.progress_text(view)
        await self.limiter.acquire()
        if view.progress_message_id is not None:
            try:
                await self.bot.edit_message_text(
                    text=text, chat_id=view.progress_chat_id, message_id=view.progress_message_id
                )
                return
            except TelegramBadRequest as exc:
                if "not modified" in str(exc.message).lower():
                    return
                # deleted by the author, or too old to edit: a new message instead
            except TelegramRetryAfter as exc:
                self.limiter.pause(float(exc.retry_after))
                return
            except (TelegramForbiddenError, TelegramAPIError, OSError, TimeoutError) as exc:
                log.warning("broadcast %s: progress edit failed with %s", broadcast_id, type(exc).__name__)
                return
        try:
            sent = await self.bot.send_message(view.progress_chat_id, text)
        except TelegramRetryAfter as exc:
            self.limiter.pause(float(exc.retry_after))
            return
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            log.warning("broadcast %s: progress message failed with %s", broadcast_id, type(exc).__name__)
            return
        async with self.context.db() as session:
            await broadcasts.set_progress_message(
                session, broadcast_id, chat_id=view.progress_chat_id, message_id=sent.message_id
            )

    def progress_text(self, view: Progress) -> str:
        done = view.sent + view.blocked + view.failed
        if view.state == BroadcastState.CANCELLED:
            return gettext(
                "⛔ <b>Broadcast #{id} cancelled.</b>\n\nDelivered: {sent}\nBlocked the bot: {blocked}\n"
                "Not delivered: {failed}\nNot sent (cancelled): {cancelled}"
            ).format(
                id=view.id,
                sent=view.sent,
                blocked=view.blocked,
                failed=view.failed,
                cancelled=view.cancelled + view.left,
            )
        if view.state == BroadcastState.DONE:
            text = gettext(
                "✅ <b>Broadcast #{id} finished.</b>\n\nDelivered: {sent} of {total}\nBlocked the bot: {blocked}\n"
                "Not delivered: {failed}"
            ).format(id=view.id, sent=view.sent, total=view.total, blocked=view.blocked, failed=view.failed)
            if view.errors:
                why = ", ".join(f"{name}: {count}" for name, count in sorted(view.errors.items()))
                text += "\n" + gettext("Why: {errors}").format(errors=why)
            return text
        elapsed = 0.0
        if view.started_at is not None:
            elapsed = (self.context.now() - view.started_at).total_seconds()
        rate = done / elapsed if elapsed > 1 and done else self.rate
        seconds_left = round(view.left / rate) if rate else 0
        return gettext(
            "📣 <b>Broadcast #{id}</b>\n{bar}\n\nSent: {sent} · not delivered: {failed} · left: {left}\n"
            "{rate} messages a second · about {seconds} s left"
        ).format(
            id=view.id,
            bar=bar(done, view.total),
            sent=view.sent,
            failed=view.failed + view.blocked,
            left=view.left,
            rate=f"{rate:.1f}",
            seconds=seconds_left,
        )
