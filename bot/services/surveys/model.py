"""The survey constants and the refusals of its steps."""

from __future__ import annotations

import re

REMINDER_KIND = "survey"


KEYS = ("preliminary", "general", "followup_1m", "followup_3m", "final")


KINDS = ("scale", "choice", "text")


LANGS = ("ru", "en")


SCALE = (1, 2, 3, 4, 5)


MIN_ANSWERS = 5


ANSWER_ID_SPACE = 2**62  # random answer ids fit a signed 64-bit integer on both databases


TEXT_MAX = 3500  # a Telegram message is at most 4096 characters; an answer is stored whole up to this


_KEY = re.compile(r"^[a-z0-9_]{1,32}$")


_OPTION_KEY = re.compile(r"^[a-z0-9_]{1,24}$")  # callback data "sv:<invite>:<q>:<option>" stays < 64 bytes


_MAX_QUESTIONS = 10


_MAX_OPTIONS = 6


_MAX_TITLE = 120


_MAX_INTRO = 600


_MAX_QUESTION = 400


_MAX_OPTION = 40


PENDING, ACTIVE, DONE, EXPIRED = "pending", "active", "done", "expired"


_OPEN = (PENDING, ACTIVE)


class SurveyError(ValueError):
    """A survey file that does not follow the schema; the message names the file and the field."""


class Stale(LookupError):
    """Not the current question of an open invite of this person (an old, double-tapped or forged
    button): nothing was stored."""


class Closed(LookupError):
    """The survey has expired: nothing was stored."""
