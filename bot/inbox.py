"""The durable inbox, Telegram side: receive, store, and only then acknowledge; handle from the database.

- **Polling**: the offset moves past an update (which tells Telegram it arrived) only after the
  update is stored. **Webhook**: 200 only after storing; otherwise Telegram sends it again later.
- **Handling**: the updates this instance receives are stored already claimed by it (one statement:
  store and claim) and handed to the dispatcher as they were parsed from ``getUpdates``, without a
  second trip through the database; what another instance left (its lease ran out) or what came
  while this one was full is claimed from the database (``bot.services.inbox``). One chat's updates
  are handled one after another, in order, except that crisis words and 🆘 go before whatever of
  hers is still waiting. A row is marked done after its handler returns (the marks of updates that
  finish while one is being written go together in the next statement); after a crash, what was not
  marked is handled again (the same ``update_id`` is never stored twice).
- **The database away**: nothing is acknowledged (Telegram keeps updates for 24 hours), and each
  person who writes gets at once an answer that needs no database: we will answer soon, and the
  nationwide crisis lines from the content files. When the database is back, everything is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from aiogram.utils.i18n import I18n
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import AppContext
from bot.jobs.telegram_session import telegram_unavailable
from bot.services import catalog
from bot.services import inbox as store
from db.engine import one_statement_engine
from db.errors import database_unreachable

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0  # while the database is away, how often a stored update is tried again
TELEGRAM_TRIES = 8  # a handler that Telegram's outage failed is tried again this often (2 s … 60 s apart)
IDLE_CLAIM_SECONDS = 10.0  # with nothing announced, look for rows left by a crashed instance this often
_OFFLINE_MEMORY = 10_000  # update ids already given the offline answer (it is sent once per update)


def chat_key(payload: dict[str, Any]) -> int | str:
    """Whose updates must keep their order: the chat's (or the person's); else the update alone."""
    for field in ("message", "edited_message", "channel_post", "edited_channel_post", "business_message"):
        chat = (payload.get(field) or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
    for field in ("callback_query", "my_chat_member", "chat_member", "chat_join_request", "inline_query"):
        event = payload.get(field) or {}
        chat = event.get("chat") or (event.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
        sender = event.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return sender["id"]
    return f"u{payload.get('update_id')}"


def _text_of(payload: dict[str, Any]) -> str | None:
    message = payload.get("message") or {}
    text = message.get("text") or message.get("caption")
    return text if isinstance(text, str) else None


@dataclass(slots=True)
class _Work:
    """An update to handle: claimed from the database, or stored claimed by this instance just now
    (then ``update`` is the object parsed from ``getUpdates``, handed over as it is)."""

    update_id: int
    payload: dict[str, Any]
    attempts: int
    update: Update | None = None


class OfflineReply:
    """The answer given while the database is away: no database needed, sent once per update."""

    def __init__(self, bot: Bot, i18n: I18n, region_files: list[catalog.RegionFile]) -> None:
        self._bot = bot
        self._i18n = i18n
        federal = next((f for f in region_files if f.code == catalog.FEDERAL), None)
        self._lines = [e for e in (federal.entries if federal else []) if e.kind == catalog.MeasureKind.CRISIS]
        self._answered: OrderedDict[int, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def answer(self, payloads: Iterable[dict[str, Any]]) -> None:
        """Starts the answers in the background: the caller (the poller) must not wait on Telegram."""
        for payload in payloads:
            update_id = payload.get("update_id")
            if not isinstance(update_id, int) or update_id in self._answered:
                continue
            self._answered[update_id] = None
            while len(self._answered) > _OFFLINE_MEMORY:
                self._answered.popitem(last=False)
            target = self._target(payload)
            if target is None:
                continue
            task = asyncio.create_task(self._send(*target))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _target(self, payload: dict[str, Any]) -> tuple[int, str, str | None] | None:
        """(chat, language, callback query id) of a private update a person is waiting on."""
        for field in ("message", "callback_query"):
            event = payload.get(field)
            if not isinstance(event, dict):
                continue
            sender = event.get("from") or {}
            chat = event.get("chat") or (event.get("message") or {}).get("chat") or {}
            if chat.get("type") not in (None, "private") or not isinstance(sender.get("id"), int):
                return None
            query = event.get("id") if field == "callback_query" else None
            return sender["id"], str(sender.get("language_code") or ""), query if isinstance(query, str) else None
        return None

    def text(self, language: str) -> str:
        locale = language.split("-")[0].lower()
        if locale not in self._i18n.available_locales:
            locale = self._i18n.default_locale
        lines = [
            self._i18n.gettext(
                "We have a short technical pause. Your message is saved: we will answer as soon as we can.",
                locale=locale,
            )
        ]
        contacts = [
            f"• {html.escape(e.title.get(locale) or e.title['ru'])}: <b>{html.escape(e.phone)}</b>"
            for e in self._lines
            if e.phone
        ]
        if contacts:
            lines.append("")
            lines.append(self._i18n.gettext("If you need help right now, call:", locale=locale))
            lines.extend(contacts)
        return "\n".join(lines)

    async def _send(self, chat_id: int, language: str, query_id: str | None) -> None:
        try:
            if query_id is not None:
                with contextlib.suppress(TelegramAPIError):
                    await self._bot.answer_callback_query(query_id)
            await self._bot.send_message(chat_id, self.text(language))
        except TelegramAPIError as exc:
            log.info("inbox: the offline answer was not sent: %s", type(exc).__name__)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)


class Inbox:
    """Stores what Telegram sends, then hands it to the dispatcher from the database."""

    def __init__(
        self,
        context: AppContext,
        dispatcher: Dispatcher,
        bot: Bot,
        offline: OfflineReply,
        *,
        worker_id: str,
        urgent: Callable[[str], bool],
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
        concurrency: int = 200,
        polling_timeout: int = 25,
        before_done: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._context = context
        # What must be in the database before an update is marked done: the dialog state it changed
        # (db.fsm_storage writes it behind the update, in batches).
        self._before_done = before_done
        # Storing and marking done: one statement each, on a connection (no ORM session: its bookkeeping
        # cost more than the statement, about 90 of 450 µs a done mark on SQLite).
        bind = context.db.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        self._writes = one_statement_engine(bind).connect
        self._dp = dispatcher
        self._bot = bot
        self.offline = offline
        self._worker = worker_id
        self._urgent = urgent
        self._lease = lease
        self._max_attempts = max_attempts
        self._concurrency = concurrency
        self._polling_timeout = polling_timeout
        self._wake = asyncio.Event()
        self._waiting = False  # updates were stored for later because this instance had no room
        self._stopping = asyncio.Event()
        self._held: set[int] = set()  # claimed by this instance and not marked done
        self._queues: dict[int | str, deque[_Work]] = {}
        self._chat_tasks: dict[int | str, asyncio.Task[None]] = {}
        self._done: list[int] = []  # handled, to be marked done by the finisher
        self._done_wake = asyncio.Event()
        self._finisher: asyncio.Task[None] | None = None
        self._closing = False

    # --- receiving -------------------------------------------------------------------------------

    async def accept(self, payloads: list[dict[str, Any]], parsed: Iterable[Update] = ()) -> bool:
        """Stores updates; True when they are safe (then, and only then, Telegram may be told).

        With room for them, they are stored claimed by this instance and handed to the dispatcher at
        once (``parsed``: the same updates as objects, when the caller has them); else they wait in
        the database for ``run`` to claim them."""
        mine = len(self._held) + len(payloads) <= self._concurrency and not self._stopping.is_set()
        try:
            async with self._writes() as conn:
                stored = await store.store(
                    conn,
                    [(p["update_id"], p) for p in payloads],
                    now=self._context.now(),
                    worker=self._worker if mine else None,
                    lease=self._lease if mine else None,
                )
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            log.warning("inbox: could not store %d update(s): %s", len(payloads), type(exc).__name__)
            self.offline.answer(payloads)
            return False
        if mine:
            fresh = set(stored)  # an update seen before (fetched again after a crash) is not handled again
            objects = {u.update_id: u for u in parsed}
            for payload in payloads:
                uid = payload["update_id"]
                if uid in fresh:
                    fresh.discard(uid)
                    self._enqueue(_Work(uid, payload, 1, objects.get(uid)))
        else:
            self._waiting = True
            self._wake.set()
        return True

    async def poll(self, allowed_updates: list[str] | None) -> None:
        """Long polling whose offset moves only past stored updates."""
        offset: int | None = None
        pause = 0.5
        while not self._stopping.is_set():
            method = GetUpdates(offset=offset, timeout=self._polling_timeout, allowed_updates=allowed_updates)
            try:
                updates = await self._bot(
                    method, request_timeout=int(self._bot.session.timeout + self._polling_timeout)
                )
            except TelegramUnauthorizedError:
                raise
            except (TelegramAPIError, OSError, TimeoutError) as exc:
                log.warning("inbox: getUpdates failed (%s), again in %.1fs", type(exc).__name__, pause)
                await self._sleep(pause)
                pause = min(pause * 2, 10.0)
                continue
            if not updates:
                pause = 0.5
                continue
            payloads = [u.model_dump(mode="json", by_alias=True, exclude_none=True) for u in updates]
            if await self.accept(payloads, updates):
                offset = max(u.update_id for u in updates) + 1
                pause = 0.5
            else:
                await self._sleep(pause)  # the same updates come back with the next call
                pause = min(pause * 2, 5.0)

    # --- handling --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Claims stored updates and hands them to per-chat queues until ``close``."""
        renew_every = max(self._lease.total_seconds() / 3, 0.5)
        loop = asyncio.get_running_loop()
        next_renewal = loop.time() + renew_every
        while not self._stopping.is_set():
            self._wake.clear()
            claimed: list[store.Claimed] = []
            room = self._concurrency - len(self._held)
            try:
                if loop.time() >= next_renewal:
                    next_renewal = loop.time() + renew_every
                    await self._renew()
                if room <= 0:
                    self._waiting = True  # the next done mark that makes room wakes this loop
                else:
                    async with self._context.db() as session:
                        claimed = await store.claim(
                            session,
                            worker=self._worker,
                            now=self._context.now(),
                            lease=self._lease,
                            limit=min(room, 100),
                            skip=self._held,
                        )
            except Exception as exc:
                if not database_unreachable(exc):
                    log.error("inbox: claim failed: %s", type(exc).__name__)
                await self._sleep(RETRY_SECONDS)
                continue
            for item in claimed:
                self._enqueue(_Work(item.update_id, item.payload, item.attempts))
            if len(claimed) >= min(room, 100) and room > 0:
                continue  # there may be more
            timeout = min(IDLE_CLAIM_SECONDS, max(next_renewal - loop.time(), 0.05))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _enqueue(self, item: _Work) -> None:
        self._held.add(item.update_id)
        key = chat_key(item.payload)
        queue = self._queues.setdefault(key, deque())
        text = _text_of(item.payload)
        if text is not None and self._urgent(text):
            queue.appendleft(item)  # crisis help goes before anything else of hers still waiting
        else:
            queue.append(item)
        if key not in self._chat_tasks:
            self._chat_tasks[key] = asyncio.create_task(self._drain_chat(key))

    async def _drain_chat(self, key: int | str) -> None:
        queue = self._queues[key]
        try:
            while queue:  # on shutdown too: close() gives what is claimed its time to finish
                await self._handle(queue.popleft())
        finally:
            # Cancelled with work left: it stays held and close() gives it back.
            self._queues.pop(key, None)
            self._chat_tasks.pop(key, None)

    async def _handle(self, item: _Work) -> None:
        if item.attempts > self._max_attempts:
            # Started this often and never finished: the process died on it each time. Let it go.
            log.error("inbox: update %d given up after %d attempts", item.update_id, item.attempts - 1)
            self._finish(item.update_id)
            return
        update = item.update
        if update is None:
            try:
                update = Update.model_validate(item.payload, context={"bot": self._bot})
            except ValidationError:
                log.warning("inbox: update %d is not an Update; dropped", item.update_id)
                self._finish(item.update_id)
                return
        telegram_tries = 0
        while True:
            try:
                response = await self._dp.feed_update(self._bot, update)
                if isinstance(response, TelegramMethod):
                    with contextlib.suppress(TelegramAPIError):
                        await self._bot(response)
                break
            except Exception as exc:
                if database_unreachable(exc):
                    self.offline.answer([item.payload])
                    log.warning("inbox: update %d waits for the database (%s)", item.update_id, type(exc).__name__)
                    pause = RETRY_SECONDS
                elif telegram_unavailable(exc) and telegram_tries < TELEGRAM_TRIES:
                    # Telegram was down for longer than the session's own retries: her answer is not
                    # lost, the update is handled again once Telegram is back.
                    telegram_tries += 1
                    pause = min(2.0**telegram_tries, 60.0)
                    log.warning("inbox: update %d waits for Telegram (%s)", item.update_id, type(exc).__name__)
                else:
                    log.error("inbox: update %d failed: %s", item.update_id, type(exc).__name__)
                    break
                if self._stopping.is_set() or not await self._sleep(pause):
                    return  # shutting down: close() gives it back
        self._finish(item.update_id)

    def _finish(self, update_id: int) -> None:
        """Hands the done mark to the finisher; the chat's next update need not wait for it."""
        self._done.append(update_id)
        self._done_wake.set()
        if self._finisher is None or self._finisher.done():
            self._finisher = asyncio.create_task(self._mark_done(), name="inbox-done")

    async def _mark_done(self) -> None:
        """Writes done marks: all that finished while the previous statement ran go in the next one
        (no waiting added, so the window in which a crash would handle an update again stays one
        statement long). The update stays held (its lease renewed) until its mark is written."""
        while self._done or not self._closing:
            if not self._done:
                self._done_wake.clear()
                await self._done_wake.wait()
                continue
            ids, self._done = self._done, []
            while True:
                try:
                    if self._before_done is not None:
                        await self._before_done()
                    async with self._writes() as conn:
                        await store.finish(conn, ids, now=self._context.now())
                    break
                except Exception as exc:
                    if not database_unreachable(exc) or self._stopping.is_set():
                        log.error("inbox: could not mark %d update(s) done: %s", len(ids), type(exc).__name__)
                        break
                    await self._sleep(RETRY_SECONDS)
            self._held.difference_update(ids)
            if self._waiting and len(self._held) < self._concurrency:
                self._waiting = False  # room again: claim what was stored for later now, not at the next look
                self._wake.set()

    async def _renew(self) -> None:
        if self._held:
            async with self._context.db() as session:
                await store.renew(
                    session, set(self._held), worker=self._worker, until=self._context.now() + self._lease
                )

    async def _sleep(self, seconds: float) -> bool:
        """Sleeps unless stopping; False when stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return not self._stopping.is_set()

    @property
    def busy(self) -> int:
        return len(self._held)

    async def close(self, seconds: float) -> None:
        """Stops taking work, lets running handlers finish (up to ``seconds``), gives the rest back."""
        self._stopping.set()
        self._wake.set()
        tasks = set(self._chat_tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        # The marks of what was handled are written before the rest is given back.
        self._closing = True
        self._done_wake.set()
        if self._finisher is not None and not self._finisher.done():
            _, unfinished = await asyncio.wait({self._finisher}, timeout=10)
            for task in unfinished:
                task.cancel()
        left = set(self._held)
        if left:
            try:
                async with self._context.db() as session:
                    await store.release(session, left, worker=self._worker)
                log.info("inbox: %d update(s) given back for the next start", len(left))
            except Exception as exc:
                log.warning("inbox: could not give back %d update(s): %s", len(left), type(exc).__name__)
        await self.offline.close()
