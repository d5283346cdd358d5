"""What the meeting services take and return, and their constants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from db.models import (
    MeetingState,
)

DURATIONS = (30, 45, 60, 90, 120)


LIVE = (MeetingState.OPEN, MeetingState.BOOKED, MeetingState.PROPOSED, MeetingState.FIXED)


PLACE_MAX = 300


REMINDER_KIND = "meeting"  # payload {"before": minutes}


FOLLOWUP_KIND = "meeting_followup"  # after the meeting: starts its survey; payload {"survey": key}


class Taken(Exception):
    """The slot is no longer free: someone else took it, or the facilitator took it back."""


@dataclass(frozen=True, slots=True)
class SlotDraft:
    case_id: int
    kind: str
    for_participant_id: int | None
    day: date
    at: time
    duration_min: int
    format: str
    place: str | None


@dataclass(frozen=True, slots=True)
class MeetingView:
    id: int
    case_id: int
    case_code: str
    kind: str
    state: str
    starts_at: datetime
    duration_min: int
    format: str
    place: str | None
    for_participant_id: int | None
    booked_by: int | None
    booked_name: str | None
    facilitator_id: int | None
    timezone: str  # the facilitator's zone, in which the time was entered
    votes: tuple[tuple[str, bool], ...] = ()  # (first name, suits) for the general meeting's options


@dataclass(frozen=True, slots=True)
class Changed:
    """What happened to a meeting, and whom to tell (Telegram ids)."""

    meeting_id: int
    case_code: str
    tell: tuple[int, ...]
    starts_at: datetime
    kind: str


@dataclass(frozen=True, slots=True)
class MyMeetings:
    case_id: int
    participant_id: int
    taking_part: bool
    mine: tuple[MeetingView, ...]  # her booked preliminary meeting(s) and the fixed general meeting
    open_slots: tuple[MeetingView, ...]  # preliminary slots she may take (none while she has one)
    options: tuple[tuple[MeetingView, bool | None], ...]  # general-meeting options and her answer
    facilitator_id: int | None


@dataclass(frozen=True, slots=True)
class Booked:
    meeting_id: int
    starts_at: datetime
    facilitator_id: int | None
    first_name: str
    case_code: str
    moved_from: datetime | None  # her earlier slot, released (a reschedule)
