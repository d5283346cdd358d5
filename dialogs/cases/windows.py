"""The team's screens, window by window: the list of cases, a case card, registering a case,
inviting team members.
"""

from __future__ import annotations

from aiogram import F
from aiogram.types import ContentType
from aiogram_dialog import Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Back, Button, Cancel, Row, ScrollingGroup, Select, Start, SwitchTo
from aiogram_dialog.widgets.text import Format, Multi

from db.models import Role
from dialogs.cases.documents import on_documents
from dialogs.cases.getters import (
    card_getter,
    confirm_getter,
    history_getter,
    list_getter,
    people_getter,
    person_getter,
    regions_getter,
    relation_getter,
    roles_getter,
    stages_getter,
    team_getter,
    types_getter,
)
from dialogs.cases.handlers import (
    on_agreement,
    on_case,
    on_create,
    on_first_name,
    on_invite_region,
    on_meetings,
    on_new_link,
    on_parole,
    on_person,
    on_reason,
    on_region,
    on_relation,
    on_relative_name,
    on_release,
    on_release_not_text,
    on_revoke,
    on_role,
    on_skip,
    on_stage,
    on_team,
    on_type,
)
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button, on_not_text
from dialogs.states import CaseSG, CasesSG, InviteSG, NewCaseSG


def list_windows() -> list[Window]:
    return [
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
    ]


def card_main_windows() -> list[Window]:
    return [
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
    ]


def people_windows() -> list[Window]:
    back_to_card = SwitchTo(Tr("◀ Back"), id="card", state=CaseSG.card)
    return [
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
    ]


def stage_windows() -> list[Window]:
    back_to_card = SwitchTo(Tr("◀ Back"), id="card", state=CaseSG.card)
    return [
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
    ]


def new_case_windows() -> list[Window]:
    cancel = Cancel(Tr("✖️ Cancel"))
    return [
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
    ]


def team_windows() -> list[Window]:
    cancel = Cancel(Tr("✖️ Cancel"))
    return [
        Window(
            Tr("Curator of the family:"),
            Tr("No curators are registered yet: invite them with /invite.", when=F["nobody"]),
            choices("cur", "people", on_team("curator", NewCaseSG.facilitator), page=8),
            Button(Tr("Later"), id="cur_later", on_click=on_skip("curator", NewCaseSG.facilitator)),
            cancel,
            crisis_button(),
            getter=team_getter(Role.CURATOR),
            state=NewCaseSG.curator,
        ),
        Window(
            Tr("Facilitator:"),
            Tr("No facilitators are registered yet: invite them with /invite.", when=F["nobody"]),
            choices("fac", "people", on_team("facilitator", NewCaseSG.confirm), page=8),
            Button(Tr("Later"), id="fac_later", on_click=on_skip("facilitator", NewCaseSG.confirm)),
            cancel,
            crisis_button(),
            getter=team_getter(Role.FACILITATOR),
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
    ]


def invite_windows() -> list[Window]:
    return [
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
    ]
