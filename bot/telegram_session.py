"""The bot's HTTP session: one retry layer for every outgoing Bot API call.

Telegram answers 429 with ``retry_after`` when we send too fast, 5xx when it is unwell, and the
network times out now and then. Each outgoing call goes through ``RetryMiddleware``: 429 waits
exactly as long as Telegram asks, 5xx and network errors back off exponentially with jitter, and
both are bounded so a dead Telegram never hangs a handler forever. Everything else (400, 403, …)
is a real answer and goes straight back to the caller, which decides what it means.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)


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
    session.middleware(RetryMiddleware(max_attempts=attempts, on_flood=on_flood))
    return session
