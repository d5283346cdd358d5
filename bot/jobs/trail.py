"""The trail of recent messages in private chats, and "hide the chat" (discreet mode).

``MessageTrail`` sees every message: as a Bot API session middleware it notes the id of each message
the bot sends to a private chat (from a handler, a dialog, the reminder worker, a broadcast), and as
an update middleware the id of each message a person sends. The ids are written in batches by a
background task (never while a handler holds its session), kept 48 hours, and used by ``hide``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message, MessageId, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import discreet

log = logging.getLogger(__name__)
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
NOTED_KEPT = 20_000  # ids remembered as already noted (an edited screen returns its id again and again)


class MessageTrail:
    def __init__(self, factory: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]) -> None:
        self._factory = factory
        self._clock = clock
        self._pending: list[tuple[int, int, datetime]] = []
        # Ids noted lately: every edit of a screen hands back the same id, which the table holds
        # already (it keeps the first time); asking it again on every tap cost a statement's share.
        self._noted: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.outgoing = _Outgoing(self)  # bot.session.middleware(trail.outgoing)
        self.incoming = _Incoming(self)  # dp.message.outer_middleware(trail.incoming)

    # -- noting

    def note(self, chat_id: int, message_id: int) -> None:
        if chat_id <= 0:  # groups and channels: not hers to hide
            return
        if (chat_id, message_id) in self._noted:
            self._noted.move_to_end((chat_id, message_id))
            return
        self._noted[(chat_id, message_id)] = None
        if len(self._noted) > NOTED_KEPT:
            self._noted.popitem(last=False)
        self._pending.append((chat_id, message_id, self._clock()))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        """Writes what was noted. A failure loses only ids (the chat then keeps those messages)."""
        async with self._lock:
            while self._pending:  # ids noted while a batch was being written go in the next one
                rows, self._pending = self._pending, []
                try:
                    async with self._factory() as session:
                        await discreet.note(session, rows)
                except Exception as exc:
                    log.warning("trail: %d message id(s) not recorded: %s", len(rows), type(exc).__name__)
                    for chat_id, message_id, _at in rows:  # the next edit may note them again
                        self._noted.pop((chat_id, message_id), None)

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    # -- hiding

    async def hide(self, bot: Bot, chat_id: int) -> int:
        """Deletes what Telegram still lets the bot delete in this chat; returns how many ids were
        tried. The ids are forgotten either way."""
        await self.flush()
        async with self._factory() as session:
            ids = await discreet.recent(session, chat_id=chat_id, now=self._clock())
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            try:
                await bot.delete_messages(chat_id, batch)
            except TelegramAPIError as exc:
                log.warning("hide: %d message(s) not deleted: %s", len(batch), type(exc).__name__)
        await self.forget(chat_id)
        return len(ids)

    async def forget(self, chat_id: int) -> None:
        """Her chat's ids go (after "hide the chat", and after "delete my data")."""
        await self.flush()
        for noted in [n for n in self._noted if n[0] == chat_id]:
            del self._noted[noted]
        async with self._factory() as session:
            await discreet.clear(session, chat_id=chat_id)

    async def prune(self) -> int:
        async with self._factory() as session:
            return await discreet.prune(session, now=self._clock())


class _Outgoing(BaseRequestMiddleware):
    """What the bot sends: the id of every message that lands in a private chat."""

    def __init__(self, trail: MessageTrail) -> None:
        self._trail = trail

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        response = await make_request(bot, method)
        # aiogram's sessions hand back the result itself, although the middleware type says Response.
        result: Any = response.result if isinstance(response, Response) else response
        try:
            self._note(method, result)
        except Exception as exc:  # noting must never break a send
            log.warning("trail: %s", type(exc).__name__)
        return response

    def _note(self, method: TelegramMethod[Any], result: Any) -> None:
        messages: Sequence[Any] = result if isinstance(result, list) else [result]
        for item in messages:
            if isinstance(item, Message) and item.chat.type == ChatType.PRIVATE:
                self._trail.note(item.chat.id, item.message_id)
            elif isinstance(item, MessageId):
                chat_id = getattr(method, "chat_id", None)
                if isinstance(chat_id, int):
                    self._trail.note(chat_id, item.message_id)


class _Incoming(BaseMiddleware):
    """What people send in private chats."""

    def __init__(self, trail: MessageTrail) -> None:
        self._trail = trail

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Message) and event.chat.type == ChatType.PRIVATE:
            self._trail.note(event.chat.id, event.message_id)
        return await handler(event, data)
