"""The bot's HTTP session: one retry layer for every outgoing Bot API call.

Telegram answers 429 with ``retry_after`` when we send too fast, 5xx when it is unwell, and the
network times out now and then. Each outgoing call goes through ``RetryMiddleware``: 429 waits
exactly as long as Telegram asks, 5xx and network errors back off exponentially with jitter, and
both are bounded so a dead Telegram never hangs a handler forever. Everything else (400, 403, …)
is a real answer and goes straight back to the caller, which decides what it means.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import random
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Message

log = logging.getLogger(__name__)


def telegram_unavailable(exc: BaseException) -> bool:
    """Telegram did not answer, or answered 5xx or 429, even after the session's own retries: a
    failure that passes, unlike a 400 or a 403 (a real answer)."""
    return isinstance(exc, TelegramServerError | TelegramNetworkError | TelegramRetryAfter)


class RetryMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        max_attempts: int = 5,
        max_retry_after: float = 60.0,
        base_delay: float = 0.5,
        max_delay: float = 10.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        on_flood: Callable[[float, Any], None] | None = None,
    ) -> None:
        self.on_flood = on_flood  # told of every 429 (seconds, chat id): the pacer pauses what it concerns
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        polling = isinstance(method, GetUpdates)  # not narrowed: make_request keeps its TelegramType
        if polling:
            # The polling loop has its own backoff; retrying here would only delay shutdown.
            return await make_request(bot, method)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if self.on_flood is not None:
                    self.on_flood(float(exc.retry_after), getattr(method, "chat_id", None))
                if attempt >= self.max_attempts or exc.retry_after > self.max_retry_after:
                    raise
                delay = float(exc.retry_after)
                reason = "429"
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self.max_attempts:
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
                reason = type(exc).__name__
            log.warning(
                "Bot API %s failed (%s), attempt %d of %d, next in %.1fs",
                method.__api_method__,
                reason,
                attempt,
                self.max_attempts,
                delay,
            )
            await self._sleep(delay)


def create_session(
    api_url: str,
    *,
    timeout: float = 30.0,
    attempts: int = 5,
    on_flood: Callable[[float, Any], None] | None = None,
) -> AiohttpSession:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")), timeout=timeout)
    session.middleware(OneAnswerPerPress())
    session.middleware(RetryMiddleware(max_attempts=attempts, on_flood=on_flood))
    return session


class OneAnswerPerPress(BaseRequestMiddleware):
    """A press is answered once: Telegram refuses a second ``answerCallbackQuery`` for the same query
    with 400 "query is too old". Handlers answer with their own words and aiogram_dialog answers
    again after every dialog button; the second answer is dropped here, before it leaves.

    Also keeps the last state of recent bot messages, so an edit that would change nothing (a press
    that re-renders the same screen) is not sent at all: Telegram would refuse it with 400
    "message is not modified". Should one come back all the same, it is taken as success.

    A message is kept as what the comparison needs (digests of its keyboard and of its text's shape,
    16 bytes each) and its JSON (some 0.6 KiB), not as the ``Message`` (some 15 KiB of pydantic
    objects: 10 000 of them would be 145 MiB); the ``Message`` is read back only for an edit that is
    not sent. Kept whole, the keyboard and the shape were another 1.1 KiB a message (measured: 2.9
    MiB for the 1 500 messages of the bench's load)."""

    def __init__(self, remember: int = 10_000) -> None:
        self.remember = remember
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._messages: OrderedDict[tuple[int | str, int], _Kept] = OrderedDict()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, AnswerCallbackQuery):
            if method.callback_query_id in self._answered:
                return True  # type: ignore[return-value]  # what Telegram answers; TelegramType is bool here
            response = await make_request(bot, method)  # type: ignore[arg-type]  # narrowed by isinstance; the generic is lost
            self._keep(self._answered, method.callback_query_id, None)
            return response
        if isinstance(method, EditMessageText | EditMessageReplyMarkup | EditMessageCaption):
            known = self._known(method)
            if known is not None and _unchanged(method, known):
                return known.message(bot)  # type: ignore[return-value]  # an edit's answer is the Message itself
            try:
                response = await make_request(bot, method)  # type: ignore[arg-type]  # narrowed by isinstance; the generic is lost
            except TelegramBadRequest as exc:
                if "message is not modified" not in exc.message or known is None:
                    raise
                log.info("Bot API %s: message is not modified (taken as done)", method.__api_method__)
                return known.message(bot)  # type: ignore[return-value]  # an edit's answer is the Message itself
        else:
            response = await make_request(bot, method)
        if isinstance(response, Message) and response.from_user is not None:
            result = response
            self._keep(self._messages, (result.chat.id, result.message_id), _Kept.of(result))
        return response

    def _known(self, method: EditMessageText | EditMessageReplyMarkup | EditMessageCaption) -> _Kept | None:
        if method.chat_id is None or method.message_id is None:
            return None
        return self._messages.get((method.chat_id, method.message_id))

    def _keep(self, store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self.remember:
            store.popitem(last=False)


_TAG = re.compile(r"<\s*(/?)\s*([a-z-]+)[^>]*>", re.IGNORECASE)
_SAME_TAG = {"strong": "b", "em": "i", "ins": "u", "strike": "s", "del": "s"}


def _digest(*parts: bytes) -> bytes:
    """16 bytes that stand for ``parts``: each part goes in with its length, so no two different
    sequences run together into the same input."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.digest()


def _shape(text: str | None) -> bytes:
    """The digest of the text as the person sees it and of the sequence of its formatting tags."""
    raw = text or ""
    tags = (close + _SAME_TAG.get(name.lower(), name.lower()) for close, name in _TAG.findall(raw))
    return _digest(*(part.encode("utf-8", "surrogatepass") for part in (html.unescape(_TAG.sub("", raw)), *tags)))


def _markup(markup: Any) -> bytes | None:
    """The digest of the keyboard's JSON (its fields in the model's order, unset ones left out)."""
    return _digest(markup.model_dump_json(exclude_none=True).encode()) if markup is not None else None


@dataclass(frozen=True, slots=True)
class _Kept:
    """A message the bot sent or edited: what tells an edit that changes nothing, and its JSON."""

    markup: bytes | None  # the digest of its keyboard, None when it has none
    text: bytes | None  # the digest of its text's shape, None when it has none
    caption: bytes | None
    raw: bytes  # as Telegram sent it (the fields it set), read back equal by Message.model_validate_json

    @classmethod
    def of(cls, message: Message) -> _Kept:
        shape = _shape(message.html_text) if message.text is not None or message.caption is not None else None
        return cls(
            _markup(message.reply_markup),
            shape if message.text is not None else None,
            shape if message.caption is not None else None,
            message.model_dump_json(exclude_unset=True).encode(),
        )

    def message(self, bot: Bot) -> Message:
        return Message.model_validate_json(self.raw, context={"bot": bot})


def _unchanged(method: EditMessageText | EditMessageReplyMarkup | EditMessageCaption, known: _Kept) -> bool:
    if _markup(method.reply_markup) != known.markup:
        return False
    if isinstance(method, EditMessageReplyMarkup):
        return True
    mode = method.parse_mode
    if not (isinstance(mode, Default) or mode == ParseMode.HTML) or getattr(method, "entities", None):
        return False
    if isinstance(method, EditMessageText):
        return known.text is not None and _shape(method.text) == known.text
    return known.caption is not None and _shape(method.caption) == known.caption
