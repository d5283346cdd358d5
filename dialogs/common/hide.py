"""“🧹 Hide the chat”: the bot deletes what Telegram lets it delete, ends the open dialogs and leaves
one neutral message that says nothing about the programme. From the menu, /settings and /hide."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.types import CallbackQuery, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode
from aiogram_dialog.widgets.kbd import Button

from dialogs.common.scope import scope
from dialogs.common.widgets import Tr


def neutral_text() -> str:
    """What stays on her screen: nothing about prison or the programme."""
    return gettext("👋 Hello! Send /start to begin.")


async def hide_chat(manager: DialogManager, bot: Bot, chat_id: int) -> None:
    await manager.reset_stack(remove_keyboard=False)
    manager.show_mode = ShowMode.NO_UPDATE
    await scope(manager).trail.hide(bot, chat_id)
    await bot.send_message(chat_id, neutral_text(), reply_markup=ReplyKeyboardRemove())


async def on_hide(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    await callback.answer()
    if callback.message is not None and callback.bot is not None:
        await hide_chat(manager, callback.bot, callback.message.chat.id)


def hide_button() -> Button:
    return Button(Tr("🧹 Hide the chat"), id="hide", on_click=on_hide)
