"""📄 Documents (the agreement, the protocol, the report as DOCX) and 📝 the protocol's free fields,
from the case card. The files go to whoever pressed and to the case's facilitator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.i18n import N_
from bot.services import accounting, cases, documents
from db.models import Case
from dialogs.common.getters import fresh_profile
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, crisis_button, on_not_text
from dialogs.states import CaseSG

log = logging.getLogger(__name__)
QUESTIONS = {
    "position_1": N_("Protocol, 1 of 6. The woman's position: what she said at the meeting."),
    "position_2": N_("Protocol, 2 of 6. The family's position: what they said."),
    "agreed": N_("Protocol, 3 of 6. What did they agree on? Or, if they did not agree, why?"),
    "no_repeat": N_("Protocol, 4 of 6. «How do we make sure this does not happen again?» What did they say?"),
    "notes": N_("Protocol, 5 of 6. Notes, if any."),
    "further": N_("Protocol, 6 of 6. Further meetings: what did they say about them?"),
}


def _case_id(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


async def on_documents(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    try:
        async with s.transaction() as session:
            context = await documents.context_of(session, actor=actor, case_id=_case_id(manager), now=app.now())
    except cases.Refused:
        await callback.answer(gettext("This case is not available to you."), show_alert=True)
        return
    files = await asyncio.to_thread(documents.render_all, context)
    async with s.transaction() as session:
        case = await session.get(Case, _case_id(manager))
        facilitator_id = case.facilitator_id if case else None
        await session.commit()
    recipients = [actor.user_id]
    if facilitator_id is not None and facilitator_id != actor.user_id:
        recipients.append(facilitator_id)
    bot = callback.bot
    assert bot is not None
    for recipient in recipients:
        try:
            for doc in files:
                await bot.send_document(
                    recipient,
                    BufferedInputFile(doc.content, filename=doc.filename),
                    caption=gettext("Case {code}: {form}").format(
                        code=context["code"], form=gettext(FORM_NAMES[doc.form])
                    ),
                )
        except TelegramAPIError as exc:
            log.warning("documents not delivered: recipient=%s error=%s", recipient, type(exc).__name__)
    manager.show_mode = ShowMode.SEND


FORM_NAMES = {
    "agreement": N_("the agreement (Appendix 3), to sign"),
    "protocol": N_("the protocol of the general meeting, to sign"),
    "report": N_("the report on the programme"),
}


# ------------------------------------------------------------------ the protocol's free fields


def _step(manager: DialogManager) -> int:
    return int(manager.dialog_data.get("protocol_step", 0))


async def protocol_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    step = min(_step(dialog_manager), len(accounting.PROTOCOL_FIELDS) - 1)
    return {"question": gettext(QUESTIONS[accounting.PROTOCOL_FIELDS[step]])}


async def _advance(manager: DialogManager, answer: str | None, reply: Any) -> None:
    s = scope(manager)
    step = _step(manager)
    answers: dict[str, str] = dict(manager.dialog_data.get("protocol", {}))
    if answer:
        answers[accounting.PROTOCOL_FIELDS[step]] = answer
    manager.dialog_data["protocol"] = answers
    if step + 1 < len(accounting.PROTOCOL_FIELDS):
        manager.dialog_data["protocol_step"] = step + 1
        return
    app = s.app
    actor = await fresh_profile(manager)
    manager.dialog_data["protocol_step"] = 0
    manager.dialog_data.pop("protocol", None)
    try:
        async with s.transaction() as session:
            await accounting.save_protocol(
                session, actor=actor, case_id=_case_id(manager), fields=answers, now=app.now()
            )
    except cases.Refused:
        await reply(gettext("This case is not available to you."))
        await manager.switch_to(CaseSG.card)
        return
    await reply(gettext("The protocol is saved. Press 📄 Documents to get it ready to sign."))
    await manager.switch_to(CaseSG.card)


async def on_protocol_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    text = (message.text or "").strip()
    if len(text) > accounting.PROTOCOL_MAX:
        await message.answer(gettext("Please keep it under 2000 characters."))
        return
    await _advance(manager, text, message.answer)


async def on_protocol_skip(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    async def reply(text: str) -> None:
        await callback.message.answer(text)  # type: ignore[union-attr]  # a button's message

    await _advance(manager, None, reply)


async def _restart(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.dialog_data["protocol_step"] = 0
    manager.dialog_data.pop("protocol", None)


def protocol_windows() -> list[Window]:
    return [
        Window(
            Format("{question}"),
            MessageInput(on_protocol_text, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("Skip ➡️"), id="skip", on_click=on_protocol_skip),
            SwitchTo(Tr("◀ Back"), id="card", state=CaseSG.card, on_click=_restart),
            crisis_button(),
            getter=protocol_getter,
            state=CaseSG.protocol,
        ),
    ]
