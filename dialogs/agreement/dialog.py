"""Recording the agreement after the general meeting (the facilitator), and "My agreements" (a
participant). Items: what, who is responsible (one or more), by a day or a repeat rule."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Column, Multiselect, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.context import AppContext
from bot.i18n import N_
from bot.services import agreements
from bot.services.agreements import ItemDraft
from bot.services.cases import Invalid, Refused
from bot.services.formatting import format_date
from bot.wording.agreements import WEEKDAY_NAMES, when_text
from dialogs.common.calendar import LocalizedCalendar
from dialogs.common.getters import fresh_profile, locale_of, reading, user_id_of
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button, on_not_text
from dialogs.states import AgreementSG, MyAgreementsSG

INVALID = {
    "items": N_("Add at least one item."),
    "valid_until": N_("The agreement must be valid until a day in the future."),
    "text": N_("Please write the item in up to 500 characters."),
    "responsible": N_("Choose who is responsible, among those taking part."),
    "due_date": N_("The day must be between today and the end of the agreement."),
}


def invalid_text(field: str) -> str:
    """Why the agreement cannot be recorded like this, in the reader's words."""
    msgid = INVALID.get(field, INVALID["items"])
    return gettext(msgid)


def _app(manager: DialogManager) -> AppContext:
    return manager.middleware_data["app"]


def _case_id(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


def _items(manager: DialogManager) -> list[dict[str, Any]]:
    return manager.dialog_data.setdefault("items", [])


# ------------------------------------------------------------ the facilitator


async def on_item_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    text = " ".join((message.text or "").split())
    if not text or len(text) > agreements.ITEM_MAX:
        await message.answer(invalid_text("text"))
        return
    manager.dialog_data["draft"] = {"text": text}
    await manager.find("who").reset_checked()  # type: ignore[union-attr]  # a widget of this dialog
    await manager.switch_to(AgreementSG.who)


async def people_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    from bot.services import cases

    app = _app(dialog_manager)
    actor = await fresh_profile(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            view = await cases.open_case(
                session, actor=actor, case_id=_case_id(dialog_manager), rules=app.rules, now=app.now()
            )
    except Refused:
        return {"people": []}
    return {"people": [(str(p.id), p.first_name) for p in view.participants if p.participation_consent == "agree"]}


async def on_people_done(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    checked = manager.find("who").get_checked()  # type: ignore[union-attr]  # a widget of this dialog
    if not checked:
        await callback.answer(invalid_text("responsible"), show_alert=True)
        return
    manager.dialog_data["draft"]["responsible"] = [int(i) for i in checked]
    await manager.switch_to(AgreementSG.when)


async def when_getter(**_: Any) -> dict[str, Any]:
    rules = [("date", gettext("By a day")), ("daily", gettext("every day"))]
    rules += [(f"weekly:{n}", gettext(name)) for n, name in enumerate(WEEKDAY_NAMES)]
    return {"rules": rules}


async def on_rule(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id == "date":
        await manager.switch_to(AgreementSG.due)
        return
    try:
        agreements.parse_repeat(item_id)
    except Invalid:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["draft"]["repeat"] = item_id
    _items(manager).append(manager.dialog_data.pop("draft"))
    await manager.switch_to(AgreementSG.items)


async def on_due(callback: CallbackQuery, _widget: Any, manager: DialogManager, day: date) -> None:
    manager.dialog_data["draft"]["due"] = day.isoformat()
    _items(manager).append(manager.dialog_data.pop("draft"))
    await manager.switch_to(AgreementSG.items)


async def items_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    lines = []
    for n, item in enumerate(_items(dialog_manager), 1):
        due = date.fromisoformat(item["due"]) if item.get("due") else None
        lines.append(f"{n}. {escape(item['text'])} · {when_text(due, item.get('repeat'), locale)}")
    return {"list": "\n".join(lines), "count": len(lines), "some": bool(lines)}


async def on_until(callback: CallbackQuery, _widget: Any, manager: DialogManager, day: date) -> None:
    manager.dialog_data["until"] = day.isoformat()
    await manager.switch_to(AgreementSG.consequences)


async def on_consequences(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    text = " ".join((message.text or "").split())
    if len(text) > agreements.ITEM_MAX:
        await message.answer(invalid_text("text"))
        return
    manager.dialog_data["consequences"] = text or None
    await manager.switch_to(AgreementSG.confirm)


async def on_no_consequences(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.dialog_data["consequences"] = None
    await manager.switch_to(AgreementSG.confirm)


def _drafts(manager: DialogManager) -> list[ItemDraft]:
    return [
        ItemDraft(
            text=item["text"],
            responsible=tuple(item["responsible"]),
            due_date=date.fromisoformat(item["due"]) if item.get("due") else None,
            repeat=item.get("repeat"),
        )
        for item in _items(manager)
    ]


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    data = await items_getter(dialog_manager)
    locale = locale_of(dialog_manager)
    until = dialog_manager.dialog_data.get("until")
    data["until"] = format_date(date.fromisoformat(until), locale) if until else "?"
    data["consequences"] = escape(dialog_manager.dialog_data.get("consequences") or "—")
    return data


async def on_send(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await fresh_profile(manager)
    try:
        async with app.db() as session:
            await agreements.record(
                session,
                actor=actor,
                case_id=_case_id(manager),
                items=_drafts(manager),
                valid_until=date.fromisoformat(manager.dialog_data["until"]),
                consequences=manager.dialog_data.get("consequences"),
                now=app.now(),
                rules=agreements.Rules(app.settings.checkin_days_before, app.settings.escalate_after_days),
                survey_expire_days=app.settings.survey_expire_days,
            )
    except Refused:
        await callback.answer(gettext("This case is not available to you."), show_alert=True)
        return
    except Invalid as exc:
        await callback.answer(invalid_text(exc.field), show_alert=True)
        return
    except KeyError:
        await callback.answer(gettext("Something is missing. Please start again."), show_alert=True)
        return
    await callback.answer(gettext("Recorded. Everyone gets the text to confirm."))
    await manager.done()  # each participant's "is this what you agreed?" is a notice in the recording's transaction


def record_dialog() -> Dialog:
    cancel = Cancel(Tr("✖️ Cancel"))
    return Dialog(
        Window(
            Tr("<b>📝 The agreement</b>\n\nItems so far:\n{list}", when=F["some"]),
            Tr("<b>📝 The agreement</b>\n\nWhat did they agree on? Add the items one by one.", when=~F["some"]),
            SwitchTo(Tr("➕ Add an item"), id="add", state=AgreementSG.text),
            SwitchTo(Tr("➡️ Next: valid until"), id="next", state=AgreementSG.until, when=F["some"]),
            cancel,
            crisis_button(),
            getter=items_getter,
            state=AgreementSG.items,
        ),
        Window(
            Tr("What is the item? One message, like “Call the children every Sunday”."),
            MessageInput(on_item_text, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            SwitchTo(Tr("◀ Back"), id="back", state=AgreementSG.items),
            crisis_button(),
            state=AgreementSG.text,
        ),
        Window(
            Tr("Who is responsible? Tap one or more, then Done."),
            Column(
                Multiselect(
                    Format("✅ {item[1]}"),
                    Format("{item[1]}"),
                    id="who",
                    item_id_getter=lambda item: item[0],
                    items="people",
                )
            ),
            Button(Tr("Done"), id="who_done", on_click=on_people_done),
            SwitchTo(Tr("◀ Back"), id="back", state=AgreementSG.items),
            crisis_button(),
            getter=people_getter,
            state=AgreementSG.who,
        ),
        Window(
            Tr("When?"),
            choices("rule", "rules", on_rule),
            SwitchTo(Tr("◀ Back"), id="back", state=AgreementSG.items),
            crisis_button(),
            getter=when_getter,
            state=AgreementSG.when,
        ),
        Window(
            Tr("By which day?"),
            LocalizedCalendar(id="due", on_click=on_due, days_ahead=400),
            SwitchTo(Tr("◀ Back"), id="back", state=AgreementSG.when),
            crisis_button(),
            state=AgreementSG.due,
        ),
        Window(
            Tr("Valid until which day?"),
            LocalizedCalendar(id="until", on_click=on_until, days_ahead=800),
            SwitchTo(Tr("◀ Back"), id="back", state=AgreementSG.items),
            crisis_button(),
            state=AgreementSG.until,
        ),
        Window(
            Tr("What happens if an item is not kept? One message — or skip."),
            MessageInput(on_consequences, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("Skip"), id="skip", on_click=on_no_consequences),
            crisis_button(),
            state=AgreementSG.consequences,
        ),
        Window(
            Tr(
                "<b>Send this agreement?</b>\n\n{list}\n\nValid until {until}.\n"
                "If an item is not kept: {consequences}\n\n"
                "Each participant gets the text and confirms it or says what is not right."
            ),
            Button(Tr("✅ Send to everyone"), id="send", on_click=on_send),
            SwitchTo(Tr("◀ Back"), id="back", state=AgreementSG.items),
            crisis_button(),
            getter=confirm_getter,
            state=AgreementSG.confirm,
        ),
    )


# ------------------------------------------------------------ "my agreements"


async def mine_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        items = await agreements.my_items(session, user_id=user_id_of(dialog_manager), today=app.today())
    lines = []
    for item in items:
        parts = [f"• {escape(item.text)}"]
        if item.due:
            parts.append(gettext("next: {day}").format(day=format_date(item.due, locale)))
        if item.done:
            parts.append(gettext("kept {n} times 🌱").format(n=item.done))
        lines.append(" · ".join(parts))
    return {"list": "\n".join(lines), "some": bool(lines)}


def mine_dialog() -> Dialog:
    return Dialog(
        Window(
            Tr("<b>📜 My agreements</b>\n\nWhat you are responsible for:\n{list}", when=F["some"]),
            Tr("<b>📜 My agreements</b>\n\nNothing here yet.", when=~F["some"]),
            menu_button(),
            crisis_button(),
            getter=mine_getter,
            state=MyAgreementsSG.main,
        ),
    )
