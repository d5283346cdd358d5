"""Small helpers the routers share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode

from bot.context import AppContext
from bot.services import audit
from bot.services.users import TEAM_ROLES, Profile

if TYPE_CHECKING:
    from bot.relay import Relay
from dialogs.states import CrisisSG, MenuSG


async def show_menu(dialog_manager: DialogManager) -> None:
    await dialog_manager.start(MenuSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def show_again_or_menu(dialog_manager: DialogManager) -> None:
    """Puts the current screen (or the menu) back under her eyes as a new message."""
    if dialog_manager.has_context():
        await dialog_manager.show(ShowMode.SEND)
    else:
        await show_menu(dialog_manager)


async def open_crisis(dialog_manager: DialogManager) -> None:
    """Over whatever she was doing, so "Back" returns her there; never stacked twice."""
    if dialog_manager.has_context() and dialog_manager.current_context().state == CrisisSG.main:
        await dialog_manager.show(ShowMode.SEND)
    else:
        await dialog_manager.start(CrisisSG.main, show_mode=ShowMode.SEND)


async def refuse_button(callback: CallbackQuery, app: AppContext, kind: str) -> None:
    """A button whose data does not parse (forged, or from another version): answered kindly, and
    the refusal audited with the kind of button only (the data itself may be anything)."""
    await callback.answer(gettext("This button is out of date."))
    async with app.db() as session:
        await audit.denied(
            session,
            actor_id=callback.from_user.id,
            object_type="callback",
            object_id=kind,
            attempted="forged_button",
            now=app.now(),
        )


async def crisis_first(message: Message, relay: Relay, profile: Profile) -> None:
    """Crisis words, wherever they come: a person is told at once (unless she is on the team herself)
    and she is answered first; the caller opens the crisis screen after this."""
    if profile.role not in TEAM_ROLES:
        await relay.from_participant(message, urgent=True)
    await message.answer(
        gettext(
            "It sounds like things are very hard right now. You are not alone. "
            "Here are people who will help straight away:"
        )
    )
