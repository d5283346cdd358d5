"""Feedback surveys: who is asked what (``SurveyInvite``), and answers kept apart from the person.

The questions live in ``content/surveys/<key>.yaml`` (both languages), checked at start-up by
``load`` and cached. A survey reaches her as a reminder row of kind ``survey`` (``invite`` adds
both in the caller's transaction); the renderer calls ``deliver``, which makes the invite active.
Then one question at a time: ``answer`` or ``skip`` the *current* question — a button of another
question (stale, double-tapped, forged) changes nothing. An invite not finished by its
``expires_at`` is expired (lazily by every read, and by the daily ``expire``).

Anonymity: a ``SurveyAnswer`` row knows its survey and question, the case's stage and region at
the moment of answering, the month — never the person, the case or the invite. Staff read only
aggregates (``report``), and only of questions with at least ``min_answers`` answers; free text is
counted, never shown.

``invite`` and ``forget`` do NOT commit (they run inside other services' transactions); every other
function that writes ends its transaction."""

from __future__ import annotations

from bot.services.errors import Invalid, Refused
from bot.services.surveys.content import (
    DEFAULT_DIR,
    Option,
    Question,
    Survey,
    definitions,
    get,
    load,
    parse_file,
    text_of,
)
from bot.services.surveys.invites import Current, Step, answer, current, deliver, expire, forget, invite, skip
from bot.services.surveys.model import (
    ACTIVE,
    ANSWER_ID_SPACE,
    DONE,
    EXPIRED,
    KEYS,
    KINDS,
    LANGS,
    MIN_ANSWERS,
    PENDING,
    REMINDER_KIND,
    SCALE,
    TEXT_MAX,
    Closed,
    Stale,
    SurveyError,
)
from bot.services.surveys.reporting import QuestionStats, Report, SurveyStats, report

__all__ = [
    "ACTIVE",
    "ANSWER_ID_SPACE",
    "DEFAULT_DIR",
    "DONE",
    "EXPIRED",
    "KEYS",
    "KINDS",
    "LANGS",
    "MIN_ANSWERS",
    "PENDING",
    "REMINDER_KIND",
    "SCALE",
    "TEXT_MAX",
    "Closed",
    "Current",
    "Invalid",
    "Option",
    "Question",
    "QuestionStats",
    "Refused",
    "Report",
    "Stale",
    "Step",
    "Survey",
    "SurveyError",
    "SurveyStats",
    "answer",
    "current",
    "definitions",
    "deliver",
    "expire",
    "forget",
    "get",
    "invite",
    "load",
    "parse_file",
    "report",
    "skip",
    "text_of",
]
