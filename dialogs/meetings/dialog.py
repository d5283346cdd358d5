"""Meetings: the facilitator offers times (a preliminary slot, or an option for the general meeting);
a participant chooses, changes, cancels, answers the options, or asks for another time.

The facilitator types times in her own zone; each participant sees them in hers, in plain words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from aiogram import F
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ContentType,
    Message,
)
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.context import AppContext
from bot.i18n import N_
from bot.services import ics, meetings, parse
from bot.services.cases import Invalid, Refused
from bot.services.formatting import format_left, format_span, format_when
from bot.services.meetings import SlotDraft
from bot.wording.labels import label
from bot.wording.meetings import FORMATS, describe
from db.models import MeetingFormat, MeetingKind
from dialogs.common.calendar import LocalizedCalendar
from dialogs.common.getters import fresh_profile, locale_of, reading, user_id_of
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button, on_not_text
from dialogs.states import MyMeetingsSG, TeamMeetingsSG

STATES = {
    "open": N_("free"),
    "booked": N_("taken by {name}"),
    "proposed": N_("general meeting option"),
    "fixed": N_("general meeting, fixed"),
}
INVALID = {
    "past": N_("This time has already passed. Please choose a time in the future."),
    "overlap": N_("You already have a meeting at this time. Please choose another time."),
    "no_such_time": N_("This time does not exist on that day: the clocks change. Please choose another time."),
    "not_everyone_agreed": N_("The general meeting can be offered only when everyone invited has agreed to take part."),
    "no_facilitator": N_("The case has no facilitator yet. Appoint one first."),
    "place": N_("Please write where the meeting is: an address or a link (up to 300 characters)."),
    "time": N_("I could not read this time. Please write it like 14:30."),
}

CHECK_AGAIN = N_("Please check the details and try again.")
NOT_FIXABLE = N_("This time can no longer be fixed.")


def invalid_text(field: str, fallback: str = CHECK_AGAIN) -> str:
    """Why a time was refused, in the reader's words."""
    msgid = INVALID.get(field, fallback)
    return gettext(msgid)


def _app(manager: DialogManager) -> AppContext:
    return manager.middleware_data["app"]


def _reminders_toast(starts_at: datetime, now: datetime, offsets: tuple[int, ...], locale: str) -> str:
    """What she will be reminded of, from REMINDER_OFFSETS_MINUTES and the real time left."""
    ahead = sorted((o for o in offsets if starts_at - timedelta(minutes=o) > now), reverse=True)
    if not ahead:
        return gettext("Done! The meeting is soon: {left}.").format(left=format_left(starts_at - now, locale))
    spans = [gettext("{span} before").format(span=format_span(timedelta(minutes=o), locale)) for o in ahead]
    return gettext("Done! We will remind you {spans}.").format(spans=gettext(" and ").join(spans))


async def _zone(manager: DialogManager, case_id: int | None = None) -> str:
    from db.models import Case

    app = _app(manager)
    async with reading(manager) as session:
        case = await session.get(Case, case_id) if case_id else None
        zone = await meetings.zone_of(session, user_id_of(manager), case, app.settings.default_timezone)
        await session.commit()
    return zone


# ============================================================ the team's side


def _case_id(manager: DialogManager) -> int:
    data = manager.start_data if isinstance(manager.start_data, dict) else {}
    return int(data.get("case_id", 0))


async def _actor(manager: DialogManager):
    return await fresh_profile(manager)


async def team_list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
    actor = await _actor(dialog_manager)
    locale = locale_of(dialog_manager)
    zone = await _zone(dialog_manager, _case_id(dialog_manager))
    try:
        async with reading(dialog_manager) as session:
            found = await meetings.case_meetings(session, actor=actor, case_id=_case_id(dialog_manager), now=app.now())
    except Refused:
        found = []
    items = []
    for view in found:
        state = gettext(STATES.get(view.state, view.state)).format(name=escape(view.booked_name or ""))
        items.append((str(view.id), f"{format_when(view.starts_at, locale, zone)} · {state}"))
    return {"items": items, "empty": not items, "zone": zone}


async def on_team_meeting(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["meeting_id"] = int(item_id)
    await manager.switch_to(TeamMeetingsSG.meeting)


async def team_meeting_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    zone = await _zone(dialog_manager, _case_id(dialog_manager))
    async with reading(dialog_manager) as session:
        view = await meetings.get_view(session, int(dialog_manager.dialog_data.get("meeting_id", 0)))
    if view is None or view.case_id != _case_id(dialog_manager):
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


async def on_fix(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await _actor(manager)
    try:
        async with app.db() as session:
            await meetings.fix_general(
                session,
                actor=actor,
                meeting_id=int(manager.dialog_data.get("meeting_id", 0)),
                now=app.now(),
                before=app.settings.reminder_offsets,
            )
    except Refused:
        await callback.answer(gettext("This case is not available to you."), show_alert=True)
        return
    except Invalid as exc:
        await callback.answer(invalid_text(exc.field, NOT_FIXABLE), show_alert=True)
        return
    await callback.answer(gettext("Fixed. Everyone is told."))
    await manager.switch_to(TeamMeetingsSG.list)  # everyone's notice is in the change's transaction


async def on_take_back(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await _actor(manager)
    try:
        async with app.db() as session:
            await meetings.take_back(
                session, actor=actor, meeting_id=int(manager.dialog_data.get("meeting_id", 0)), now=app.now()
            )
    except Refused:
        await callback.answer(gettext("This case is not available to you."), show_alert=True)
        return
    except Invalid:
        await callback.answer(gettext("This time has already been taken back."))
        return
    await callback.answer(gettext("Taken back."))
    await manager.switch_to(TeamMeetingsSG.list)  # her notice is in the change's transaction


async def who_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    from bot.services import cases

    app = _app(dialog_manager)
    actor = await _actor(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            view = await cases.open_case(
                session, actor=actor, case_id=_case_id(dialog_manager), rules=app.rules, now=app.now()
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


async def on_who(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id == "general":
        manager.dialog_data.update(kind=MeetingKind.GENERAL.value, for_pid=None)
    elif item_id == "any":
        manager.dialog_data.update(kind=MeetingKind.PRELIMINARY.value, for_pid=None)
    elif parse.digits(item_id):
        manager.dialog_data.update(kind=MeetingKind.PRELIMINARY.value, for_pid=int(item_id))
    else:
        await callback.answer(gettext("This button is out of date."))
        return
    await manager.switch_to(TeamMeetingsSG.day)


async def on_day(callback: CallbackQuery, _widget: Any, manager: DialogManager, day: date) -> None:
    if day < _app(manager).today(await _zone(manager, _case_id(manager))):
        await callback.answer(gettext("This day has already passed."))
        return
    manager.dialog_data["day"] = day.isoformat()
    await manager.switch_to(TeamMeetingsSG.time)


async def day_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"zone": await _zone(dialog_manager, _case_id(dialog_manager))}


async def on_time(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    try:
        at = meetings.parse_time(message.text)
    except Invalid:
        await message.answer(invalid_text("time"))
        return
    manager.dialog_data["time"] = at.strftime("%H:%M")
    await manager.switch_to(TeamMeetingsSG.duration)


async def durations_getter(**_: Any) -> dict[str, Any]:
    return {"durations": [(str(d), gettext("{minutes} min").format(minutes=d)) for d in meetings.DURATIONS]}


async def on_duration(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id) or int(item_id) not in meetings.DURATIONS:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["duration"] = int(item_id)
    await manager.switch_to(TeamMeetingsSG.format)


async def formats_getter(**_: Any) -> dict[str, Any]:
    return {"formats": [(code, gettext(msgid)) for code, msgid in FORMATS.items()]}


async def on_format(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id not in FORMATS:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["format"] = item_id
    await manager.switch_to(TeamMeetingsSG.place)


async def place_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"phone": dialog_manager.dialog_data.get("format") == MeetingFormat.PHONE}


async def on_place(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    place = " ".join((message.text or "").split())
    if not place or len(place) > meetings.PLACE_MAX:
        await message.answer(invalid_text("place"))
        return
    manager.dialog_data["place"] = place
    await manager.switch_to(TeamMeetingsSG.confirm)


async def on_no_place(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.dialog_data["place"] = None
    await manager.switch_to(TeamMeetingsSG.confirm)


def _draft(manager: DialogManager) -> SlotDraft:
    data = manager.dialog_data
    return SlotDraft(
        case_id=_case_id(manager),
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
    zone = await _zone(dialog_manager, _case_id(dialog_manager))
    try:
        draft = _draft(dialog_manager)
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


async def on_offer(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    actor = await _actor(manager)
    zone = await _zone(manager, _case_id(manager))
    try:
        draft = _draft(manager)
        async with app.db() as session:
            _meeting_id, _audience = await meetings.offer(
                session, actor=actor, draft=draft, timezone=zone, now=app.now()
            )
    except Refused:
        await callback.answer(gettext("This case is not available to you."), show_alert=True)
        await manager.done()
        return
    except Invalid as exc:
        await callback.answer(invalid_text(exc.field), show_alert=True)
        if exc.field in ("past", "overlap", "no_such_time"):
            await manager.switch_to(TeamMeetingsSG.day)
        return
    except (KeyError, ValueError):
        await callback.answer(gettext("Something is missing. Please start again."), show_alert=True)
        await manager.switch_to(TeamMeetingsSG.who)
        return
    await callback.answer(gettext("Offered. The people it is for are told."))
    await manager.switch_to(TeamMeetingsSG.list)  # their notices are in the offer's transaction


def team_dialog() -> Dialog:
    back = SwitchTo(Tr("◀ Back"), id="list", state=TeamMeetingsSG.list)
    return Dialog(
        Window(
            Tr("<b>🗓 Meetings</b>\n\nTimes are shown in {zone}.", when=~F["empty"]),
            Tr("<b>🗓 Meetings</b>\n\nNo times offered yet.", when=F["empty"]),
            choices("mtg", "items", on_team_meeting, page=8),
            SwitchTo(Tr("➕ Offer a time"), id="offer", state=TeamMeetingsSG.who),
            Cancel(Tr("◀ Back")),
            crisis_button(),
            getter=team_list_getter,
            state=TeamMeetingsSG.list,
        ),
        Window(
            Format("{text}"),
            Button(Tr("✅ Fix this time"), id="fix", on_click=on_fix, when=F["can_fix"]),
            Button(Tr("↩️ Take back"), id="back_out", on_click=on_take_back, when=F["live"]),
            back,
            crisis_button(),
            getter=team_meeting_getter,
            state=TeamMeetingsSG.meeting,
        ),
        Window(
            Tr("For whom is this time?"),
            Tr(
                "The general meeting can be offered when everyone invited has agreed to take part.",
                when=F["not_general"],
            ),
            choices("who", "people", on_who, page=8),
            back,
            crisis_button(),
            getter=who_getter,
            state=TeamMeetingsSG.who,
        ),
        Window(
            Tr("Which day? (times are in {zone})"),
            LocalizedCalendar(id="cal", on_click=on_day, days_ahead=180, zone_key="zone"),
            back,
            crisis_button(),
            getter=day_getter,
            state=TeamMeetingsSG.day,
        ),
        Window(
            Tr("What time? Write it like 14:30."),
            MessageInput(on_time, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            back,
            crisis_button(),
            state=TeamMeetingsSG.time,
        ),
        Window(
            Tr("How long?"),
            choices("dur", "durations", on_duration),
            back,
            crisis_button(),
            getter=durations_getter,
            state=TeamMeetingsSG.duration,
        ),
        Window(
            Tr("How will you meet?"),
            choices("fmt", "formats", on_format),
            back,
            crisis_button(),
            getter=formats_getter,
            state=TeamMeetingsSG.format,
        ),
        Window(
            Tr("Where? Write the address, or the link for a video call.", when=~F["phone"]),
            Tr("Anything to add, like the number you will call from? Or skip.", when=F["phone"]),
            MessageInput(on_place, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("Skip"), id="skip", on_click=on_no_place, when=F["phone"]),
            back,
            crisis_button(),
            getter=place_getter,
            state=TeamMeetingsSG.place,
        ),
        Window(
            Tr("<b>Offer this time?</b>\n\n{summary}"),
            Button(Tr("✅ Offer"), id="ok", on_click=on_offer),
            back,
            crisis_button(),
            getter=confirm_getter,
            state=TeamMeetingsSG.confirm,
        ),
    )


# ============================================================ the participant's side


async def my_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
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
    zone = await _zone(dialog_manager, mine.case_id)
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


async def on_calendar_file(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    app = _app(manager)
    async with reading(manager) as session:
        mine = await meetings.for_participant(session, user_id=callback.from_user.id, now=app.now())
    view = next((v for v in (mine.mine if mine else ()) if str(v.id) == item_id), None)
    if view is None:
        await callback.answer(gettext("This button is out of date."))
        return
    zone = await _zone(manager, view.case_id)
    summary = (
        gettext("General meeting") if view.kind == MeetingKind.GENERAL else gettext("Meeting with the facilitator")
    )
    data = ics.meeting_ics(
        uid=f"meeting-{view.id}@vmeste-bot",
        starts_at=view.starts_at,
        duration_min=view.duration_min,
        summary=summary,
        description=gettext("Restorative programme: {how}.").format(how=label(FORMATS, view.format)),
        location=view.place if view.format == MeetingFormat.IN_PERSON else None,
        timezone=zone,
        now=app.now(),
    )
    await callback.answer()
    await callback.message.answer_document(  # type: ignore[union-attr]  # a button's message
        BufferedInputFile(data, filename=ics.filename_for(view.starts_at, zone)),
        caption=gettext("Open this file to add the meeting to your phone's calendar."),
    )
    manager.show_mode = ShowMode.SEND


async def slots_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        mine = await meetings.for_participant(session, user_id=user_id_of(dialog_manager), now=app.now())
    slots = mine.open_slots if mine else ()
    zone = await _zone(dialog_manager, mine.case_id if mine else None)
    return {
        "slots": [(str(v.id), f"{format_when(v.starts_at, locale, zone)} · {label(FORMATS, v.format)}") for v in slots],
        "empty": not slots,
    }


async def on_slot(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    app = _app(manager)
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with app.db() as session:
            booked = await meetings.book(
                session,
                user_id=callback.from_user.id,
                meeting_id=int(item_id),
                now=app.now(),
                before=app.settings.reminder_offsets,
            )
    except meetings.Taken:
        await callback.answer(
            gettext("Someone has just taken this time, or it was withdrawn. Here are the times still free."),
            show_alert=True,
        )
        return
    except Refused:
        await callback.answer(gettext("This button is out of date."))
        return
    await callback.answer(
        _reminders_toast(booked.starts_at, app.now(), app.settings.reminder_offsets, locale_of(manager))
    )
    await manager.switch_to(MyMeetingsSG.main)  # the facilitator's notice is in the booking's transaction


async def on_cancel_mine(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    async with reading(manager) as session:
        mine = await meetings.for_participant(session, user_id=callback.from_user.id, now=app.now())
    view = next((v for v in (mine.mine if mine else ()) if v.kind == MeetingKind.PRELIMINARY), None)
    if view is None:
        await callback.answer(gettext("There is no meeting to cancel."))
        return
    try:
        async with app.db() as session:
            await meetings.cancel_booking(session, user_id=callback.from_user.id, meeting_id=view.id, now=app.now())
    except Refused:
        await callback.answer(gettext("There is no meeting to cancel."))
        return
    await callback.answer(gettext("Cancelled. You can choose another time whenever you like."))


async def on_other_time(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    app = _app(manager)
    manager.show_mode = ShowMode.SEND
    text = (message.text or "").strip()
    if not text:
        await message.answer(gettext("Please write in words when it would suit you."))
        return
    async with reading(manager) as session:
        mine = await meetings.for_participant(session, user_id=message.from_user.id, now=app.now())  # type: ignore[union-attr]  # private chat: a sender
    if mine is None or mine.facilitator_id is None:
        await message.answer(gettext("The facilitator is not appointed yet. Your curator will be in touch."))
        await manager.switch_to(MyMeetingsSG.main)
        return
    from bot.services import notices

    async with app.db() as session:  # her words travel encrypted; the notice is worded when sent
        await notices.queue(
            session,
            recipient_id=mine.facilitator_id,
            event="other_time",
            now=app.now(),
            case_id=mine.case_id,
            text=text[:1000],
            participant=mine.participant_id,
        )
        await session.commit()
    await message.answer(gettext("Thank you. The facilitator will read it and offer other times."))
    await manager.switch_to(MyMeetingsSG.main)


async def on_option(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["option"] = int(item_id)
    await manager.switch_to(MyMeetingsSG.option)


async def option_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = _app(dialog_manager)
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        mine = await meetings.for_participant(session, user_id=user_id_of(dialog_manager), now=app.now())
    chosen = next(
        (v for v, _a in (mine.options if mine else ()) if v.id == dialog_manager.dialog_data.get("option")), None
    )
    if chosen is None:
        return {"text": gettext("This option is no longer open."), "open": False}
    zone = await _zone(dialog_manager, chosen.case_id)
    return {"text": describe(chosen, locale, zone), "open": True}


async def on_vote(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    app = _app(manager)
    suits = button.widget_id == "suits"
    try:
        async with app.db() as session:
            await meetings.vote(
                session,
                user_id=callback.from_user.id,
                meeting_id=int(manager.dialog_data.get("option", 0)),
                suits=suits,
                now=app.now(),
            )
    except (meetings.Taken, Refused):
        await callback.answer(gettext("This option is no longer open."))
        await manager.switch_to(MyMeetingsSG.main)
        return
    await callback.answer(gettext("Thank you, your answer is saved."))
    await manager.switch_to(MyMeetingsSG.main)


def my_dialog() -> Dialog:
    back = SwitchTo(Tr("◀ Back"), id="main", state=MyMeetingsSG.main)
    return Dialog(
        Window(
            Tr("<b>🗓 My meetings</b>"),
            Format("{text}"),
            choices("ics", "calendar", on_calendar_file),
            SwitchTo(
                Tr("🕐 Choose a time"), id="choose", state=MyMeetingsSG.slots, when=F["can_choose"] & ~F["booked"]
            ),
            SwitchTo(
                Tr("🔁 Change the time"), id="change", state=MyMeetingsSG.slots, when=F["can_choose"] & F["booked"]
            ),
            Button(Tr("✖️ Cancel my meeting"), id="cancel", on_click=on_cancel_mine, when=F["booked"]),
            Tr("\nThe general meeting: which times suit you?", when=F["has_options"]),
            choices("opt", "options", on_option),
            SwitchTo(Tr("✍️ No time suits me"), id="other", state=MyMeetingsSG.other_time, when=F["taking_part"]),
            menu_button(),
            crisis_button(),
            getter=my_getter,
            state=MyMeetingsSG.main,
        ),
        Window(
            Tr("Which time suits you? Times are shown in your time zone.", when=~F["empty"]),
            Tr("There are no free times right now. The facilitator will offer more.", when=F["empty"]),
            choices("slot", "slots", on_slot),
            back,
            crisis_button(),
            getter=slots_getter,
            state=MyMeetingsSG.slots,
        ),
        Window(
            Tr("When would it suit you? Write it in your own words, like “weekdays after 6 pm”."),
            MessageInput(on_other_time, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            back,
            crisis_button(),
            state=MyMeetingsSG.other_time,
        ),
        Window(
            Tr("<b>The general meeting</b>"),
            Format("{text}"),
            Row(
                Button(Tr("✅ Suits me"), id="suits", on_click=on_vote),
                Button(Tr("✖️ Does not suit me"), id="nope", on_click=on_vote),
                when=F["open"],
            ),
            back,
            crisis_button(),
            getter=option_getter,
            state=MyMeetingsSG.option,
        ),
    )
