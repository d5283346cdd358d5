"""The participant's side: her consents, her questions, her programme, and whom she lets us invite.

Consent is informed, separate for each person and for each purpose (her personal data; taking part
in the meetings), and withdrawable at any moment. Every decision is a row in ``consent_events`` with
the hash of the exact text she was shown; the latest row per purpose is the state."""

from __future__ import annotations

from bot.services.errors import Refused
from bot.services.programme.consent import ask_first, decide, leave_all, purposes_to_ask, refuse
from bot.services.programme.model import (
    QUESTION_MAX,
    MyProgramme,
    Notice,
    NotNow,
    OpenQuestion,
    RelativeDecision,
    RelativeLine,
    text_version,
)
from bot.services.programme.questions import answer_question, open_questions
from bot.services.programme.reading import has_programme, my_programmes, woman_of
from bot.services.programme.relatives import decide_relative

__all__ = [
    "QUESTION_MAX",
    "MyProgramme",
    "NotNow",
    "Notice",
    "OpenQuestion",
    "Refused",
    "RelativeDecision",
    "RelativeLine",
    "answer_question",
    "ask_first",
    "decide",
    "decide_relative",
    "has_programme",
    "leave_all",
    "my_programmes",
    "open_questions",
    "purposes_to_ask",
    "refuse",
    "text_version",
    "woman_of",
]
