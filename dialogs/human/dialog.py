"""“Write to a person”: whatever she sends here — words, a voice message, a photo — goes to a curator,
who answers in this same chat."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput

from bot.context import AppContext
from bot.jobs.relaying import Relay
from bot.services import relay
from dialogs.common.getters import reading, user_id_of
from dialogs.common.widgets import Tr, crisis_button, menu_button
from dialogs.states import HumanSG


async def chat_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app: AppContext = dialog_manager.middleware_data["app"]
    async with reading(dialog_manager) as session:
        thread = await relay.by_user(session, user_id_of(dialog_manager))
        name = None
        if thread is not None and thread.curator_id is not None and app.settings.show_curator_name:
            from bot.services import users

            name = await users.display_name(session, thread.curator_id)
    return {"curator": name or "", "named": bool(name)}


async def on_message(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    relay_: Relay = manager.middleware_data["relay"]
    manager.show_mode = ShowMode.NO_UPDATE  # the relay answers for itself; no screen under every message
    await relay_.from_participant(message)


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr(
                "<b>💬 Write to a person</b>\n\n"
                "Write here what is on your mind, in your own words. You can also send a voice message "
                "or a photo. A person from the team will read it and answer in this chat.\n\n"
                "Nobody here judges you. If it is urgent or you are in danger, press 🆘."
            ),
            Tr("Your curator: {curator}.", when=F["named"]),
            MessageInput(on_message),
            menu_button(),
            crisis_button(),
            getter=chat_getter,
            state=HumanSG.chat,
        ),
    )
