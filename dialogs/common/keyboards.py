"""The reply keyboard that stays under the text field: urgent help and the menu, always one tap away."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n, gettext

from bot.i18n import N_

SOS_LABEL = N_("🆘 Urgent help")
MENU_LABEL = N_("☰ Menu")


def reply_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=gettext(SOS_LABEL)), KeyboardButton(text=gettext(MENU_LABEL))]],
        resize_keyboard=True,
        is_persistent=True,
    )


def labels_in_all_locales(i18n: I18n, msgid: str) -> set[str]:
    """A keyboard sent in one language stays on screen after she switches to another."""
    return {i18n.gettext(msgid, locale=locale) for locale in i18n.available_locales} | {msgid}
