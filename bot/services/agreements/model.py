"""What the agreement services take and return, and their constants."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

ITEM_MAX = 500


MAX_ITEMS = 20


REMIND_AT = time(10, 0)  # local time of day for check-in messages


KIND_CHECKIN = "checkin"  # payload {"checkin": id, "step": "before" | "day" | "missed"}


KIND_OVERDUE = "item_overdue"  # to the curator; payload {"checkin": id}


KIND_END = "agreement_end"  # payload {"agreement": id}


WEEKDAYS = range(7)  # Monday 0 … Sunday 6


@dataclass(frozen=True, slots=True)
class ItemDraft:
    text: str
    responsible: tuple[int, ...]  # participant ids
    due_date: date | None = None
    repeat: str | None = None  # "daily" or "weekly:<0-6>"


@dataclass(frozen=True, slots=True)
class Rules:
    days_before: int = 3
    escalate_after: int = 3


@dataclass(frozen=True, slots=True)
class Recorded:
    agreement_id: int
    case_code: str
    recipients: tuple[int, ...]  # Telegram ids of the participants, to acknowledge it


@dataclass(frozen=True, slots=True)
class AgreementText:
    agreement_id: int
    case_code: str
    valid_until: date
    consequences: str | None
    items: tuple[tuple[str, tuple[str, ...], date | None, str | None], ...]  # text, names, due, repeat
    facilitator_id: int | None


@dataclass(frozen=True, slots=True)
class MyItem:
    text: str
    due: date | None  # the next open day, if any
    repeat: str | None
    done: int
    open_past: int  # days passed without "done"


@dataclass(frozen=True, slots=True)
class CheckinView:
    id: int
    item_text: str
    due_date: date
    state: str
    user_id: int
    first_name: str
    case_id: int
    case_code: str
    curator_id: int | None
    facilitator_id: int | None
    timezone: str


@dataclass(frozen=True, slots=True)
class FamilyDigest:
    case_code: str
    kept: list[str] = field(default_factory=list)
    coming: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Ended:
    case_id: int
    case_code: str
    region_code: str
    people: tuple[int, ...]
