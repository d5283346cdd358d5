""" "My programme": where things are, who her people are, her own decisions, and whom to invite.

Withdrawing is two taps from the menu (📋 My programme → 🚫 Withdraw), with a way back on the next
screen; the facilitator and the curator are told at once, the other participants never learn who.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Row, Start, SwitchTo
from aiogram_dialog.widgets.text import Multi

from bot.services import programme
from bot.services.programme import MyProgramme
from bot.wording.labels import APPROVALS, DECISIONS, RELATIONS, STAGE_NEXT, STAGE_PLAIN, label
from db.models import Approval, ConsentPurpose, Decision
from dialogs.common.getters import reading, user_id_of
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button
from dialogs.consent.dialog import version_of
from dialogs.states import ConsentSG, MyAgreementsSG, MyMeetingsSG, ProgrammeSG


async def _mine(manager: DialogManager) -> MyProgramme | None:
    async with reading(manager) as session:
        found = await programme.my_programmes(session, user_id=user_id_of(manager))
    return found[0] if found else None


def _person(name: str | None, nobody: str) -> str:
    """A team member's first name; "appointed" when the team has not named them yet."""
    if name:
        return escape(name)
    return gettext("appointed") if name == "" else nobody


async def main_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    mine = await _mine(dialog_manager)
    if mine is None:
        return {
            "none": True,
            "some": False,
            "can_withdraw": False,
            "can_withdraw_data": False,
            "undecided": False,
            "is_woman": False,
            "is_relative": False,
        }
    nobody = gettext("not appointed yet")
    stage_text = gettext(STAGE_PLAIN[mine.stage])
    if mine.stage == 1 and mine.facilitator_name is not None:  # one consistent thing: she is not "being found" any more
        stage_text = gettext("Your facilitator is chosen; the team is getting ready for your first talk.")
    waiting = sum(1 for r in mine.relatives if r.approval in ("pending", "later") and not r.answered)
    return {
        "none": False,
        "some": True,
        "stage_text": stage_text,
        "is_relative": mine.kind != "woman" and bool(mine.woman_name),
        "woman": escape(mine.woman_name or ""),
        "next_text": gettext(STAGE_NEXT[mine.stage]),
        "curator": _person(mine.curator_name, nobody),
        "facilitator": _person(mine.facilitator_name, nobody),
        "data_state": label(DECISIONS, mine.data_consent),
        "part_state": label(DECISIONS, mine.participation_consent),
        "can_withdraw": mine.participation_consent == Decision.AGREE,
        "can_withdraw_data": mine.data_consent == Decision.AGREE,
        "undecided": mine.participation_consent != Decision.AGREE,
        "is_woman": mine.kind == "woman" and bool(mine.relatives),
        "waiting": waiting,
        "has_waiting": waiting > 0,
    }


async def _withdraw(callback: CallbackQuery, manager: DialogManager, purpose: ConsentPurpose) -> None:
    s = scope(manager)
    app = s.app
    mine = await _mine(manager)
    if mine is None:
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with s.transaction() as session:
            await programme.decide(
                session,
                user_id=callback.from_user.id,
                participant_id=mine.participant_id,
                purpose=purpose,
                decision=Decision.WITHDRAW,
                version=version_of(purpose, relative=mine.kind != "woman" and bool(mine.woman_name)),
                locale=s.i18n.current_locale,
                now=app.now(),
            )
    except (programme.NotNow, programme.Refused):
        await callback.answer(gettext("There is nothing to withdraw now."))
        return
    manager.dialog_data["withdrew"] = purpose.value
    await manager.switch_to(ProgrammeSG.withdrawn)  # the team's notice is in the decision's transaction


async def on_withdraw(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _withdraw(callback, manager, ConsentPurpose.PARTICIPATION)


async def on_withdraw_data(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _withdraw(callback, manager, ConsentPurpose.DATA)


async def on_decide(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    mine = await _mine(manager)
    if mine is None:
        await callback.answer(gettext("This button is out of date."))
        return
    await manager.start(ConsentSG.purpose, data={"participant_id": mine.participant_id})


async def relatives_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    mine = await _mine(dialog_manager)
    people = mine.relatives if mine and mine.kind == "woman" else ()
    return {
        "people": [
            (
                str(r.participant_id),
                "{name} · {relation} · {state}".format(
                    name=r.first_name,
                    relation=label(RELATIONS, r.relation),
                    state=gettext("has answered") if r.answered else label(APPROVALS, r.approval),
                ),
            )
            for r in people
        ],
        "empty": not people,
    }


async def on_relative(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    mine = await _mine(manager)
    chosen = next((r for r in (mine.relatives if mine else ()) if str(r.participant_id) == item_id), None)
    if chosen is None:
        async with reading(manager) as session:
            await programme.refuse(
                session,
                user_id=callback.from_user.id,
                participant_id=item_id[:16],
                attempted="open_relative",
                now=manager.middleware_data["app"].now(),
            )
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["relative_id"] = chosen.participant_id
    await manager.switch_to(ProgrammeSG.relative)


async def relative_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    mine = await _mine(dialog_manager)
    wanted = dialog_manager.dialog_data.get("relative_id")
    chosen = next((r for r in (mine.relatives if mine else ()) if r.participant_id == wanted), None)
    if chosen is None:
        return {"name": "", "relation": "", "state": "", "open": False, "answered": True}
    return {
        "name": escape(chosen.first_name),
        "relation": label(RELATIONS, chosen.relation),
        "state": label(APPROVALS, chosen.approval),
        "open": not chosen.answered,
        "answered": chosen.answered,
    }


async def on_relative_answer(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    approval = {"rel_yes": Approval.APPROVED, "rel_no": Approval.DECLINED, "rel_later": Approval.LATER}[
        button.widget_id or ""
    ]
    try:
        async with s.transaction() as session:
            await programme.decide_relative(
                session,
                user_id=callback.from_user.id,
                relative_id=int(manager.dialog_data.get("relative_id", 0)),
                approval=approval,
                now=app.now(),
                ttl_days=app.settings.invite_ttl_days,
            )
    except programme.Refused:
        await callback.answer(gettext("This button is out of date."))
        await manager.switch_to(ProgrammeSG.relatives)
        return
    except programme.NotNow:
        await callback.answer(gettext("This person has already answered, so it cannot be changed here."))
        await manager.switch_to(ProgrammeSG.relatives)
        return
    await callback.answer(
        {
            Approval.APPROVED: gettext("Thank you. The team will pass the invitation on."),
            Approval.DECLINED: gettext("All right. Nobody will invite this person."),
            Approval.LATER: gettext("All right. You can decide later."),
        }[approval]
    )
    await manager.switch_to(ProgrammeSG.relatives)  # the team's notice is in the decision's transaction


def main_windows() -> list[Window]:
    return [
        Window(
            Tr(
                "<b>📋 My programme</b>\n\nYou are not in a programme yet. If someone from the team gives you "
                "an invitation link, open it and you will see everything here.",
                when=F["none"],
            ),
            Multi(
                Tr("<b>📋 My programme</b>"),
                Tr(
                    "<b>{woman}</b> invited you as someone close to her. It is her programme, "
                    "and your voice matters in it just as much.",
                    when=F["is_relative"],
                ),
                Tr("<b>Now:</b> {stage_text}\n<b>Next:</b> {next_text}"),
                Tr("<b>Your curator:</b> {curator}\n<b>Your facilitator:</b> {facilitator}"),
                Tr(
                    "<i>A curator is a social worker who supports your family along the way. A facilitator "
                    "is a trained, neutral person who leads the talks of the restorative programme.</i>"
                ),
                Tr("<b>Your decisions</b>\n• Keeping your data: {data_state}\n• Taking part: {part_state}"),
                Tr(
                    "👥 The team suggests inviting someone close to you: {waiting} waiting for your answer.",
                    when=F["has_waiting"],
                ),
                sep="\n\n",
                when=F["some"],
            ),
            Button(Tr("✍️ Decide about taking part"), id="decide", on_click=on_decide, when=F["undecided"]),
            Start(Tr("🗓 My meetings"), id="meetings", state=MyMeetingsSG.main, when=F["can_withdraw"]),
            Start(Tr("📜 My agreements"), id="agreements", state=MyAgreementsSG.main, when=F["can_withdraw"]),
            SwitchTo(Tr("👥 Whom to invite"), id="relatives", state=ProgrammeSG.relatives, when=F["is_woman"]),
            SwitchTo(
                Tr("🚫 Withdraw from the programme"),
                id="withdraw",
                state=ProgrammeSG.confirm_withdraw,
                when=F["can_withdraw"],
            ),
            SwitchTo(
                Tr("🗑 Withdraw consent to keep my data"),
                id="withdraw_data",
                state=ProgrammeSG.confirm_withdraw_data,
                when=~F["can_withdraw"] & F["can_withdraw_data"],
            ),
            menu_button(),
            crisis_button(),
            getter=main_getter,
            state=ProgrammeSG.main,
        ),
    ]


def withdraw_windows() -> list[Window]:
    return [
        Window(
            Tr(
                "<b>Withdraw from the programme?</b>\n\n"
                "If a general meeting was set, it is called off, and nobody is told who withdrew. "
                "The help in this bot stays open to you.\n\n"
                "The way back: open 📋 My programme and tap «✍️ Decide about taking part», at any time."
            ),
            Row(
                Button(Tr("Yes, withdraw"), id="withdraw_yes", on_click=on_withdraw),
                SwitchTo(Tr("No, stay"), id="withdraw_no", state=ProgrammeSG.main),
            ),
            crisis_button(),
            state=ProgrammeSG.confirm_withdraw,
        ),
        Window(
            Tr(
                "<b>Withdraw consent to keep your data?</b>\n\n"
                "The team will keep nothing more about you for the programme, and it will not go further. "
                "The help in this bot stays open to you.\n\n"
                "The way back: open 📋 My programme and tap «✍️ Decide about taking part», at any time."
            ),
            Row(
                Button(Tr("Yes, withdraw"), id="withdraw_data_yes", on_click=on_withdraw_data),
                SwitchTo(Tr("No, keep it"), id="withdraw_data_no", state=ProgrammeSG.main),
            ),
            crisis_button(),
            state=ProgrammeSG.confirm_withdraw_data,
        ),
        Window(
            Tr(
                "Done. You have withdrawn, and that is your right. Nobody will press you, and the other "
                "participants will not be told who withdrew.\n\n"
                "The help in this bot stays open to you. If you change your mind, you can agree again."
            ),
            Button(Tr("✍️ I want to agree again"), id="again", on_click=on_decide),
            Start(Tr("📋 My programme"), id="mine", state=ProgrammeSG.main, mode=StartMode.RESET_STACK),
            menu_button(),
            crisis_button(),
            state=ProgrammeSG.withdrawn,
        ),
    ]


def relative_windows() -> list[Window]:
    return [
        Window(
            Tr(
                "<b>👥 Whom to invite</b>\n\nThe team suggests inviting these people. Nobody is invited "
                "without your yes. Tap a name to answer.",
                when=~F["empty"],
            ),
            Tr("Nobody is suggested yet.", when=F["empty"]),
            choices("rel", "people", on_relative),
            Row(SwitchTo(Tr("◀ Back"), id="back", state=ProgrammeSG.main), menu_button()),
            crisis_button(),
            getter=relatives_getter,
            state=ProgrammeSG.relatives,
        ),
        Window(
            Tr(
                "May we invite <b>{name}</b> ({relation}) to the programme?\n\nNow: {state}.\n\n"
                "You can change your answer until this person has answered the invitation.",
                when=F["open"],
            ),
            Tr("<b>{name}</b> has already answered the invitation.", when=F["answered"]),
            Row(
                Button(Tr("✅ Yes"), id="rel_yes", on_click=on_relative_answer),
                Button(Tr("✋ No"), id="rel_no", on_click=on_relative_answer),
                Button(Tr("⏳ Not now"), id="rel_later", on_click=on_relative_answer),
                when=F["open"],
            ),
            Row(SwitchTo(Tr("◀ Back"), id="back", state=ProgrammeSG.relatives), menu_button()),
            crisis_button(),
            getter=relative_getter,
            state=ProgrammeSG.relative,
        ),
    ]


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(*main_windows(), *withdraw_windows(), *relative_windows())
