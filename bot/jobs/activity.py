"""What a person running the bot reads in the log once a minute: updates handled, Bot API calls made,
and how many of each failed. One INFO line a minute when anything happened, none when idle.

Counts only (never ids, never texts); ``report`` is a scheduler job (``bot/app.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject

log = logging.getLogger("bot.jobs.activity")


class Activity:
    def __init__(self) -> None:
        self.updates = 0
        self.update_errors = 0
        self.calls = 0
        self.call_errors = 0

    async def count_update(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """An outer middleware of ``dp.update``: one more update handled (or failed)."""
        self.updates += 1
        try:
            return await handler(event, data)
        except BaseException:
            self.update_errors += 1
            raise

    @property
    def requests(self) -> BaseRequestMiddleware:
        """A request middleware for a ``Bot``'s session: one more Bot API call (long polls not counted)."""
        activity = self

        class _Count(BaseRequestMiddleware):
            async def __call__(
                self,
                make_request: NextRequestMiddlewareType[TelegramType],
                bot: Bot,
                method: TelegramMethod[TelegramType],
            ) -> Response[TelegramType]:
                if method.__api_method__ == "getUpdates":
                    return await make_request(bot, method)
                activity.calls += 1
                try:
                    return await make_request(bot, method)
                except BaseException:
                    activity.call_errors += 1
                    raise

        return _Count()

    def report(self) -> str | None:
        """Logs the last minute's counts at INFO (nothing when nothing happened) and starts again."""
        if not (self.updates or self.calls):
            return None
        line = (
            f"last minute: {self.updates} update(s) handled ({self.update_errors} failed), "
            f"{self.calls} Bot API call(s) ({self.call_errors} failed)"
        )
        log.info("%s", line)
        self.updates = self.update_errors = self.calls = self.call_errors = 0
        return line
