"""Filters applied to routers and handlers: roles, crisis words, screens that take no typing."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram_dialog.api.entities import Context, Stack
from magic_filter import MagicFilter

from bot.context import AppContext
from bot.services.users import Profile
from db.models import Role


class Quick(Filter):
    """A magic filter (``Quick(F.data == "x")``) checked in the event loop. aiogram runs a bare
    ``F…`` filter, like any plain function, through ``asyncio.to_thread`` on every update it is
    tried on; a ``Filter`` subclass with an async ``__call__`` is awaited directly (issue 12)."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


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

    Filters run before aiogram_dialog's manager middleware, so the open screen is read from the
    context its outer middleware has already loaded (``aiogd_context``).
    """

    def __init__(self, input_states: frozenset[State]) -> None:
        self.input_states = input_states

    async def __call__(
        self, message: Message, aiogd_context: Context | None = None, aiogd_stack: Stack | None = None, **_: Any
    ) -> bool:
        if aiogd_context is None or aiogd_context.state not in self.input_states:
            return True
        # A reply to an old message makes aiogram_dialog load that message's screen: unless it is the
        # screen open now, nothing waits for this text.
        return aiogd_stack is not None and aiogd_stack.last_intent_id() != aiogd_context.id


def input_states(dialogs: Router) -> frozenset[State]:
    """The states of every window that takes typed input."""
    return frozenset(
        state
        for dialog in dialogs.sub_routers
        for state, window in getattr(dialog, "windows", {}).items()
        if getattr(window, "on_message", None) is not None
    )


class NotADialogButton(Filter):
    """Callback data that no dialog made: aiogram_dialog's is ``<intent id>\x1d<widget id>``.

    Without this, a forged button on an open screen is swallowed by the dialog without a word.
    """

    async def __call__(self, callback: CallbackQuery, **_: Any) -> bool:
        intent_id, sep, widget = (callback.data or "").partition("\x1d")
        return not (intent_id and sep and widget)
