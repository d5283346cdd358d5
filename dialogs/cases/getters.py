"""The team's screens: what they show (the list of cases, a case card, a new case, an invitation).

Every read goes through a service that checks the role and the case again.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager

from bot.services import accounting, cases, catalog
from bot.services.cases import CaseView, Deadline
from bot.services.formatting import format_date, format_datetime
from bot.wording.labels import (
    APPROVALS,
    DEADLINES,
    DECISIONS_TEAM,
    PROGRAMME_TYPES,
    RELATIONS,
    STAGE_NAMES,
    label,
    role_name,
)
from db.models import ProgrammeType, Role
from dialogs.common.getters import fresh_profile, locale_of, reading
from dialogs.common.scope import scope


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


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
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


def case_id_of(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


async def case_view(manager: DialogManager) -> CaseView | None:
    app = scope(manager).app
    actor = await fresh_profile(manager)
    try:
        async with reading(manager) as session:
            return await cases.open_case(
                session, actor=actor, case_id=case_id_of(manager), rules=app.rules, now=app.now()
            )
    except cases.Refused:
        return None


def person_line(p: Any) -> str:
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
    view = await case_view(dialog_manager)
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
        "people": "\n".join("• " + person_line(p) for p in view.participants),
        "can_move": view.can_move_stage,
        "closed": view.closed_at is not None,
        "result": escape(accounting.words("result", view.result, locale) or "—"),
        "can_close": view.can_move_stage,
        "no_protocol": no_protocol,
        # An agreement is made at the general meeting (stage 3) and kept afterwards: not before.
        "can_agree": view.can_move_stage and view.stage >= AGREEMENT_FROM_STAGE,
    }


async def people_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await case_view(dialog_manager)
    if view is None:
        return {"people": [], "gone": True}
    return {
        "people": [(str(p.id), person_line(p)) for p in view.participants],
        "gone": False,
    }


async def person_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await case_view(dialog_manager)
    wanted = dialog_manager.dialog_data.get("participant_id")
    person = next((p for p in (view.participants if view else ()) if p.id == wanted), None)
    if person is None:
        return {"line": "", "can_link": False, "can_revoke": False, "blocked": False}
    return {
        "line": person_line(person),
        "can_link": person.approval == "approved" and not person.joined,
        "can_revoke": person.link_open,
        "blocked": person.kind == "relative" and person.approval != "approved",
    }


async def relation_getter(**_: Any) -> dict[str, Any]:
    return {"relations": [(code, gettext(msgid)) for code, msgid in RELATIONS.items()]}


async def stages_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    current = dialog_manager.dialog_data.get("stage")
    return {"stages": [(str(n), gettext(STAGE_NAMES[n])) for n in cases.STAGES if n != current]}


AGREEMENT_FROM_STAGE = 3  # the general meeting, where the agreement is reached (DOMAIN.md)


async def history_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    actor = await fresh_profile(dialog_manager)
    locale = locale_of(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            moves = await cases.stage_history(session, actor=actor, case_id=case_id_of(dialog_manager), now=app.now())
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


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        found = await catalog.regions(session)
    return {"regions": [(r.code, r.title(locale)) for r in found if not r.is_federal]}


async def types_getter(**_: Any) -> dict[str, Any]:
    return {"types": [(t.value, gettext(PROGRAMME_TYPES[t.value])) for t in ProgrammeType]}


def team_getter(role: Role):
    async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
        async with reading(dialog_manager) as session:
            people = await cases.team(session, role=role, region_code=dialog_manager.dialog_data.get("region"))
            await session.commit()
        return {"people": [(str(p.user_id), p.name) for p in people], "nobody": not people}

    return getter


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


INVITE_ROLES = {
    "curator": Role.CURATOR,
    "facilitator": Role.FACILITATOR,
    "staff": Role.STAFF,
}


async def roles_getter(**_: Any) -> dict[str, Any]:
    return {"roles": [(code, role_name(code)) for code in INVITE_ROLES]}
