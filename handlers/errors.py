"""What happens when a handler fails: the person gets a calm sentence, the log gets the type."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, User
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.telegram_session import telegram_unavailable
from bot.services import users
from db.errors import database_unreachable
from dialogs.common.keyboards import reply_keyboard
from handlers.common import show_menu

log = logging.getLogger(__name__)


async def stale_dialog(event: ErrorEvent, dialog_manager: DialogManager) -> None:
    """A button of a screen that no longer exists (an old message, or a forged callback)."""
    log.info(
        "update %s: stale dialog (%s)",
        event.update.update_id,
        type(event.exception).__name__,
    )
    if event.update.callback_query:
        await _quietly(event.update.callback_query.answer(gettext("This button is out of date. Here is the menu.")))
    await _quietly(show_menu(dialog_manager))  # she may have blocked the bot meanwhile


async def blocked(
    event: ErrorEvent, session: AsyncSession, app: AppContext, event_from_user: User | None = None
) -> None:
    """She blocked the bot while we were answering: remember it, say nothing (we cannot)."""
    if event_from_user is not None:
        await users.set_blocked(session, event_from_user.id, True, now=app.now())


async def _ours_to_answer(event: ErrorEvent) -> bool:
    """A database that is away, or Telegram down past the session's retries, is not answered here:
    the error reaches the inbox, which handles the update again once they are back (bot/inbox.py)."""
    return not (database_unreachable(event.exception) or telegram_unavailable(event.exception))


async def anything(event: ErrorEvent) -> None:
    log.error(
        "update %s failed: %s\n%s",
        event.update.update_id,
        type(event.exception).__name__,
        where(event.exception),
    )
    text = gettext("Sorry, something went wrong on our side. Please try again, or press /start.")
    if event.update.callback_query:
        await _quietly(event.update.callback_query.answer(text, show_alert=True))
    elif event.update.message:
        await _quietly(event.update.message.answer(text, reply_markup=reply_keyboard()))


def errors_router() -> Router:
    router = Router(name="errors")
    router.error.register(stale_dialog, ExceptionTypeFilter(UnknownIntent, OutdatedIntent, UnknownState))
    router.error.register(blocked, ExceptionTypeFilter(TelegramForbiddenError))
    router.error.register(anything, _ours_to_answer)
    return router


def where(exc: BaseException) -> str:
    """The traceback's frames without the exception's message: messages (a pydantic error, say) can
    quote what a person wrote, and the log must never hold that."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()


async def _quietly(call: Awaitable[Any]) -> None:
    try:
        await call
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        log.info("could not tell the person about an error: %s", type(exc).__name__)
