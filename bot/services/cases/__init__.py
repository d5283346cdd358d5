"""Cases: registration, who may see which, stages and their deadlines, relatives the woman approves.

Access, checked on every call that names a case (never by the caller):
- an admin sees every case; staff the cases of their ``scope_region``;
- a curator or a facilitator only the cases they are appointed to;
- participants never reach a case through here, only their own programme (``consent.my_programmes``).
Every view by the team and every refusal goes to the audit log."""

from __future__ import annotations

from bot.services.access import can_move_stage, can_register, can_see, in_scope, load_visible, refuse
from bot.services.cases.changes import move_stage, propose_relative, stage_history
from bot.services.cases.deadlines import deadline_of, local_date, programme_window
from bot.services.cases.digests import claim_digest, digest_recipients
from bot.services.cases.model import (
    CODE_ALPHABET,
    CODE_LENGTH,
    REASON_MAX,
    STAGES,
    CaseDraft,
    CaseLine,
    CaseView,
    Deadline,
    ParticipantView,
    Proposal,
    Registered,
    Rules,
    TeamMember,
)
from bot.services.cases.reading import find_code, latest_decisions, list_cases, open_case
from bot.services.cases.registration import register, team
from bot.services.checks import NAME_MAX, clean_name, parse_day
from bot.services.errors import Invalid, Refused

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "NAME_MAX",
    "REASON_MAX",
    "STAGES",
    "CaseDraft",
    "CaseLine",
    "CaseView",
    "Deadline",
    "Invalid",
    "ParticipantView",
    "Proposal",
    "Refused",
    "Registered",
    "Rules",
    "TeamMember",
    "can_move_stage",
    "can_register",
    "can_see",
    "claim_digest",
    "clean_name",
    "deadline_of",
    "digest_recipients",
    "find_code",
    "in_scope",
    "latest_decisions",
    "list_cases",
    "load_visible",
    "local_date",
    "move_stage",
    "open_case",
    "parse_day",
    "programme_window",
    "propose_relative",
    "refuse",
    "register",
    "stage_history",
    "team",
]
