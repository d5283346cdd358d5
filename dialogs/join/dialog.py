"""“I want to take part”: with no invitation link, a few plain questions she may skip; the staff of
her region get a card they turn into a case with one press."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, SwitchTo

from bot.context import AppContext
from bot.services import join
from bot.wording.labels import RELEASE_LABELS
from dialogs.common.getters import current_region, locale_of, reading, region_name, user_id_of
from dialogs.common.widgets import Tr, crisis_button, human_button, menu_button
from dialogs.states import JoinSG


async def on_name(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    manager.dialog_data["name"] = (message.text or "").strip()[:40]
    await manager.switch_to(JoinSG.release)


async def on_note(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    manager.dialog_data["note"] = (message.text or "").strip()[:500]
    await manager.switch_to(JoinSG.confirm)


async def on_not_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    await message.answer(gettext("Please type it in words, or press «Skip»."))


async def on_release(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["release"] = (button.widget_id or "").removeprefix("rel_")
    await manager.switch_to(JoinSG.note)


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    data = dialog_manager.dialog_data
    async with reading(dialog_manager) as session:
        _code, region = await current_region(dialog_manager, session)
    return {
        "name": escape(data.get("name") or "") or gettext("not said"),
        "release": gettext(RELEASE_LABELS.get(data.get("release"), RELEASE_LABELS[None])),
        "note": escape(data.get("note") or "") or gettext("not said"),
        "region_name": region_name(region, locale_of(dialog_manager)),
    }


async def on_send(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app: AppContext = manager.middleware_data["app"]
    data = manager.dialog_data
    async with reading(manager) as session:
        code, _region = await current_region(manager, session)
    async with app.db() as session:
        await join.submit(
            session,
            user_id=user_id_of(manager),
            region_code=code,
            first_name=data.get("name"),
            release=data.get("release"),
            note=data.get("note"),
            now=app.now(),
        )
    await manager.switch_to(JoinSG.sent)  # the staff's notice is in the request's transaction


def _skip(next_state: Any) -> SwitchTo:
    return SwitchTo(Tr("Skip ▶"), id=f"skip_{next_state.state.split(':')[-1]}", state=next_state)


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr(
                "<b>🤝 Taking part in the programme</b>\n\n"
                "You do not need an invitation link. Answer a few short questions, and the team of your "
                "region will write to you here. You can skip any question.\n\n"
                "A <b>restorative programme</b> is a calm talk in your family, led by a trained, neutral "
                "person. A <b>curator</b> is a social worker who supports your family along the way."
            ),
            SwitchTo(Tr("Start ▶"), id="start", state=JoinSG.name),
            menu_button(),
            crisis_button(),
            state=JoinSG.intro,
        ),
        Window(
            Tr("<b>Question 1 of 3</b>\n\nHow may we call you? Your first name is enough, no surname."),
            MessageInput(on_name, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            _skip(JoinSG.release),
            crisis_button(),
            state=JoinSG.name,
        ),
        Window(
            Tr("<b>Question 2 of 3</b>\n\nWhen are you released, or when were you?"),
            Column(
                Button(Tr("I am already out"), id="rel_released", on_click=on_release),
                Button(Tr("Within six months"), id="rel_soon", on_click=on_release),
                Button(Tr("Later than that"), id="rel_later", on_click=on_release),
            ),
            _skip(JoinSG.note),
            crisis_button(),
            state=JoinSG.release,
        ),
        Window(
            Tr(
                "<b>Question 3 of 3</b>\n\nIs there anything you want the team to know? For example, "
                "whom you would like to talk with. Write in your own words, or skip."
            ),
            MessageInput(on_note, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            _skip(JoinSG.confirm),
            crisis_button(),
            state=JoinSG.note,
        ),
        Window(
            Tr(
                "<b>Send the request?</b>\n\nFirst name: {name}\nRelease: {release}\nIn your words: {note}\n"
                "Region: {region_name}\n\nIt goes to the team of your region. Nothing is decided until you "
                "say so."
            ),
            Row(
                Button(Tr("✅ Send"), id="send", on_click=on_send),
                SwitchTo(Tr("✏️ Start again"), id="again", state=JoinSG.name),
            ),
            menu_button(),
            crisis_button(),
            getter=confirm_getter,
            state=JoinSG.confirm,
        ),
        Window(
            Tr(
                "Sent. 🌱 The team of your region has your request and will write to you here. "
                "Meanwhile you can write to a person at any time."
            ),
            human_button(),
            menu_button(),
            crisis_button(),
            state=JoinSG.sent,
        ),
    )
