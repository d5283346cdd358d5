"""Meetings: what the screens show, to the facilitator (the case's times) and to a participant (hers).

The facilitator types times in her own zone; each participant sees them in hers, in plain words.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager

from bot.i18n import N_
from bot.services import cases, meetings
from bot.services.cases import Refused
from bot.services.formatting import format_when
from bot.services.meetings import SlotDraft
from bot.wording.labels import label
from bot.wording.meetings import FORMATS, describe
from db.models import Case, MeetingFormat, MeetingKind
from dialogs.common.getters import fresh_profile, locale_of, reading, user_id_of
from dialogs.common.scope import scope
from dialogs.meetings.text import STATES


async def reader_zone(manager: DialogManager, case_id: int | None = None) -> str:
    app = scope(manager).app
    async with reading(manager) as session:
        case = await session.get(Case, case_id) if case_id else None
        zone = await meetings.zone_of(session, user_id_of(manager), case, app.settings.default_timezone)
        await session.commit()
    return zone


def case_id_of(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


async def team_list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    actor = await fresh_profile(dialog_manager)
    locale = locale_of(dialog_manager)
    zone = await reader_zone(dialog_manager, case_id_of(dialog_manager))
    try:
        async with reading(dialog_manager) as session:
            found = await meetings.case_meetings(
                session, actor=actor, case_id=case_id_of(dialog_manager), now=app.now()
            )
    except Refused:
        found = []
    items = []
    for view in found:
        state = gettext(STATES.get(view.state, view.state)).format(name=escape(view.booked_name or ""))
        items.append((str(view.id), f"{format_when(view.starts_at, locale, zone)} · {state}"))
    return {"items": items, "empty": not items, "zone": zone}


async def team_meeting_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    zone = await reader_zone(dialog_manager, case_id_of(dialog_manager))
    async with reading(dialog_manager) as session:
        view = await meetings.get_view(session, int(dialog_manager.dialog_data.get("meeting_id", 0)))
    if view is None or view.case_id != case_id_of(dialog_manager):
        return {"text": gettext("This meeting is no longer here."), "can_fix": False, "live": False}
    lines = [describe(view, locale, zone)]
    if view.kind == MeetingKind.GENERAL:
        lines.append(gettext("<b>General meeting</b>") + (" ✅" if view.state == "fixed" else ""))
        for name, suits in view.votes:
            lines.append(("✅ " if suits else "✖️ ") + escape(name))
        if not view.votes:
            lines.append(gettext("No answers yet."))
    elif view.booked_name:
        lines.append(gettext("Taken by {name}").format(name=escape(view.booked_name)))
    else:
        lines.append(gettext("Free"))
    return {
        "text": "\n".join(lines),
        "can_fix": view.kind == MeetingKind.GENERAL and view.state == "proposed",
        "live": view.state in ("open", "booked", "proposed", "fixed"),
    }


async def who_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    actor = await fresh_profile(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            view = await cases.open_case(
                session, actor=actor, case_id=case_id_of(dialog_manager), rules=app.rules, now=app.now()
            )
            everyone = await meetings.everyone_agreed(session, view.id)
            await session.commit()
    except Refused:
        return {"people": [], "general": False, "not_general": True}
    people = [("any", gettext("Anyone taking part (first come)"))]
    people += [
        (str(p.id), gettext("Only {name}").format(name=p.first_name))
        for p in view.participants
        if p.participation_consent == "agree"
    ]
    if everyone:
        people.append(("general", gettext("An option for the general meeting")))
    return {"people": people, "general": everyone, "not_general": not everyone}


async def day_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"zone": await reader_zone(dialog_manager, case_id_of(dialog_manager))}


async def durations_getter(**_: Any) -> dict[str, Any]:
    return {"durations": [(str(d), gettext("{minutes} min").format(minutes=d)) for d in meetings.DURATIONS]}


async def formats_getter(**_: Any) -> dict[str, Any]:
    return {"formats": [(code, gettext(msgid)) for code, msgid in FORMATS.items()]}


async def place_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"phone": dialog_manager.dialog_data.get("format") == MeetingFormat.PHONE}


def draft_of(manager: DialogManager) -> SlotDraft:
    data = manager.dialog_data
    return SlotDraft(
        case_id=case_id_of(manager),
        kind=data["kind"],
        for_participant_id=data.get("for_pid"),
        day=date.fromisoformat(data["day"]),
        at=meetings.parse_time(data["time"]),
        duration_min=int(data["duration"]),
        format=data["format"],
        place=data.get("place"),
    )


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    zone = await reader_zone(dialog_manager, case_id_of(dialog_manager))
    try:
        draft = draft_of(dialog_manager)
        starts = meetings.local_to_utc(draft.day, draft.at, zone)
    except (KeyError, ValueError):
        return {"summary": gettext("Something is missing. Please start again.")}
    general = draft.kind == MeetingKind.GENERAL
    summary = gettext("{when} · {minutes} min · {how}").format(
        when=format_when(starts, locale, zone), minutes=draft.duration_min, how=label(FORMATS, draft.format)
    )
    if draft.place:
        summary += "\n" + escape(draft.place)
    summary += "\n" + (gettext("An option for the general meeting") if general else gettext("A preliminary meeting"))
    return {"summary": summary, "zone": zone}


async def my_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        mine = await meetings.for_participant(session, user_id=user_id_of(dialog_manager), now=app.now())
    if mine is None or not mine.taking_part:
        return {
            "text": gettext("Meeting times appear here after you agree to take part."),
            "booked": False,
            "can_choose": False,
            "calendar": [],
            "options": [],
            "has_options": False,
            "taking_part": False,
        }
    zone = await reader_zone(dialog_manager, mine.case_id)
    lines = []
    for view in mine.mine:
        title = (
            gettext("General meeting") if view.kind == MeetingKind.GENERAL else gettext("Meeting with the facilitator")
        )
        lines.append(f"<b>{title}</b>\n{describe(view, locale, zone)}")
    if not lines:
        lines.append(
            gettext("You have no meeting yet.")
            + " "
            + (
                gettext("Choose a time below.")
                if mine.open_slots
                else gettext("The facilitator will offer times soon.")
            )
        )
    booked = any(v.kind == MeetingKind.PRELIMINARY for v in mine.mine)
    answers = {None: N_("not answered"), True: N_("suits me"), False: N_("does not suit me")}
    return {
        "text": "\n\n".join(lines),
        "booked": booked,
        "can_choose": bool(mine.open_slots),
        "calendar": [
            (str(v.id), gettext("📅 Add to calendar: {when}").format(when=format_when(v.starts_at, locale, zone)))
            for v in mine.mine
        ],
        "options": [
            (str(v.id), f"🗳 {format_when(v.starts_at, locale, zone)} — {gettext(answers[a])}") for v, a in mine.options
        ],
        "has_options": bool(mine.options),
        "taking_part": True,
    }


async def slots_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        mine = await meetings.for_participant(session, user_id=user_id_of(dialog_manager), now=app.now())
    slots = mine.open_slots if mine else ()
    zone = await reader_zone(dialog_manager, mine.case_id if mine else None)
    return {
        "slots": [(str(v.id), f"{format_when(v.starts_at, locale, zone)} · {label(FORMATS, v.format)}") for v in slots],
        "empty": not slots,
    }


async def option_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        mine = await meetings.for_participant(session, user_id=user_id_of(dialog_manager), now=app.now())
    chosen = next(
        (v for v, _a in (mine.options if mine else ()) if v.id == dialog_manager.dialog_data.get("option")), None
    )
    if chosen is None:
        return {"text": gettext("This option is no longer open."), "open": False}
    zone = await reader_zone(dialog_manager, chosen.case_id)
    return {"text": describe(chosen, locale, zone), "open": True}
