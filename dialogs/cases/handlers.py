"""The team's screens: what their buttons and messages do.

Buttons carry ids only (a case, a participant), never a name; every press goes back through a
service that checks the role and the case again, so a forged or stale button is refused and audited.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.services import cases, catalog, invitations, parse
from bot.services.cases import CaseDraft
from bot.wording.labels import PROGRAMME_TYPES, role_name
from db.models import Role
from dialogs.cases.getters import AGREEMENT_FROM_STAGE, INVITE_ROLES, case_id_of, case_view
from dialogs.common.getters import fresh_profile, reading
from dialogs.common.scope import scope
from dialogs.states import AgreementSG, CaseSG, InviteSG, NewCaseSG, TeamMeetingsSG


async def refuse(callback: CallbackQuery, manager: DialogManager) -> None:
    await callback.answer(gettext("This case is not available to you."), show_alert=True)


async def on_case(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await refuse(callback, manager)
        return
    await open_case_card(manager, int(item_id), callback=callback)


async def open_case_card(manager: DialogManager, case_id: int, *, callback: CallbackQuery | None = None) -> bool:
    """Opens the card after checking access (a refusal is audited by the service)."""
    actor = await fresh_profile(manager)
    try:
        async with scope(manager).transaction() as session:
            await cases.load_visible(session, actor, case_id, "open_case", now=scope(manager).app.now())
            await session.commit()
    except cases.Refused:
        if callback is not None:
            await refuse(callback, manager)
        return False
    await manager.start(CaseSG.card, data={"case_id": case_id})
    return True


async def on_person(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    view = await case_view(manager)
    if view is None or not any(str(p.id) == item_id for p in view.participants):
        await refuse(callback, manager)
        return
    manager.dialog_data["participant_id"] = int(item_id)
    await manager.switch_to(CaseSG.person)


async def on_new_link(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    participant_id = int(manager.dialog_data.get("participant_id", 0))
    try:
        async with s.transaction() as session:
            token = await invitations.reissue(
                session,
                actor=actor,
                participant_id=participant_id,
                now=app.now(),
                ttl_days=app.settings.invite_ttl_days,
            )
    except invitations.NotAllowed:
        await refuse(callback, manager)
        return
    except invitations.NotApproved:
        await callback.answer(
            gettext("She has not agreed to invite this person, so there is no link."), show_alert=True
        )
        return
    except invitations.AlreadyJoined:
        await callback.answer(gettext("This person has already opened the invitation."), show_alert=True)
        return
    await callback.answer()
    username = await s.bot_username()
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext(
            "New invitation (it works once, for {days} days; the previous link no longer works):\n{link}\n\n"
            "Give it in person or send it to the person's own Telegram."
        ).format(days=app.settings.invite_ttl_days, link=invitations.link(username, token))
    )
    manager.show_mode = ShowMode.SEND


async def on_revoke(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    try:
        async with s.transaction() as session:
            await invitations.revoke(
                session, actor=actor, participant_id=int(manager.dialog_data.get("participant_id", 0)), now=app.now()
            )
    except invitations.NotAllowed:
        await refuse(callback, manager)
        return
    await callback.answer(gettext("The link no longer works."))


async def on_relative_name(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    try:
        manager.dialog_data["relative_name"] = cases.clean_name(message.text)
    except cases.Invalid:
        manager.show_mode = ShowMode.SEND
        await message.answer(gettext("Please send only a first name, in letters, up to 40 characters."))
        return
    manager.show_mode = ShowMode.SEND
    await manager.switch_to(CaseSG.relative_relation)


async def on_relation(callback: CallbackQuery, _widget: Any, manager: DialogManager, relation: str) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    try:
        async with s.transaction() as session:
            await cases.propose_relative(
                session,
                actor=actor,
                case_id=case_id_of(manager),
                first_name=manager.dialog_data.get("relative_name", ""),
                relation=relation,
                now=app.now(),
            )
    except cases.Refused:
        await refuse(callback, manager)
        return
    except cases.Invalid:
        await callback.answer(gettext("This button is out of date."))
        return
    await callback.answer(gettext("Saved. She will be asked whether she agrees to invite this person."))
    await manager.switch_to(CaseSG.people)  # her notice is in the proposal's transaction


async def on_stage(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id) or int(item_id) not in cases.STAGES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["to_stage"] = int(item_id)
    await manager.switch_to(CaseSG.stage_reason)


async def on_reason(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    manager.show_mode = ShowMode.SEND
    try:
        async with s.transaction() as session:
            await cases.move_stage(
                session,
                actor=actor,
                case_id=case_id_of(manager),
                to_stage=int(manager.dialog_data.get("to_stage", 0)),
                reason=message.text or "",
                now=app.now(),
            )
    except cases.Refused:
        await message.answer(gettext("This case is not available to you."))
        await manager.done()
        return
    except cases.Invalid as exc:
        if exc.field == "reason":
            await message.answer(gettext("Please give the reason in one message, up to 500 characters."))
        else:
            await message.answer(gettext("The case is already at this stage."))
            await manager.switch_to(CaseSG.card)
        return
    await message.answer(gettext("Stage changed. The move and its reason are recorded."))
    await manager.switch_to(CaseSG.card)


async def on_meetings(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await manager.start(TeamMeetingsSG.list, data={"case_id": case_id_of(manager)})


async def on_agreement(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if int(manager.dialog_data.get("stage") or 0) < AGREEMENT_FROM_STAGE:
        await callback.answer(gettext("An agreement is made at the general meeting: stage 3."), show_alert=True)
        return

    await manager.start(AgreementSG.items, data={"case_id": case_id_of(manager)})


async def on_new_case_start(start_data: Any, manager: DialogManager) -> None:
    """From a request to take part: her first name (and region) already filled in."""
    data = start_data if isinstance(start_data, dict) else {}
    if not data.get("join_request"):
        return
    manager.dialog_data["join_request"] = int(data["join_request"])
    if data.get("region"):
        manager.dialog_data["request_region"] = str(data["region"])
    if data.get("first_name"):
        manager.dialog_data["first_name"] = str(data["first_name"])
        await _after_name(manager, None)


async def on_first_name(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    try:
        manager.dialog_data["first_name"] = cases.clean_name(message.text)
    except cases.Invalid:
        await message.answer(gettext("Please send only her first name, in letters, up to 40 characters."))
        return
    await _after_name(manager, message)


async def _after_name(manager: DialogManager, message: Message | None) -> None:
    actor = await fresh_profile(manager)
    wanted = manager.dialog_data.get("request_region")
    if actor.role == Role.ADMIN and wanted:
        manager.dialog_data["region"] = wanted
        await manager.switch_to(NewCaseSG.release_date)
        return
    if actor.role == Role.STAFF:
        if not actor.scope_region:
            if message is not None:
                await message.answer(gettext("Your region is not set. Ask an admin to set it."))
            await manager.done()
            return
        manager.dialog_data["region"] = actor.scope_region
        await manager.switch_to(NewCaseSG.release_date)
    else:
        await manager.switch_to(NewCaseSG.region)


async def on_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    async with reading(manager) as session:
        known = await catalog.region(session, code)
    if known is None:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["region"] = code
    await manager.switch_to(NewCaseSG.release_date)


async def on_release(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    app = scope(manager).app
    try:
        day = cases.parse_day(message.text, today=app.today())
    except cases.Invalid:
        await message.answer(gettext("I could not read this date. Please write it like 31.12.2026."))
        return
    manager.dialog_data["release_date"] = day.isoformat()
    await manager.switch_to(NewCaseSG.parole)


async def on_release_not_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    await message.answer(gettext("I need a date here, written like 31.12.2026."))


async def on_parole(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["parole"] = button.widget_id == "parole_yes"
    await manager.switch_to(NewCaseSG.programme_type)


async def on_type(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if code not in PROGRAMME_TYPES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["programme_type"] = code
    await manager.switch_to(NewCaseSG.curator)


def on_team(field: str, next_state: Any):
    async def handler(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
        manager.dialog_data[field] = int(item_id) if parse.digits(item_id) else None
        await manager.switch_to(next_state)

    return handler


async def on_create(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    data = manager.dialog_data
    try:
        draft = CaseDraft(
            first_name=data["first_name"],
            region_code=data["region"],
            release_date=date.fromisoformat(data["release_date"]),
            parole=bool(data["parole"]),
            programme_type=data["programme_type"],
            curator_id=data.get("curator"),
            facilitator_id=data.get("facilitator"),
        )
        async with s.transaction() as session:
            # A case from her join request answers it in the same transaction (her invitation in the bot).
            request_id = data.get("join_request")
            registered = await cases.register(
                session,
                actor=actor,
                draft=draft,
                rules=app.rules,
                now=app.now(),
                join_request_id=int(request_id) if request_id else None,
            )
    except (KeyError, ValueError):
        await callback.answer(gettext("Something is missing. Please start the new case again."), show_alert=True)
        await manager.done()
        return
    except cases.Refused:
        await callback.answer(gettext("You cannot register cases in this region."), show_alert=True)
        await manager.done()
        return
    await callback.answer()
    username = await s.bot_username()
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext(
            "✅ Case <b>{code}</b> is registered.\n\n"
            "Invitation for {name} (it works once, for {days} days):\n{link}\n\n"
            "Give it to her in person or send it to her own Telegram. She will read about the programme "
            "and decide herself."
        ).format(
            code=registered.code,
            name=escape(draft.first_name),
            days=app.settings.invite_ttl_days,
            link=invitations.link(username, registered.woman_token),
        )
    )
    await manager.start(
        CaseSG.card, data={"case_id": registered.case_id}, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
    )


def on_skip(field: str, next_state: Any):
    async def handler(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
        manager.dialog_data[field] = None
        await manager.switch_to(next_state)

    return handler


async def on_role(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if code not in INVITE_ROLES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["role"] = code
    actor = await fresh_profile(manager)
    if actor.role == Role.ADMIN:
        await manager.switch_to(InviteSG.region)
    else:
        await _issue_role_link(callback, manager, actor.scope_region)


async def on_invite_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    await _issue_role_link(callback, manager, code)


async def _issue_role_link(callback: CallbackQuery, manager: DialogManager, region_code: str | None) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    role = INVITE_ROLES.get(manager.dialog_data.get("role", ""))
    if role is None:
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with s.transaction() as session:
            token = await invitations.issue_for_role(
                session,
                actor=actor,
                role=role,
                region_code=region_code,
                now=app.now(),
                ttl_days=app.settings.invite_ttl_days,
            )
    except invitations.NotAllowed:
        await callback.answer(gettext("You cannot invite to this region."), show_alert=True)
        await manager.done()
        return
    await callback.answer()

    username = await s.bot_username()
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext("Invitation for a new team member, role “{role}” (it works once, for {days} days):\n{link}").format(
            role=role_name(role.value), days=app.settings.invite_ttl_days, link=invitations.link(username, token)
        )
    )
    await manager.done(show_mode=ShowMode.DELETE_AND_SEND)
