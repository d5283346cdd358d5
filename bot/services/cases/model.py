"""What the case services take and return: rules, drafts, views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# No 0/O, 1/I/L or U: a code read out over the phone is not misheard. 30^8 ≈ 6.6·10^11 codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


CODE_LENGTH = 8


STAGES = (1, 2, 3, 4, 5)


REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class Rules:
    """Deadlines in working days (Settings), passed in so the services stay free of configuration."""

    handoff: int = 2
    programme_min: int = 10
    programme_max: int = 30
    report: int = 1
    invite_ttl_days: int = 30


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str  # "handoff" (stage 1), "programme" (stages 2-3), "report" (stage 4)
    due: date
    overdue: bool
    late_by: int  # working days past due, 0 when not overdue


@dataclass(frozen=True, slots=True)
class CaseDraft:
    first_name: str
    region_code: str
    release_date: date
    parole: bool
    programme_type: str
    curator_id: int | None
    facilitator_id: int | None


@dataclass(frozen=True, slots=True)
class Registered:
    case_id: int
    code: str
    woman_participant_id: int
    woman_token: str


@dataclass(frozen=True, slots=True)
class ParticipantView:
    id: int
    kind: str
    first_name: str
    relation: str | None
    approval: str
    joined: bool
    link_open: bool  # an unused, unexpired, unrevoked link exists
    data_consent: str | None  # latest decision, or None when not asked yet
    participation_consent: str | None


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    code: str
    first_name: str
    region_code: str
    release_date: date
    parole: bool
    programme_type: str
    curator_id: int | None
    curator_name: str | None
    facilitator_id: int | None
    facilitator_name: str | None
    stage: int
    stage_since: datetime
    deadline: Deadline | None
    participants: tuple[ParticipantView, ...]
    can_move_stage: bool
    can_manage_people: bool
    closed_at: datetime | None = None
    result: str | None = None  # the accounting card's result code, once closed


@dataclass(frozen=True, slots=True)
class CaseLine:
    id: int
    code: str
    first_name: str
    stage: int
    region_code: str
    deadline: Deadline | None


@dataclass(frozen=True, slots=True)
class TeamMember:
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Proposal:
    participant_id: int
    woman_user_id: int | None  # to ask her now; None until she has opened her link
