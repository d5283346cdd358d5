"""Telling people other than the one on the screen (the team, the woman) from inside a flow."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram_dialog import DialogManager

from bot import notify
from bot.context import AppContext
from dialogs.common.getters import user_id_of


async def tell_team(
    manager: DialogManager,
    recipients: Iterable[int],
    render: Callable[[], str],
    *,
    reply_markup: InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup] | None = None,
) -> None:
    app: AppContext = manager.middleware_data["app"]
    bot: Bot = manager.middleware_data["bot"]
    i18n: I18n = manager.middleware_data["i18n"]
    me = user_id_of(manager)
    for user_id in dict.fromkeys(recipients):
        if user_id != me:
            await notify.tell(bot, i18n, app.db, user_id, render, reply_markup=reply_markup)


async def tell_called_off(manager: DialogManager, people: Iterable[int]) -> None:
    """The general meeting is off: the same neutral words for everyone, never who withdrew."""
    from aiogram.utils.i18n import gettext

    def render() -> str:
        return gettext(
            "The general meeting will not take place as planned. This can happen, and it is nobody's fault. "
            "The facilitator will be in touch about what comes next."
        )

    await tell_team(manager, people, render)
