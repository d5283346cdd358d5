"""Widgets every flow shares: translated text, the crisis button, menu and back buttons."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from aiogram_dialog.widgets.common import WhenCondition
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Column, ScrollingGroup, Select, Start
from aiogram_dialog.widgets.kbd.select import OnItemClick
from aiogram_dialog.widgets.text import Format, Text

from dialogs.states import CrisisSG, HumanSG, MenuSG


class Tr(Text):
    """A gettext message rendered in the reader's language; ``{name}`` fields come from the getter.

    ``pybabel extract -k Tr`` collects these msgids into the catalogs.
    """

    def __init__(self, msgid: str, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.msgid = msgid

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        text = gettext(self.msgid)
        return text.format_map(data) if "{" in text else text


def crisis_button() -> Start:
    return Start(Tr("🆘 Urgent help"), id="sos", state=CrisisSG.main)


def human_button() -> Start:
    """“Write to a person”: on the menu and on every help screen."""
    return Start(Tr("💬 Write to a person"), id="human", state=HumanSG.chat)


def menu_button() -> Start:
    return Start(Tr("☰ Menu"), id="menu", state=MenuSG.main, mode=StartMode.RESET_STACK)


def choices(
    widget_id: str, items: str, on_click: OnItemClick, when: WhenCondition = None, *, page: int | None = None
) -> Column | ScrollingGroup:
    """One button per line from a getter's ``items``: ``(id, label)`` pairs. Only the id (a code or a
    number, never a name) travels in the callback data. ``page``: a list that can grow (the team, the
    catalog) shows that many at a time with ◀ ▶ under them (Telegram takes about 100 buttons a message)."""
    select = Select(
        Format("{item[1]}"),
        id=widget_id,
        item_id_getter=lambda item: item[0],
        items=items,
        on_click=on_click,
    )
    if page is not None:
        return ScrollingGroup(select, id=f"{widget_id}_pg", width=1, height=page, hide_on_single_page=True, when=when)
    return Column(select, when=when)


async def on_not_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    """A screen that takes typed text got a sticker, a photo or a voice message."""
    manager.show_mode = ShowMode.SEND
    await message.answer(gettext("I need text here. Please type it, or press ◀ Back."))
