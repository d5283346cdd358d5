"""Per-update plumbing: one database session, who is speaking, in which language, and a count
of updates in flight so a shutdown can wait for them."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.i18n import I18nMiddleware
from aiogram_dialog.utils import REPLY_CALLBACK_SYMBOLS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import users
from bot.services.users import Profile

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    """Counts updates being handled; ``drain`` waits until none is left (or the timeout passes)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    async def drain(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
            return True
        except TimeoutError:
            log.warning("shutdown: %d update(s) still running after %.0fs", self._count, seconds)
            return False


class DbSession(BaseMiddleware):
    """One session per update; the service that owns a use case commits.

    ``data["after_update"]`` is a list a handler may append coroutine functions to: they run once the
    update is done (aiogram_dialog has saved its state, the session is closed) and the chat's lock
    is still held — "delete my data" removes the dialog state there, or it would be saved back."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        after: list[Callable[[], Awaitable[None]]] = []
        data["after_update"] = after
        try:
            async with self._factory() as session:
                data["session"] = session
                return await handler(event, data)
        finally:
            for job in after:
                try:
                    await job()
                except Exception as exc:  # the update's own outcome stands; the clean-up is logged
                    name = getattr(job, "__name__", "job")
                    log.error("after the update: %s failed with %s", name, type(exc).__name__)


class WhoIsSpeaking(BaseMiddleware):
    """Resolves the speaker once per update: registers a first visit, loads role, language, region."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is not None and not tg_user.is_bot:
            data["profile"] = await users.touch(
                data["session"],
                tg_user.id,
                now=data["app"].now(),
                wrote=isinstance(event, Update) and event.my_chat_member is None,
                app_language=tg_user.language_code,
            )
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """Her own choice, else her Telegram app's language, else DEFAULT_LOCALE."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        profile: Profile | None = data.get("profile")
        tg_user: User | None = data.get("event_from_user")
        code = tg_user.language_code if tg_user else None
        if code is None and profile is not None:
            code = profile.app_language  # an update the bot made itself (a screen opened from outside)
        return users.resolve_locale(profile.chosen_locale if profile else None, code, self.i18n.default_locale)


_INTENT_ID = re.compile(r"[0-9A-Za-z]{1,16}")


class ForgedDialogButtons(BaseMiddleware):
    """Callback data shaped like aiogram_dialog's (``<intent id>\x1d<widget data>``) that it could not
    have made (an intent id that is not one, nothing after the separator, control characters): its
    data is emptied here, before aiogram_dialog looks the intent up in the storage or hands the data
    to a widget, so it reaches ``handlers/unexpected.py``'s ``foreign_button`` (answered, audited, the
    menu shown). Registered before ``setup_dialogs``, so it runs first."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, CallbackQuery)
        raw = event.data
        if raw is not None and "\x1d" in raw and not _dialog_shaped(raw):
            event = event.model_copy(update={"data": None})
        return await handler(event, data)


def _dialog_shaped(raw: str) -> bool:
    intent_id, _, rest = raw.partition("\x1d")
    return bool(_INTENT_ID.fullmatch(intent_id) and rest and len(raw.encode()) <= 64 and rest.isprintable())


class NoReplyCallbacks(BaseMiddleware):
    """aiogram_dialog reads invisible characters at the end of a text (zero-width joiners, soft hyphens)
    as the data of a button of a reply keyboard it made. This bot makes no such keyboards, so a text
    that merely ends with them (an emoji with a joiner, a pasted word) reaches the handlers as a text:
    one invisible zero-width space is added after them, which that decoder does not read."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Message)
        if event.text and event.text[-1] in REPLY_CALLBACK_SYMBOLS:
            event = event.model_copy(update={"text": event.text + "\u200b"})
        return await handler(event, data)
