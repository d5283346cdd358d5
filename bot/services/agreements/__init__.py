"""The agreement (договор) and its follow-up: the facilitator records it, each participant says
whether it is right, the responsible people are reminded before each due day and answer Done / Need
more time / Need help; what slips is raised to the curator; when its term ends the case closes.

Every item's occurrences are check-in rows; the messages about them are reminder rows, worded when
they are sent (a check-in answered in the meantime makes its reminders drop)."""

from __future__ import annotations

from bot.services.agreements.curator import curators_with_agreements, end, weekly
from bot.services.agreements.model import (
    ITEM_MAX,
    KIND_CHECKIN,
    KIND_END,
    KIND_OVERDUE,
    MAX_ITEMS,
    REMIND_AT,
    WEEKDAYS,
    AgreementText,
    CheckinView,
    Ended,
    FamilyDigest,
    ItemDraft,
    MyItem,
    Recorded,
    Rules,
)
from bot.services.agreements.participants import (
    acknowledge,
    answer,
    checkin_view,
    mark_escalated,
    mark_missed,
    my_items,
    still_open,
    text_of,
)
from bot.services.agreements.recording import record
from bot.services.agreements.schedule import occurrences, parse_repeat
from bot.services.errors import Invalid, Refused

__all__ = [
    "ITEM_MAX",
    "KIND_CHECKIN",
    "KIND_END",
    "KIND_OVERDUE",
    "MAX_ITEMS",
    "REMIND_AT",
    "WEEKDAYS",
    "AgreementText",
    "CheckinView",
    "Ended",
    "FamilyDigest",
    "Invalid",
    "ItemDraft",
    "MyItem",
    "Recorded",
    "Refused",
    "Rules",
    "acknowledge",
    "answer",
    "checkin_view",
    "curators_with_agreements",
    "end",
    "mark_escalated",
    "mark_missed",
    "my_items",
    "occurrences",
    "parse_repeat",
    "record",
    "still_open",
    "text_of",
    "weekly",
]
