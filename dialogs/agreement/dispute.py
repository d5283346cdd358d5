"""“This is not right”: a participant answers the agreement sent to her with what is not right in
it; the facilitator is told (``handlers/agreements.py`` starts this dialog from the button)."""

from __future__ import annotations

from aiogram.types import ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput

from bot.services import agreements
from bot.services.cases import Refused
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, crisis_button, menu_button
from dialogs.states import DisputeSG


async def on_dispute(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    s = scope(manager)
    text = " ".join((message.text or "").split())
    manager.show_mode = ShowMode.SEND
    if not text:
        await message.answer(gettext("Please write in words what is not right."))
        return
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    try:
        async with s.transaction() as session:  # the facilitator's notice is in its transaction
            await agreements.acknowledge(
                session,
                user_id=message.chat.id,
                agreement_id=int(data.get("agreement_id", 0)),
                confirmed=False,
                comment=text[:1000],
                now=s.app.now(),
            )
    except Refused:
        await message.answer(gettext("This button is out of date."))
        await manager.done()
        return
    await message.answer(gettext("Thank you. The facilitator will read it and get in touch."))
    await manager.done()


async def on_dispute_not_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    await message.answer(gettext("Please write in words what is not right."))


def dispute_dialog() -> Dialog:
    return Dialog(
        Window(
            Tr("What is not right? Write it in your own words; the facilitator will read it."),
            MessageInput(on_dispute, content_types=[ContentType.TEXT]),
            MessageInput(on_dispute_not_text),
            menu_button(),
            crisis_button(),
            state=DisputeSG.text,
        ),
    )
