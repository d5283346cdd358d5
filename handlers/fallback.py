"""Last in line: buttons nobody recognises (old or forged), and chats that are not one-to-one."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager

from handlers.common import show_menu
from handlers.filters import Quick


async def not_private(message: Message) -> None:
    """The bot talks to people one to one; group chats get nothing from it (yet)."""


async def stale_button(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
    """A safety net: dialog buttons go to the dialogs or, when stale, to the error handler, and
    foreign data to handlers/unexpected.py; a press must never be left spinning all the same."""
    await callback.answer(gettext("This button is out of date. Here is the menu."))
    await show_menu(dialog_manager)


def fallback_router() -> Router:
    router = Router(name="fallback")
    router.message.register(not_private, Quick(F.chat.type != "private"))
    router.callback_query.register(stale_button)
    return router
