"""Meetings: preliminary slots the facilitator offers and participants take, options for the general
meeting that everyone answers, and the reminders that go with them.

Times are entered in the facilitator's time zone and stored in UTC; each person sees them in hers.
A slot is taken by one conditional UPDATE (``… WHERE state = 'open'``): of two people pressing the
same slot at once, the database lets exactly one through."""

from __future__ import annotations

from bot.services.meetings.facilitator import (
    call_off_general,
    case_meetings,
    fix_general,
    offer,
    release_bookings,
    take_back,
)
from bot.services.meetings.model import (
    DURATIONS,
    FOLLOWUP_KIND,
    LIVE,
    PLACE_MAX,
    REMINDER_KIND,
    Booked,
    Changed,
    MeetingView,
    MyMeetings,
    SlotDraft,
    Taken,
)
from bot.services.meetings.participant import attend, book, cancel_booking, vote
from bot.services.meetings.people import everyone_agreed
from bot.services.meetings.reminding import reminder_target, superseded
from bot.services.meetings.times import local_to_utc, parse_time, zone_of
from bot.services.meetings.views import day_list, facilitators_with_meetings, for_participant, get_view

__all__ = [
    "DURATIONS",
    "FOLLOWUP_KIND",
    "LIVE",
    "PLACE_MAX",
    "REMINDER_KIND",
    "Booked",
    "Changed",
    "MeetingView",
    "MyMeetings",
    "SlotDraft",
    "Taken",
    "attend",
    "book",
    "call_off_general",
    "cancel_booking",
    "case_meetings",
    "day_list",
    "everyone_agreed",
    "facilitators_with_meetings",
    "fix_general",
    "for_participant",
    "get_view",
    "local_to_utc",
    "offer",
    "parse_time",
    "release_bookings",
    "reminder_target",
    "superseded",
    "take_back",
    "vote",
    "zone_of",
]
