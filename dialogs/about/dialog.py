"""What a restorative programme is: the principles, the five stages, who sees what. Back/Next."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Back, Next, Row, Start

from bot.services import users
from db.models import Role
from dialogs.common.getters import reading, user_id_of
from dialogs.common.widgets import Tr, crisis_button, menu_button
from dialogs.states import AboutSG, SupportSG

_BACK = Tr("◀ Back")


async def about_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """A relative reads the programme explained to a relative, never to someone released."""
    async with reading(dialog_manager) as session:
        profile = await users.get_profile(session, user_id_of(dialog_manager))
    return {"relative": bool(profile and profile.role == Role.RELATIVE)}


_NEXT = Tr("Next ▶")


def intro_windows() -> list[Window]:
    return [
        Window(
            Tr(
                "<b>What is a restorative programme</b>\n\n"
                "It is a calm, respectful conversation in a family where a woman has come back home: "
                "she, you and the other people close to her. Together you can talk about what matters: "
                "how to live together again, how to be with the children, how to rebuild trust.\n\n"
                "The conversation is led by a trained facilitator from a state social services centre. "
                "You meet this person beforehand and decide whether you are ready to talk with them.",
                when=F["relative"],
            ),
            Tr(
                "<b>What is a restorative programme</b>\n\n"
                "It is a calm, respectful conversation between you and the people close to you. "
                "Together you can talk about what matters to you: how to live after release, "
                "how to be with your children, how to rebuild trust.\n\n"
                "The conversation is led by a trained facilitator from a state social services centre. "
                "You meet this person beforehand and decide whether you are ready to talk with them.",
                when=~F["relative"],
            ),
            Row(menu_button(), Next(_NEXT)),
            crisis_button(),
            getter=about_getter,
            state=AboutSG.intro,
        ),
        Window(
            Tr(
                "<b>The rules of the programme (1 of 2)</b>\n\n"
                "🤝 <b>Only if you want it.</b> A meeting happens only if you and everyone you invite agree. "
                "You can change your mind at any moment, and nothing bad will happen to you because of it.\n\n"
                "🔒 <b>What is said stays there.</b> The facilitator takes nothing outside the meeting "
                "without your agreement."
            ),
            Row(Back(_BACK), Next(_NEXT)),
            crisis_button(),
            state=AboutSG.principles,
        ),
    ]


def more_windows() -> list[Window]:
    return [
        Window(
            Tr(
                "<b>The rules of the programme (2 of 2)</b>\n\n"
                "⚖️ <b>Nobody takes sides.</b> The facilitator supports everyone equally. "
                "They do not accuse or defend anyone, give no advice and pass no judgement.\n\n"
                "🕊 <b>It is safe.</b> At the meeting nobody is interrupted, insulted or pressured."
            ),
            Row(Back(_BACK), Next(_NEXT)),
            crisis_button(),
            state=AboutSG.safety,
        ),
        Window(
            Tr(
                "<b>How it goes, step by step</b>\n\n"
                "1. <b>Getting ready.</b> A family curator and a facilitator are chosen to work with you.\n"
                "2. <b>Meetings one by one.</b> The facilitator meets you and your family separately. "
                "Together you decide what to talk about and whom else to invite.\n"
                "3. <b>A shared meeting</b>, only if everyone agrees. You talk and come to an agreement, "
                "spoken or written.\n"
                "4. <b>The results are written down.</b>\n"
                "5. <b>Afterwards</b> we ask how you are and how the agreement is going."
            ),
            Row(Back(_BACK), Next(_NEXT)),
            crisis_button(),
            state=AboutSG.stages,
        ),
        Window(
            Tr(
                "<b>Who will see what I write?</b>\n\n"
                "• What you write to a person is read by the team of your region: the family curators "
                "and the programme staff. Not the other participants, not your family.\n"
                "• We never ask about your sentence or what happened before.\n"
                "• We do not keep your phone number or your surname. If you join a programme, the team "
                "writes down your first name.\n"
                "• You can delete all of it at any time: /privacy."
            ),
            Row(Back(_BACK), menu_button()),
            Start(Tr("🧭 Where to get help"), id="support", state=SupportSG.categories),
            crisis_button(),
            state=AboutSG.who_sees,
        ),
    ]


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(*intro_windows(), *more_windows())
