"""What the programme services take and return."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

QUESTION_MAX = 2000


class NotNow(ValueError):
    """The decision does not fit the state: ``why`` is ``needs_data``, ``nothing_to_withdraw``,
    ``answered`` (the relative has already answered) or ``empty``."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def text_version(texts: Iterable[str]) -> str:
    """SHA-256 of the exact texts shown, in order: which words she agreed to."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Notice:
    """Whom to tell about a decision, and what (ids and codes only; the handler words it)."""

    case_id: int
    case_code: str
    participant_first_name: str
    kind: str
    purpose: str
    decision: str
    team: tuple[int, ...]  # the case's facilitator and curator
    called_off: tuple[int, ...] = ()  # everyone to tell that the general meeting is off (never who withdrew)


@dataclass(frozen=True, slots=True)
class RelativeLine:
    participant_id: int
    first_name: str
    relation: str | None
    approval: str
    answered: bool  # the relative has opened the link and decided something


@dataclass(frozen=True, slots=True)
class MyProgramme:
    participant_id: int
    case_id: int
    kind: str
    stage: int
    curator_name: str | None
    facilitator_name: str | None
    data_consent: str | None
    participation_consent: str | None
    relatives: tuple[RelativeLine, ...]  # only for the woman herself
    woman_name: str | None = None  # only for a relative: the first name of the woman whose programme it is


@dataclass(frozen=True, slots=True)
class RelativeDecision:
    token: str | None  # a new link, when she has just agreed
    tell: tuple[int, ...]  # who proposed the relative, and the case's curator
    case_code: str
    relative_name: str
    relation: str | None
    approval: str
    invited_before: bool  # a link had been issued: changing her mind revoked it


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    id: int
    case_code: str
    first_name: str
    text: str
    asked_at: datetime
