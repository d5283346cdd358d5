"""Informed consent: a few short screens, then two separate questions (her data; taking part).

Opened by her invitation link (``start_data={"participant_id": …}``) or from "My programme". Each
decision is stored with the SHA-256 of exactly the texts she was shown, in her language.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Next, Row, Start, SwitchTo

from bot.i18n import N_
from bot.services import programme
from bot.services.programme import Notice
from db.models import ConsentPurpose, Decision
from dialogs.common.getters import reading, user_id_of
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, crisis_button, menu_button
from dialogs.states import ConsentSG, MenuSG, ProgrammeSG

PURPOSE = N_(
    "<b>Why you are invited</b>\n\n"
    "The restorative programme helps a woman who has come back home and the people close to her "
    "to talk again: calmly, safely and with a trained person beside them.\n\n"
    "Nobody is judged here. The aim is an agreement that you make yourselves: how to live on, "
    "how to support each other, what to do about the children, the home, the work."
)
PURPOSE_RELATIVE = N_(
    "<b>Why you are invited</b>\n\n"
    "{name} has come back home and is taking part in a restorative programme. She would like you "
    "to be part of it: a calm, safe conversation in the family, with a trained person beside you.\n\n"
    "Nobody is judged here. The aim is an agreement you make together: how to live on, how to "
    "support each other, what to do about the children and the home."
)
PRINCIPLES = N_(
    "<b>Four rules of the programme</b>\n\n"
    "🤝 <b>Your free choice.</b> Everything happens only if you agree. You can stop at any moment, "
    "and nothing bad will follow.\n\n"
    "🔒 <b>Confidentiality.</b> What is said at the meetings stays there unless everyone agrees otherwise.\n\n"
    "⚖️ <b>Neutrality.</b> The facilitator is on nobody's side: not an accuser, not a defender, "
    "gives no advice and no verdicts.\n\n"
    "🛡 <b>Safety.</b> At the meetings nobody is interrupted, insulted or pressed."
)
NEXT_STEPS = N_(
    "<b>What happens next</b>\n\n"
    "1. The facilitator meets you on your own first, to listen to you and answer your questions.\n"
    "2. They also meet the other people taking part, each separately.\n"
    "3. If everyone agrees, there is a general meeting where you talk together.\n"
    "4. What you agree on is written down, and later we ask how it is going.\n\n"
    "You pick the meeting times yourself in this bot."
)
WHO_SEES = N_(
    "<b>Who sees what</b>\n\n"
    "• Your curator and your facilitator see your first name, your answers here and your questions.\n"
    "• What you write to a person is read by the team of your region: the family curators and the staff.\n"
    "• The staff of the programme in your region see the course of the programme, and every look "
    "at your case is recorded.\n"
    "• The other participants do not see your answers or your questions.\n"
    "• We never ask about the offence or the sentence."
)
DATA_QUESTION = N_(
    "<b>Question 1 of 2: your data</b>\n\n"
    "May we keep your first name, your answers and your meeting times for as long as the "
    "programme runs? Only the people listed on the previous screen see them.\n\n"
    "You can withdraw this at any time in 📋 My programme."
)
PARTICIPATION_QUESTION = N_(
    "<b>Question 2 of 2: taking part</b>\n\n"
    "Do you agree to take part in the programme: a talk with the facilitator, and a general meeting "
    "if everyone agrees?\n\n"
    "You can change your mind at any moment, and nothing bad will follow."
)

SHOWN = {
    ConsentPurpose.DATA: (PURPOSE, PRINCIPLES, NEXT_STEPS, WHO_SEES, DATA_QUESTION),
    ConsentPurpose.PARTICIPATION: (PURPOSE, PRINCIPLES, NEXT_STEPS, WHO_SEES, PARTICIPATION_QUESTION),
}


def version_of(purpose: ConsentPurpose, *, relative: bool = False) -> str:
    """Hash of the exact texts she saw before deciding, in her language (a relative reads the
    first screen written for a relative)."""
    shown = SHOWN[purpose]
    if relative:
        shown = (PURPOSE_RELATIVE, *shown[1:])
    return programme.text_version(gettext(msgid) for msgid in shown)


async def purpose_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """A relative reads why she is invited in words for a relative, with the woman's first name."""
    async with reading(dialog_manager) as session:
        mine = await programme.my_programmes(session, user_id=user_id_of(dialog_manager))
    place = next((m for m in mine if m.participant_id == _participant(dialog_manager)), None)
    relative = place is not None and place.kind != "woman" and bool(place.woman_name)
    dialog_manager.dialog_data["relative"] = relative
    return {"relative": relative, "woman": not relative, "name": escape(place.woman_name or "") if place else ""}


def _relative(manager: DialogManager) -> bool:
    return bool(manager.dialog_data.get("relative"))


def _participant(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("participant_id", 0))


async def _decide(
    callback: CallbackQuery, manager: DialogManager, purpose: ConsentPurpose, decision: Decision
) -> Notice | None:
    s = scope(manager)
    app = s.app
    i18n = s.i18n
    try:
        async with s.transaction() as session:
            notice = await programme.decide(
                session,
                user_id=callback.from_user.id,
                participant_id=_participant(manager),
                purpose=purpose,
                decision=decision,
                version=version_of(purpose, relative=_relative(manager)),
                locale=i18n.current_locale,
                now=app.now(),
            )
    except programme.Refused:
        await callback.answer(gettext("This button is out of date. Here is the menu."), show_alert=True)
        await manager.start(MenuSG.main, mode=StartMode.RESET_STACK)
        return None
    except programme.NotNow:
        await callback.answer(gettext("This step is already done. Here is your programme."))
        await manager.start(ProgrammeSG.main, mode=StartMode.RESET_STACK)
        return None
    return notice


async def on_data(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    agree = button.widget_id == "data_yes"
    notice = await _decide(callback, manager, ConsentPurpose.DATA, Decision.AGREE if agree else Decision.DECLINE)
    if notice is None:
        return
    if agree:
        await manager.switch_to(ConsentSG.participation)
    else:
        await manager.switch_to(ConsentSG.data_declined)  # the team's notice is in the decision's transaction


async def on_participation(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    agree = button.widget_id == "part_yes"
    notice = await _decide(
        callback, manager, ConsentPurpose.PARTICIPATION, Decision.AGREE if agree else Decision.DECLINE
    )
    if notice is None:
        return
    await manager.switch_to(ConsentSG.agreed if agree else ConsentSG.declined)


async def on_question(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    i18n = s.i18n
    text = (message.text or "").strip()
    if not text:
        await message.answer(gettext("Please write your question in words, in one message."))
        return
    try:
        async with s.transaction() as session:
            await programme.ask_first(
                session,
                user_id=message.from_user.id,  # type: ignore[union-attr]  # private chat: a sender
                participant_id=_participant(manager),
                text=text,
                version=version_of(ConsentPurpose.PARTICIPATION, relative=_relative(manager)),
                locale=i18n.current_locale,
                now=app.now(),
            )
    except programme.Refused:
        await manager.start(MenuSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)
        return
    manager.show_mode = ShowMode.SEND
    await manager.switch_to(ConsentSG.asked)
    # The question also goes to a person, who can answer it in this chat.
    await s.relay.from_participant(message)


async def on_not_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    await message.answer(gettext("I can only pass on a question written in words. Please type it, or press ◀ Back."))


def _page(text: str, state: Any, *, first: bool = False) -> Window:
    buttons: list[Any] = [Next(Tr("Next ▶"), id="next")]
    if not first:
        buttons.insert(0, Button(Tr("◀ Back"), id="back", on_click=_back))
    return Window(Tr(text), Row(*buttons), crisis_button(), state=state)


async def _back(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await manager.back()


def _closing(text: str, state: Any) -> Window:
    """The screen after a decision: where to see it again, the menu, and urgent help."""
    return Window(
        Tr(text),
        Start(Tr("📋 My programme"), id="mine", state=ProgrammeSG.main, mode=StartMode.RESET_STACK),
        menu_button(),
        crisis_button(),
        state=state,
    )


def intro_windows() -> list[Window]:
    return [
        Window(
            Tr(PURPOSE, when=F["woman"]),
            Tr(PURPOSE_RELATIVE, when=F["relative"]),
            Next(Tr("Next ▶"), id="next"),
            crisis_button(),
            getter=purpose_getter,
            state=ConsentSG.purpose,
        ),
        _page(PRINCIPLES, ConsentSG.principles),
        _page(NEXT_STEPS, ConsentSG.next_steps),
        _page(WHO_SEES, ConsentSG.who_sees),
    ]


def question_windows() -> list[Window]:
    return [
        Window(
            Tr(DATA_QUESTION),
            Row(
                Button(Tr("✅ Yes, I agree"), id="data_yes", on_click=on_data),
                Button(Tr("✋ No"), id="data_no", on_click=on_data),
            ),
            Button(Tr("◀ Back"), id="back", on_click=_back),
            crisis_button(),
            state=ConsentSG.data,
        ),
        Window(
            Tr(PARTICIPATION_QUESTION),
            Column(
                Button(Tr("✅ I agree"), id="part_yes", on_click=on_participation),
                Button(Tr("✋ I do not agree"), id="part_no", on_click=on_participation),
                SwitchTo(Tr("❔ I want to ask first"), id="ask", state=ConsentSG.ask),
            ),
            crisis_button(),
            state=ConsentSG.participation,
        ),
        Window(
            Tr(
                "Write your question in one message, in your own words. Your curator will read it and "
                "answer you. Nothing is decided until you say so."
            ),
            MessageInput(on_question, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            SwitchTo(Tr("◀ Back"), id="back", state=ConsentSG.participation),
            crisis_button(),
            state=ConsentSG.ask,
        ),
    ]


def closing_windows() -> list[Window]:
    return [
        _closing(
            N_(
                "Thank you. 🌱 The facilitator will be in touch to find a time for your first talk.\n\n"
                "Everything about your programme is in 📋 My programme. You can withdraw there at any moment."
            ),
            ConsentSG.agreed,
        ),
        _closing(
            N_(
                "Thank you for telling us. Nothing more will happen, and nobody will hold it against you.\n\n"
                "If you change your mind, open 📋 My programme. The help in this bot stays open to you."
            ),
            ConsentSG.declined,
        ),
        _closing(
            N_(
                "All right. Without your consent we keep nothing more about you for the programme, "
                "and it will not go further.\n\n"
                "If you change your mind, open 📋 My programme. The help in this bot stays open to you."
            ),
            ConsentSG.data_declined,
        ),
        _closing(
            N_(
                "Your question is saved. ✉️ Your curator will answer you here or by phone.\n\n"
                "You can decide later, whenever you are ready, in 📋 My programme."
            ),
            ConsentSG.asked,
        ),
    ]


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(*intro_windows(), *question_windows(), *closing_windows())
