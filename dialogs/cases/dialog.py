"""The team's flows: the list of cases, a case card, registering a case, inviting team members.

Buttons carry ids only (a case, a participant), never a name; every press goes back through a
service that checks the role and the case again, so a forged or stale button is refused and audited.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Back, Button, Cancel, Row, ScrollingGroup, Select, Start, SwitchTo
from aiogram_dialog.widgets.text import Format, Multi

from bot.context import AppContext
from bot.services import accounting, cases, catalog, invitations, parse
from bot.services.cases import CaseDraft, CaseView, Deadline
from bot.services.formatting import format_date, format_datetime
from bot.services.users import Profile
from bot.wording.labels import (
    APPROVALS,
    DEADLINES,
    DECISIONS_TEAM,
    PROGRAMME_TYPES,
    RELATIONS,
    STAGE_NAMES,
    label,
)
from db.models import ProgrammeType, Role
from dialogs.cases.card import card_windows
from dialogs.cases.documents import on_documents, protocol_windows
from dialogs.common.getters import fresh_profile, locale_of, reading
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button, on_not_text
from dialogs.states import CaseSG, CasesSG, InviteSG, NewCaseSG

# ------------------------------------------------------------------ helpers


def _profile(manager: DialogManager) -> Profile:
    return manager.middleware_data["profile"]


def _app(manager: DialogManager) -> AppContext:
    return manager.middleware_data["app"]


def deadline_text(deadline: Deadline | None, locale: str) -> str:
    if deadline is None:
        return ""
    what = label(DEADLINES, deadline.kind)
    due = format_date(deadline.due, locale)
    if deadline.overdue:
        return gettext("⚠️ Overdue by {days} working days: {what} (was due {due})").format(
            days=deadline.late_by, what=what, due=due
        )
    return gettext("⏰ Next: {what} by {due}").format(what=what, due=due)


async def _refused(callback: CallbackQuery, manager: DialogManager) -> None:
    await callback.answer(gettext("This case is not available to you."), show_alert=True)


# ------------------------------------------------------------------ the list


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
    actor = await fresh_profile(dialog_manager)
    async with reading(dialog_manager) as session:
        lines = await cases.list_cases(session, actor=actor, rules=app.rules, now=app.now())
    return {
        "cases": [
            (
                str(line.id),
                "{warn}{code} · {name} · {stage}".format(
                    warn="⚠️ " if line.deadline and line.deadline.overdue else "",
                    code=line.code,
                    name=line.first_name,
                    stage=gettext("stage {n}").format(n=line.stage),
                ),
            )
            for line in lines
        ],
        "count": len(lines),
        "empty": not lines,
        "can_register": actor.role in (Role.STAFF, Role.ADMIN),
    }


async def on_case(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await _refused(callback, manager)
        return
    await open_case_card(manager, int(item_id), callback=callback)


async def open_case_card(manager: DialogManager, case_id: int, *, callback: CallbackQuery | None = None) -> bool:
    """Opens the card after checking access (a refusal is audited by the service)."""
    app = _app(manager)
    actor = await fresh_profile(manager)
    try:
        async with app.db() as session:
            await cases.load_visible(session, actor, case_id, "open_case", now=app.now())
            await session.commit()
    except cases.Refused:
        if callback is not None:
            await _refused(callback, manager)
        return False
    await manager.start(CaseSG.card, data={"case_id": case_id})
    return True


def list_dialog() -> Dialog:
    return Dialog(
        Window(
            Tr("<b>🗂 Cases</b> ({count})\n\nTap a case to open its card.", when=~F["empty"]),
            Tr("<b>🗂 Cases</b>\n\nNo open cases that you can see.", when=F["empty"]),
            ScrollingGroup(
                Select(
                    Format("{item[1]}"),
                    id="case",
                    item_id_getter=lambda item: item[0],
                    items="cases",
                    on_click=on_case,
                ),
                id="cases",
                width=1,
                height=8,
                hide_on_single_page=True,
            ),
            Start(Tr("➕ New case"), id="new", state=NewCaseSG.first_name, when=F["can_register"]),
            menu_button(),
            crisis_button(),
            getter=list_getter,
            state=CasesSG.list,
        ),
    )


# ------------------------------------------------------------------ the card


def _case_id(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


async def _view(manager: DialogManager) -> CaseView | None:
    app = _app(manager)
    actor = await fresh_profile(manager)
    try:
        async with reading(manager) as session:
            return await cases.open_case(
                session, actor=actor, case_id=_case_id(manager), rules=app.rules, now=app.now()
            )
    except cases.Refused:
        return None


def _person_line(p: Any) -> str:
    if p.kind == "woman":
        who = gettext("the woman")
    else:
        who = label(RELATIONS, p.relation)
    if p.kind == "relative" and p.approval != "approved":
        state = label(APPROVALS, p.approval)
    elif p.joined:
        state = gettext("data: {data}; taking part: {part}").format(
            data=label(DECISIONS_TEAM, p.data_consent), part=label(DECISIONS_TEAM, p.participation_consent)
        )
    elif p.link_open:
        state = gettext("link given, not opened yet")
    else:
        state = gettext("no valid link")
    return f"{escape(p.first_name)} ({who}): {state}"


async def card_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await _view(dialog_manager)
    locale = locale_of(dialog_manager)
    if view is None:
        return {
            "gone": True,
            "ok": False,
            "can_move": False,
            "can_agree": False,
            "closed": False,
            "can_close": False,
            "no_protocol": False,
        }
    async with reading(dialog_manager) as session:
        region = await catalog.region(session, view.region_code)
        no_protocol = view.can_move_stage and await accounting.protocol_missing(session, case_id=view.id)
    nobody = gettext("not appointed")
    dialog_manager.dialog_data["stage"] = view.stage
    return {
        "gone": False,
        "ok": True,
        "code": view.code,
        "first_name": escape(view.first_name),
        "region": escape(region.title(locale)) if region else view.region_code,
        "release": format_date(view.release_date, locale),
        "parole": gettext("yes") if view.parole else gettext("no"),
        "type": label(PROGRAMME_TYPES, view.programme_type),
        "curator": escape(view.curator_name) if view.curator_name else nobody,
        "facilitator": escape(view.facilitator_name) if view.facilitator_name else nobody,
        "stage": label(STAGE_NAMES, view.stage),
        "since": format_date(view.stage_since, locale, region.timezone if region else None),
        "deadline": deadline_text(view.deadline, locale),
        "people": "\n".join("• " + _person_line(p) for p in view.participants),
        "can_move": view.can_move_stage,
        "closed": view.closed_at is not None,
        "result": escape(accounting.words("result", view.result, locale) or "—"),
        "can_close": view.can_move_stage,
        "no_protocol": no_protocol,
        # An agreement is made at the general meeting (stage 3) and kept afterwards: not before.
        "can_agree": view.can_move_stage and view.stage >= AGREEMENT_FROM_STAGE,
    }


async def people_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await _view(dialog_manager)
    if view is None:
        return {"people": [], "gone": True}
    return {
        "people": [(str(p.id), _person_line(p)) for p in view.participants],
        "gone": False,
    }


async def on_person(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    view = await _view(manager)
    if view is None or not any(str(p.id) == item_id for p in view.participants):
        await _refused(callback, manager)
        return
    manager.dialog_data["participant_id"] = int(item_id)
    await manager.switch_to(CaseSG.person)


async def person_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await _view(dialog_manager)
    wanted = dialog_manager.dialog_data.get("participant_id")
    person = next((p for p in (view.participants if view else ()) if p.id == wanted), None)
    if person is None:
        return {"line": "", "can_link": False, "can_revoke": False, "blocked": False}
    return {
        "line": _person_line(person),
        "can_link": person.approval == "approved" and not person.joined,
        "can_revoke": person.link_open,
        "blocked": person.kind == "relative" and person.approval != "approved",
    }


async def on_new_link(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await fresh_profile(manager)
    participant_id = int(manager.dialog_data.get("participant_id", 0))
    try:
        async with app.db() as session:
            token = await invitations.reissue(
                session,
                actor=actor,
                participant_id=participant_id,
                now=app.now(),
                ttl_days=app.settings.invite_ttl_days,
            )
    except invitations.NotAllowed:
        await _refused(callback, manager)
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
    username = (await manager.middleware_data["bot"].me()).username
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext(
            "New invitation (it works once, for {days} days; the previous link no longer works):\n{link}\n\n"
            "Give it in person or send it to the person's own Telegram."
        ).format(days=app.settings.invite_ttl_days, link=invitations.link(username, token))
    )
    manager.show_mode = ShowMode.SEND


async def on_revoke(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await fresh_profile(manager)
    try:
        async with app.db() as session:
            await invitations.revoke(
                session, actor=actor, participant_id=int(manager.dialog_data.get("participant_id", 0)), now=app.now()
            )
    except invitations.NotAllowed:
        await _refused(callback, manager)
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


async def relation_getter(**_: Any) -> dict[str, Any]:
    return {"relations": [(code, gettext(msgid)) for code, msgid in RELATIONS.items()]}


async def on_relation(callback: CallbackQuery, _widget: Any, manager: DialogManager, relation: str) -> None:
    app = _app(manager)
    actor = await fresh_profile(manager)
    try:
        async with app.db() as session:
            await cases.propose_relative(
                session,
                actor=actor,
                case_id=_case_id(manager),
                first_name=manager.dialog_data.get("relative_name", ""),
                relation=relation,
                now=app.now(),
            )
    except cases.Refused:
        await _refused(callback, manager)
        return
    except cases.Invalid:
        await callback.answer(gettext("This button is out of date."))
        return
    await callback.answer(gettext("Saved. She will be asked whether she agrees to invite this person."))
    await manager.switch_to(CaseSG.people)  # her notice is in the proposal's transaction


async def stages_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    current = dialog_manager.dialog_data.get("stage")
    return {"stages": [(str(n), gettext(STAGE_NAMES[n])) for n in cases.STAGES if n != current]}


async def on_stage(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id) or int(item_id) not in cases.STAGES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["to_stage"] = int(item_id)
    await manager.switch_to(CaseSG.stage_reason)


async def on_reason(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await fresh_profile(manager)
    manager.show_mode = ShowMode.SEND
    try:
        async with app.db() as session:
            await cases.move_stage(
                session,
                actor=actor,
                case_id=_case_id(manager),
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
    from dialogs.states import TeamMeetingsSG

    await manager.start(TeamMeetingsSG.list, data={"case_id": _case_id(manager)})


AGREEMENT_FROM_STAGE = 3  # the general meeting, where the agreement is reached (DOMAIN.md)


async def on_agreement(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    from dialogs.states import AgreementSG

    if int(manager.dialog_data.get("stage") or 0) < AGREEMENT_FROM_STAGE:
        await callback.answer(gettext("An agreement is made at the general meeting: stage 3."), show_alert=True)
        return

    await manager.start(AgreementSG.items, data={"case_id": _case_id(manager)})


async def history_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
    actor = await fresh_profile(dialog_manager)
    locale = locale_of(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            moves = await cases.stage_history(session, actor=actor, case_id=_case_id(dialog_manager), now=app.now())
    except cases.Refused:
        moves = []
    lines = [
        "{when} · {before} → {after}\n{reason}".format(
            when=format_datetime(m.at, locale, app.settings.default_timezone, fmt="short"),
            before=m.from_stage,
            after=m.to_stage,
            reason=escape(m.reason),
        )
        for m in moves[-15:]
    ]
    return {"moves": "\n\n".join(lines), "empty": not lines}


def card_dialog() -> Dialog:
    back_to_card = SwitchTo(Tr("◀ Back"), id="card", state=CaseSG.card)
    return Dialog(
        Window(
            Tr("This case is not available to you.", when=F["gone"]),
            Multi(
                Tr("<b>Case {code}</b> · {first_name}"),
                Tr(
                    "Region: {region}\nRelease: {release} · parole: {parole}\nProgramme: {type}\n"
                    "Curator: {curator}\nFacilitator: {facilitator}"
                ),
                Tr("<b>Stage:</b> {stage} (since {since})"),
                Format("{deadline}"),
                Tr("<b>Closed</b>: {result}", when=F["closed"]),
                Tr(
                    "The agreement is recorded: type the meeting's protocol with 📝 Meeting protocol.",
                    when=F["no_protocol"],
                ),
                Tr("<b>People</b>\n{people}"),
                sep="\n\n",
                when=F["ok"],
            ),
            SwitchTo(Tr("👥 People and invitations"), id="people", state=CaseSG.people, when=F["ok"]),
            SwitchTo(Tr("➡️ Move to another stage"), id="stage", state=CaseSG.stage_pick, when=F["can_move"]),
            Button(Tr("🗓 Meetings"), id="meetings", on_click=on_meetings, when=F["ok"]),
            Button(Tr("📝 Agreement"), id="agreement", on_click=on_agreement, when=F["can_agree"]),
            SwitchTo(Tr("📜 History"), id="history", state=CaseSG.history, when=F["ok"]),
            SwitchTo(Tr("🗂 Accounting card"), id="acc", state=CaseSG.card_fields, when=F["ok"]),
            SwitchTo(Tr("📝 Meeting protocol"), id="proto", state=CaseSG.protocol, when=F["can_move"]),
            Button(Tr("📄 Documents"), id="docs", on_click=on_documents, when=F["can_move"]),
            SwitchTo(Tr("✅ Close the case"), id="close", state=CaseSG.close_result, when=F["can_close"]),
            Row(Cancel(Tr("◀ Back")), menu_button()),
            crisis_button(),
            getter=card_getter,
            state=CaseSG.card,
        ),
        Window(
            Tr("<b>People</b>\n\nTap a person for the invitation link.", when=~F["gone"]),
            Tr("This case is not available to you.", when=F["gone"]),
            choices("person", "people", on_person, page=8),
            SwitchTo(Tr("➕ Suggest a relative"), id="add", state=CaseSG.relative_name, when=~F["gone"]),
            back_to_card,
            crisis_button(),
            getter=people_getter,
            state=CaseSG.people,
        ),
        Window(
            Format("{line}"),
            Tr(
                "There is no link until she agrees to invite this person: she is asked in her 📋 My programme.",
                when=F["blocked"],
            ),
            Button(Tr("🔗 New invitation link"), id="link", on_click=on_new_link, when=F["can_link"]),
            Button(Tr("⛔ Revoke the link"), id="revoke", on_click=on_revoke, when=F["can_revoke"]),
            SwitchTo(Tr("◀ Back"), id="people", state=CaseSG.people),
            crisis_button(),
            getter=person_getter,
            state=CaseSG.person,
        ),
        Window(
            Tr("The first name of the person to suggest (no surname). She decides whether this person is invited."),
            MessageInput(on_relative_name, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            SwitchTo(Tr("◀ Back"), id="people", state=CaseSG.people),
            crisis_button(),
            state=CaseSG.relative_name,
        ),
        Window(
            Tr("Who is this person to her?"),
            choices("rel", "relations", on_relation),
            SwitchTo(Tr("◀ Back"), id="people", state=CaseSG.people),
            crisis_button(),
            getter=relation_getter,
            state=CaseSG.relative_relation,
        ),
        Window(
            Tr("To which stage?"),
            choices("stg", "stages", on_stage),
            back_to_card,
            crisis_button(),
            getter=stages_getter,
            state=CaseSG.stage_pick,
        ),
        Window(
            Tr("<b>Stage history</b>"),
            Tr("No moves yet: the case is at its first stage since it was registered.", when=F["empty"]),
            Format("\n{moves}", when=~F["empty"]),
            back_to_card,
            crisis_button(),
            getter=history_getter,
            state=CaseSG.history,
        ),
        Window(
            Tr("Why? One message, it goes to the case history."),
            MessageInput(on_reason, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            back_to_card,
            crisis_button(),
            state=CaseSG.stage_reason,
        ),
        *card_windows(),
        *protocol_windows(),
    )


# ------------------------------------------------------------------ registering a case


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


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        found = await catalog.regions(session)
    return {"regions": [(r.code, r.title(locale)) for r in found if not r.is_federal]}


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
    app = _app(manager)
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


async def types_getter(**_: Any) -> dict[str, Any]:
    return {"types": [(t.value, gettext(PROGRAMME_TYPES[t.value])) for t in ProgrammeType]}


async def on_type(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if code not in PROGRAMME_TYPES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["programme_type"] = code
    await manager.switch_to(NewCaseSG.curator)


def _team_getter(role: Role):
    async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
        async with reading(dialog_manager) as session:
            people = await cases.team(session, role=role, region_code=dialog_manager.dialog_data.get("region"))
            await session.commit()
        return {"people": [(str(p.user_id), p.name) for p in people], "nobody": not people}

    return getter


def _on_team(field: str, next_state: Any):
    async def handler(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
        manager.dialog_data[field] = int(item_id) if parse.digits(item_id) else None
        await manager.switch_to(next_state)

    return handler


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    data = dialog_manager.dialog_data
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        region = await catalog.region(session, data.get("region", ""))
        names = {}
        for field, role in (("curator", Role.CURATOR), ("facilitator", Role.FACILITATOR)):
            found = {p.user_id: p.name for p in await cases.team(session, role=role)}
            names[field] = found.get(data.get(field)) or gettext("later")  # type: ignore[arg-type]  # an id or nothing
        await session.commit()
    return {
        "first_name": escape(data.get("first_name", "")),
        "region": escape(region.title(locale)) if region else "",
        "release": format_date(date.fromisoformat(data["release_date"]), locale) if "release_date" in data else "",
        "parole": gettext("yes") if data.get("parole") else gettext("no"),
        "type": label(PROGRAMME_TYPES, data.get("programme_type")),
        "curator": escape(names["curator"]),
        "facilitator": escape(names["facilitator"]),
    }


async def on_create(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
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
        async with app.db() as session:
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
    username = (await manager.middleware_data["bot"].me()).username
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


def new_case_dialog() -> Dialog:
    cancel = Cancel(Tr("✖️ Cancel"))
    return Dialog(
        Window(
            Tr(
                "<b>New case</b>\n\nHer first name, as she wants to be called (no surname). "
                "We never ask about the offence."
            ),
            MessageInput(on_first_name, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            cancel,
            crisis_button(),
            state=NewCaseSG.first_name,
        ),
        Window(
            Tr("Region of the case:"),
            choices("reg", "regions", on_region),
            cancel,
            crisis_button(),
            getter=regions_getter,
            state=NewCaseSG.region,
        ),
        Window(
            Tr("Release date, expected or actual, like 31.12.2026:"),
            MessageInput(on_release, content_types=[ContentType.TEXT]),
            MessageInput(on_release_not_text),
            cancel,
            crisis_button(),
            state=NewCaseSG.release_date,
        ),
        Window(
            Tr("Released on parole (УДО)?"),
            Row(
                Button(Tr("Yes"), id="parole_yes", on_click=on_parole),
                Button(Tr("No"), id="parole_no", on_click=on_parole),
            ),
            cancel,
            crisis_button(),
            state=NewCaseSG.parole,
        ),
        Window(
            Tr("Type of programme:"),
            choices("type", "types", on_type),
            cancel,
            crisis_button(),
            getter=types_getter,
            state=NewCaseSG.programme_type,
        ),
        Window(
            Tr("Curator of the family:"),
            Tr("No curators are registered yet: invite them with /invite.", when=F["nobody"]),
            choices("cur", "people", _on_team("curator", NewCaseSG.facilitator), page=8),
            Button(Tr("Later"), id="cur_later", on_click=_skip("curator", NewCaseSG.facilitator)),
            cancel,
            crisis_button(),
            getter=_team_getter(Role.CURATOR),
            state=NewCaseSG.curator,
        ),
        Window(
            Tr("Facilitator:"),
            Tr("No facilitators are registered yet: invite them with /invite.", when=F["nobody"]),
            choices("fac", "people", _on_team("facilitator", NewCaseSG.confirm), page=8),
            Button(Tr("Later"), id="fac_later", on_click=_skip("facilitator", NewCaseSG.confirm)),
            cancel,
            crisis_button(),
            getter=_team_getter(Role.FACILITATOR),
            state=NewCaseSG.facilitator,
        ),
        Window(
            Tr(
                "<b>Check, please</b>\n\nFirst name: {first_name}\nRegion: {region}\nRelease: {release}\n"
                "Parole: {parole}\nProgramme: {type}\nCurator: {curator}\nFacilitator: {facilitator}"
            ),
            Button(Tr("✅ Register"), id="create", on_click=on_create),
            Row(Back(Tr("◀ Back")), cancel),
            crisis_button(),
            getter=confirm_getter,
            state=NewCaseSG.confirm,
        ),
        on_start=on_new_case_start,
    )


def _skip(field: str, next_state: Any):
    async def handler(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
        manager.dialog_data[field] = None
        await manager.switch_to(next_state)

    return handler


# ------------------------------------------------------------------ inviting team members

INVITE_ROLES = {
    "curator": Role.CURATOR,
    "facilitator": Role.FACILITATOR,
    "staff": Role.STAFF,
}


async def roles_getter(**_: Any) -> dict[str, Any]:
    from bot.wording.labels import role_name

    return {"roles": [(code, role_name(code)) for code in INVITE_ROLES]}


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
    app = _app(manager)
    actor = await fresh_profile(manager)
    role = INVITE_ROLES.get(manager.dialog_data.get("role", ""))
    if role is None:
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with app.db() as session:
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
    from bot.wording.labels import role_name

    username = (await manager.middleware_data["bot"].me()).username
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext("Invitation for a new team member, role “{role}” (it works once, for {days} days):\n{link}").format(
            role=role_name(role.value), days=app.settings.invite_ttl_days, link=invitations.link(username, token)
        )
    )
    await manager.done(show_mode=ShowMode.DELETE_AND_SEND)


def invite_dialog() -> Dialog:
    return Dialog(
        Window(
            Tr("<b>Invite to the team</b>\n\nWhich role?"),
            choices("role", "roles", on_role),
            Cancel(Tr("✖️ Cancel")),
            crisis_button(),
            getter=roles_getter,
            state=InviteSG.role,
        ),
        Window(
            Tr("For which region?"),
            choices("reg", "regions", on_invite_region),
            Cancel(Tr("✖️ Cancel")),
            crisis_button(),
            getter=regions_getter,
            state=InviteSG.region,
        ),
    )
