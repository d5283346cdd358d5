"""Meetings, window by window: the team's side (offering times) and the participant's ("My meetings")."""

from __future__ import annotations

from aiogram import F
from aiogram.types import ContentType
from aiogram_dialog import Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from dialogs.common.calendar import LocalizedCalendar
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button, on_not_text
from dialogs.meetings.getters import (
    confirm_getter,
    day_getter,
    durations_getter,
    formats_getter,
    my_getter,
    option_getter,
    place_getter,
    slots_getter,
    team_list_getter,
    team_meeting_getter,
    who_getter,
)
from dialogs.meetings.handlers import (
    on_calendar_file,
    on_cancel_mine,
    on_day,
    on_duration,
    on_fix,
    on_format,
    on_no_place,
    on_offer,
    on_option,
    on_other_time,
    on_place,
    on_slot,
    on_take_back,
    on_team_meeting,
    on_time,
    on_vote,
    on_who,
)
from dialogs.states import MyMeetingsSG, TeamMeetingsSG


def team_windows() -> list[Window]:
    back = SwitchTo(Tr("◀ Back"), id="list", state=TeamMeetingsSG.list)
    return [
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
    ]


def offer_windows() -> list[Window]:
    back = SwitchTo(Tr("◀ Back"), id="list", state=TeamMeetingsSG.list)
    return [
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
    ]


def my_windows() -> list[Window]:
    back = SwitchTo(Tr("◀ Back"), id="main", state=MyMeetingsSG.main)
    return [
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
    ]
