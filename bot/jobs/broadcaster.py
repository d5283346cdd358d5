"""Broadcasts: the lane of the one sender (``bot/jobs/sender.py``) for ``broadcast_deliveries``.

The sender claims deliveries through this lane (``bot.services.broadcasts.claim``, the outbox's one
claim step) after the more urgent lanes, when it is kicked (a broadcast confirmed) or a scheduled
one's time comes. Each delivery goes through a ``Bot`` of its own whose session does NOT retry (so
that a 429 reaches the lane), takes its slot from the pacer with the lowest priority, and its
outcome is recorded in a short transaction of its own:

- **Rate**: broadcast sends start at most ``rate`` per second (25 by default, never above 30,
  progress messages included), under the pacer's overall rate, and never two to one chat a second.
- **429**: every broadcast send pauses for ``retry_after`` — no broadcast call at all, to anyone —
  and the delivery goes back to the queue without counting as an attempt.
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
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.pacer import Priority
from bot.jobs.sender import Lane, Sender
from bot.services import broadcasts, users
from bot.services.broadcasts import Claimed, Content, Progress
from db.models import BroadcastState

log = logging.getLogger(__name__)

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


def bar(done: int, total: int) -> str:
    share = done / total if total else 1.0
    filled = round(share * BAR_WIDTH)
    return "▓" * filled + "░" * (BAR_WIDTH - filled) + f" {round(share * 100)}%"


class Broadcaster(Lane):
    """The broadcasts' lane of the one sender: the lowest priority, at most ``rate`` a second."""

    name = "broadcasts"
    priority = Priority.BROADCAST

    def __init__(
        self,
        context: AppContext,
        bot: Bot,
        i18n: I18n,
        sender: Sender,
        *,
        rate: float = 25.0,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        super().__init__()
        self.context = context
        self.bot = bot  # a Bot whose session does not retry: a 429 must reach the lane
        self.i18n = i18n
        self.rate = min(MAX_RATE, rate)
        self.lease = lease
        self.batch = max(1, int(self.rate * 2))
        self.in_flight = self.batch * 2
        self.paused_until = 0.0  # a 429: no broadcast send at all until then
        self._next = 0.0  # the broadcasts' own spacing (``rate``), under the pacer's overall one
        self._contents: dict[int, Content] = {}
        self._gate_lock = asyncio.Lock()
        sender.add(self)
        self.sender_: Sender = sender

    @property
    def worker_id(self) -> str:
        return self.sender_.worker_id

    async def tick(self) -> None:
        try:
            await self.run_once()
        except Exception as exc:
            log.error("broadcasts: run failed with %s", type(exc).__name__)

    async def run_once(self) -> Counter[str]:
        """Starts what is due and sends it now (the sender does it by itself; the tests call this)."""
        found = await self.sender_.run_once([self], wait=True)
        return found.get(self.name, Counter())

    # ---------------------------------------------------------------- the lane

    async def claim(self, limit: int) -> Sequence[Claimed]:
        if self._paused_for() > 2.0:  # a long 429 pause: claim again once it is over
            return []
        async with self.context.db() as session:
            for broadcast_id in await broadcasts.start_due(session, now=self.context.now()):
                log.info("broadcast %s: scheduled time came, sending", broadcast_id)
            claimed = await broadcasts.claim(
                session, now=self.context.now(), worker=self.worker_id, limit=limit, lease=self.lease
            )
            missing = {c.broadcast_id for c in claimed} - set(self._contents)
            if missing:
                self._contents.update(await broadcasts.content_of(session, missing))
                await session.commit()
        return claimed

    def chat(self, item: Claimed) -> Hashable:
        return item.user_id

    async def release(self, ids: list[int]) -> int:
        not_before = None
        if self._paused_for() > 0:
            not_before = self.context.now() + timedelta(seconds=self._paused_for())
        async with self.context.db() as session:
            return await broadcasts.release(session, ids, worker=self.worker_id, not_before=not_before)

    async def next_due(self, session: AsyncSession, now: datetime) -> datetime | None:
        found = await broadcasts.next_due(session, now=now, lease=self.lease)
        if found is not None and self._paused_for() > 0:
            found = max(found, now + timedelta(seconds=self._paused_for()))
        return found

    def _paused_for(self) -> float:
        return max(0.0, self.paused_until - asyncio.get_running_loop().time())

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, asyncio.get_running_loop().time() + seconds)

    async def _gate(self) -> None:
        """A 429 pauses every broadcast send; between two, at least ``1 / rate`` seconds (counted from
        when the last one really went: one at a time through the gate, so a late wake-up never
        bunches two sends together)."""
        loop = asyncio.get_running_loop()
        async with self._gate_lock:
            while True:
                now = loop.time()
                start = max(self._next, self.paused_until)
                if start <= now:
                    self._next = now + 1.0 / self.rate
                    return
                await asyncio.sleep(start - now)

    async def send(self, item: Claimed) -> str:
        content = self._contents.get(item.broadcast_id)
        now = self.context.now
        if content is None:
            async with self.context.db() as session:
                await broadcasts.mark_failed(session, item.id, now=now(), error="no_broadcast", worker=self.worker_id)
            return "failed"
        assert self.sender is not None
        async with self.sender.waiting():
            await self._gate()
        await self.turn(item.user_id)
        if self._paused_for() > 0:  # a 429 came while this one waited for its slot
            async with self.sender.waiting():
                await self._gate()
        try:
            await send_content(self.bot, item.user_id, content)
        except TelegramRetryAfter as exc:
            self.pause(float(exc.retry_after))
            self.sender.pacer.pause(float(exc.retry_after), item.user_id)
            log.warning("broadcasts: 429, the broadcasts pause for %ss", exc.retry_after)
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
                await users.set_blocked(session, item.user_id, True, now=now())
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

    async def after(self, final: bool) -> None:
        """The authors' progress messages, and the final report of what has finished."""
        async with self.context.db() as session:
            ids = set(await broadcasts.running(session))
            await session.commit()
        if final:
            self._contents = {k: v for k, v in self._contents.items() if k in ids}
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
        await self._gate()
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
                self.pause(float(exc.retry_after))
                return
            except (TelegramForbiddenError, TelegramAPIError, OSError, TimeoutError) as exc:
                log.warning("broadcast %s: progress edit failed with %s", broadcast_id, type(exc).__name__)
                return
        try:
            sent = await self.bot.send_message(view.progress_chat_id, text)
        except TelegramRetryAfter as exc:
            self.pause(float(exc.retry_after))
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
