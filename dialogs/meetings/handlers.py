"""Meetings: what the buttons and messages do. The facilitator offers times (a preliminary slot, or an
option for the general meeting); a participant chooses, changes, cancels, answers the options, or asks
for another time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.services import ics, meetings, notices, parse
from bot.services.cases import Invalid, Refused
from bot.wording.labels import label
from bot.wording.meetings import FORMATS
from db.models import MeetingFormat, MeetingKind
from dialogs.common.getters import fresh_profile, locale_of, reading
from dialogs.common.scope import scope
from dialogs.meetings.getters import case_id_of, draft_of, reader_zone
from dialogs.meetings.text import NOT_FIXABLE, invalid_text, reminders_toast
from dialogs.states import MyMeetingsSG, TeamMeetingsSG


async def on_team_meeting(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["meeting_id"] = int(item_id)
    await manager.switch_to(TeamMeetingsSG.meeting)


async def on_fix(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    try:
        async with s.transaction() as session:
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
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    try:
        async with s.transaction() as session:
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
    if day < scope(manager).app.today(await reader_zone(manager, case_id_of(manager))):
        await callback.answer(gettext("This day has already passed."))
        return
    manager.dialog_data["day"] = day.isoformat()
    await manager.switch_to(TeamMeetingsSG.time)


async def on_time(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    try:
        at = meetings.parse_time(message.text)
    except Invalid:
        await message.answer(invalid_text("time"))
        return
    manager.dialog_data["time"] = at.strftime("%H:%M")
    await manager.switch_to(TeamMeetingsSG.duration)


async def on_duration(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id) or int(item_id) not in meetings.DURATIONS:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["duration"] = int(item_id)
    await manager.switch_to(TeamMeetingsSG.format)


async def on_format(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id not in FORMATS:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["format"] = item_id
    await manager.switch_to(TeamMeetingsSG.place)


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


async def on_offer(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    zone = await reader_zone(manager, case_id_of(manager))
    try:
        draft = draft_of(manager)
        async with s.transaction() as session:
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


async def on_calendar_file(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    app = scope(manager).app
    async with reading(manager) as session:
        mine = await meetings.for_participant(session, user_id=callback.from_user.id, now=app.now())
    view = next((v for v in (mine.mine if mine else ()) if str(v.id) == item_id), None)
    if view is None:
        await callback.answer(gettext("This button is out of date."))
        return
    zone = await reader_zone(manager, view.case_id)
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


async def on_slot(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    s = scope(manager)
    app = s.app
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with s.transaction() as session:
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
        reminders_toast(booked.starts_at, app.now(), app.settings.reminder_offsets, locale_of(manager))
    )
    await manager.switch_to(MyMeetingsSG.main)  # the facilitator's notice is in the booking's transaction


async def on_cancel_mine(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    async with reading(manager) as session:
        mine = await meetings.for_participant(session, user_id=callback.from_user.id, now=app.now())
    view = next((v for v in (mine.mine if mine else ()) if v.kind == MeetingKind.PRELIMINARY), None)
    if view is None:
        await callback.answer(gettext("There is no meeting to cancel."))
        return
    try:
        async with s.transaction() as session:
            await meetings.cancel_booking(session, user_id=callback.from_user.id, meeting_id=view.id, now=app.now())
    except Refused:
        await callback.answer(gettext("There is no meeting to cancel."))
        return
    await callback.answer(gettext("Cancelled. You can choose another time whenever you like."))


async def on_other_time(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
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

    async with s.transaction() as session:  # her words travel encrypted; the notice is worded when sent
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


async def on_vote(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    suits = button.widget_id == "suits"
    try:
        async with s.transaction() as session:
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
