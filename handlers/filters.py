"""Filters applied to routers and handlers: roles, crisis words, screens that take no typing."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram_dialog import DialogManager

from bot.context import AppContext
from bot.services.users import Profile
from db.models import Role


class HasRole(Filter):
    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, profile: Profile | None = None, **_: Any) -> bool:
        return profile is not None and profile.role in self.roles


class CrisisWords(Filter):
    """Text or a caption with words that may mean danger right now (``content/crisis``)."""

    async def __call__(self, message: Message, app: AppContext, **_: Any) -> bool:
        return app.crisis.detect(message.text or message.caption)


class NothingListens(Filter):
    """True when no dialog screen is waiting for typed input: no open dialog, or a screen of buttons.

    aiogram_dialog silently redraws a screen that gets a message it has no input for; a person
    who typed something deserves an answer instead, so such messages are taken before the dialogs.
    A screen that does take input owns every message sent to it: give it a second MessageInput
    for the content it cannot use, with a kind answer.
    """

    async def __call__(self, message: Message, dialog_manager: DialogManager | None = None, **_: Any) -> bool:
        if dialog_manager is None or not dialog_manager.has_context():
            return True
        window = dialog_manager.dialog().windows.get(dialog_manager.current_context().state)  # type: ignore[attr-defined]
        return window is None or getattr(window, "on_message", None) is None


class NotADialogButton(Filter):
    """Callback data that no dialog made: aiogram_dialog's is ``<intent id>\x1d<widget id>``.

    Without this, a forged button on an open screen is swallowed by the dialog without a word.
    """

    async def __call__(self, callback: CallbackQuery, **_: Any) -> bool:
        intent_id, sep, widget = (callback.data or "").partition("\x1d")
        return not (intent_id and sep and widget)
