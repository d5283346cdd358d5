"""The case's accounting card (Appendix 6) and closing a case with its result, inside the case card.

Fields with codes are filled with buttons; territory, institution, counts and dates are typed.
What the case already knows is prefilled by the service. Buttons carry codes and field keys
only; the service checks the role and the case again on every press.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.i18n import N_
from bot.services import accounting, cases
from bot.services.formatting import format_date
from dialogs.common.getters import fresh_profile, locale_of, reading
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, choices, crisis_button, on_not_text
from dialogs.states import CaseSG

TYPED_LABELS = {
    "territory": N_("Territory"),
    "institution": N_("Institution"),
    "participants": N_("People taking part"),
    "representatives": N_("Their representatives"),
    "situation_date": N_("Date of the situation"),
    "handed_date": N_("Handed to the facilitator"),
    "report_date": N_("Date of the report"),
}
PROMPTS = {
    "territory": N_("Type the territory (district, town), up to 120 characters."),
    "institution": N_("Type the institution, up to 120 characters."),
    "participants": N_("How many people take part? Type a number."),
    "representatives": N_("How many representatives of theirs? Type a number, 0 if none."),
    "situation_date": N_("Type the date of the situation, like 31.10.2026."),
    "handed_date": N_("Type the date the case was handed to the facilitator, like 31.10.2026."),
    "report_date": N_("Type the date of the report, like 31.10.2026."),
}
EDITABLE = tuple(k for k in accounting.FIELDS if k not in ("result", "no_result_reason"))


def _case_id(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


def field_label(key: str, locale: str) -> str:
    if key in TYPED_LABELS:
        return gettext(TYPED_LABELS[key])
    return accounting.field(key, locale).title


def value_text(key: str, value: Any, locale: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, date):
        return format_date(value, locale)
    if key in accounting.CODED:
        return f"{value} · {accounting.words(key, value, locale)}"
    return escape(str(value))


async def card_fields_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    actor = await fresh_profile(dialog_manager)
    locale = locale_of(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            card = await accounting.open_card(session, actor=actor, case_id=_case_id(dialog_manager), now=app.now())
    except cases.Refused:
        return {"gone": True, "ok": False, "can_edit": False, "fields": [], "lines": ""}
    lines = [f"<b>{field_label(k, locale)}</b>: {value_text(k, card.values[k], locale)}" for k in accounting.FIELDS]
    return {
        "gone": False,
        "ok": True,
        "code": card.case_code,
        "lines": "\n".join(lines),
        "can_edit": card.can_edit,
        "fields": [(k, field_label(k, locale)) for k in EDITABLE] if card.can_edit else [],
    }


async def on_field(callback: CallbackQuery, _widget: Any, manager: DialogManager, key: str) -> None:
    if key not in EDITABLE:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["field"] = key
    await manager.switch_to(CaseSG.card_codes if key in accounting.CODED else CaseSG.card_input)


async def codes_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    key = dialog_manager.dialog_data.get("field", "source")
    locale = locale_of(dialog_manager)
    book = accounting.field(key, locale)
    return {
        "title": escape(book.title),
        "section": escape(book.section),
        "codes": [(code, f"{code} · {words}") for code, words in book.codes.items()],
    }


async def _store(manager: DialogManager, raw: str, answer: Any) -> bool:
    """Sets the field; ``answer`` says what went wrong. True when stored."""
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    key = str(manager.dialog_data.get("field", ""))
    try:
        async with s.transaction() as session:
            await accounting.set_field(
                session, actor=actor, case_id=_case_id(manager), key=key, raw=raw, now=app.now(), today=app.today()
            )
    except cases.Refused:
        await answer(gettext("This case is not available to you."))
        return False
    except cases.Invalid:
        await answer(gettext("That does not fit this field. Please try again, or press ◀ Back."))
        return False
    return True


async def on_code(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    async def alert(text: str) -> None:
        await callback.answer(text, show_alert=True)

    if await _store(manager, code, alert):
        await manager.switch_to(CaseSG.card_fields)


async def input_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    key = dialog_manager.dialog_data.get("field", "territory")
    return {"prompt": gettext(PROMPTS.get(key, PROMPTS["territory"]))}


async def on_typed(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    if await _store(manager, message.text or "", message.answer):
        await message.answer(gettext("Saved."))
        await manager.switch_to(CaseSG.card_fields)


# ------------------------------------------------------------------ closing


async def results_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    book = accounting.field("result", locale_of(dialog_manager))
    return {"results": list(book.codes.items())}


async def reasons_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    book = accounting.field("no_result_reason", locale_of(dialog_manager))
    return {"reasons": [(code, f"{code} · {words}") for code, words in book.codes.items()]}


async def _close(callback: CallbackQuery, manager: DialogManager, reason: int | None) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    try:
        async with s.transaction() as session:
            await accounting.close(
                session,
                actor=actor,
                case_id=_case_id(manager),
                result=str(manager.dialog_data.get("result", "")),
                reason=reason,
                now=app.now(),
            )
    except cases.Refused:
        await callback.answer(gettext("This case is not available to you."), show_alert=True)
        return
    except cases.Invalid:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.show_mode = ShowMode.SEND
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext(
            "The case is closed with its result. The report is due within one working day: "
            "put its date on the 🗂 Accounting card, and get the forms with 📄 Documents."
        )
    )
    await manager.switch_to(CaseSG.card)


async def on_result(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if code not in accounting.field("result", "ru").codes:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["result"] = code
    if code in accounting.NEGATIVE:
        await manager.switch_to(CaseSG.close_reason)
        return
    await _close(callback, manager, None)


async def on_reason_code(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if not code.isdigit():
        await callback.answer(gettext("This button is out of date."))
        return
    await _close(callback, manager, int(code))


def card_windows() -> list[Window]:
    to_fields = SwitchTo(Tr("◀ Back"), id="fields", state=CaseSG.card_fields)
    to_card = SwitchTo(Tr("◀ Back"), id="card", state=CaseSG.card)
    return [
        Window(
            Tr("This case is not available to you.", when=F["gone"]),
            Tr("<b>Accounting card · case {code}</b>\n\n{lines}", when=F["ok"]),
            Tr("\nTap a field to fill it in. Nothing about the offence is asked.", when=F["can_edit"]),
            choices("fld", "fields", on_field, when=F["can_edit"]),
            to_card,
            crisis_button(),
            getter=card_fields_getter,
            state=CaseSG.card_fields,
        ),
        Window(
            Format("<b>{title}</b> ({section})"),
            choices("code", "codes", on_code),
            to_fields,
            crisis_button(),
            getter=codes_getter,
            state=CaseSG.card_codes,
        ),
        Window(
            Format("{prompt}"),
            MessageInput(on_typed, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            to_fields,
            crisis_button(),
            getter=input_getter,
            state=CaseSG.card_input,
        ),
        Window(
            Tr("<b>Close the case.</b> What is the result of the programme? It goes on the accounting card."),
            choices("res", "results", on_result),
            to_card,
            crisis_button(),
            getter=results_getter,
            state=CaseSG.close_result,
        ),
        Window(
            Tr("Why was there no positive result?"),
            choices("why", "reasons", on_reason_code),
            SwitchTo(Tr("◀ Back"), id="results", state=CaseSG.close_result),
            crisis_button(),
            getter=reasons_getter,
            state=CaseSG.close_reason,
        ),
    ]
