"""Names of codes (stages, relations, programme types, decisions) in the reader's language."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.services.catalog import RegionInfo
from db.models import Role

RELATIONS = {
    "mother": N_("mother"),
    "partner": N_("partner"),
    "adult_child": N_("adult son or daughter"),
    "guardian": N_("guardian of the children"),
    "other": N_("someone close"),
}

PROGRAMME_TYPES = {
    "reconciliation": N_("Reconciliation (not relatives)"),
    "family_reconciliation": N_("Reconciliation in the family"),
    "family_conference": N_("Family conference"),
    "harm_repair": N_("Repairing harm"),
    "school_conference": N_("School conference"),
    "circle_of_care": N_("Circle of care (with specialists)"),
    "shuttle_mediation": N_("Shuttle mediation"),
}

# For the team: the stage as the practice names it.
STAGE_NAMES = {
    1: N_("1 · Information and data collection"),
    2: N_("2 · Preliminary meetings with each side"),
    3: N_("3 · General meeting"),
    4: N_("4 · Documents on the results"),
    5: N_("5 · Feedback and keeping the agreement"),
}

# For participants: where things are, in plain words, and what comes next.
STAGE_PLAIN = {
    1: N_("The team is getting ready and finding a facilitator for you."),
    2: N_("The facilitator meets each side separately, one by one."),
    3: N_("The time of the general meeting, where everyone talks together."),
    4: N_("What you agreed is being written down."),
    5: N_("You are keeping to what you agreed; we check in from time to time."),
}
STAGE_NEXT = {
    1: N_("The facilitator will offer you a time for a first talk, just the two of you."),
    2: N_("When everyone is ready and agrees, a general meeting."),
    3: N_("Writing down what you agreed."),
    4: N_("We will ask you now and then how things are going."),
    5: N_("We will ask you now and then how things are going."),
}

DECISIONS = {
    None: N_("not decided yet"),
    "agree": N_("you agreed"),
    "decline": N_("you said no"),
    "ask": N_("you asked a question first"),
    "withdraw": N_("you withdrew"),
}

# The same decisions as the team reads them about someone else.
DECISIONS_TEAM = {
    None: N_("not asked yet"),
    "agree": N_("agreed"),
    "decline": N_("declined"),
    "ask": N_("asked a question"),
    "withdraw": N_("withdrew"),
}

APPROVALS = {
    "pending": N_("waiting for her answer"),
    "approved": N_("she agreed to invite"),
    "declined": N_("she does not want to invite"),
    "later": N_("she will decide later"),
}

DEADLINES = {
    "handoff": N_("hand the case to the facilitator"),
    "programme": N_("hold the general meeting"),
    "report": N_("write the report"),
}


def label(table: dict, key: object) -> str:
    msgid = table.get(key)
    return gettext(msgid) if msgid else str(key)


ROLE_NAMES = {
    None: N_("no role yet"),
    Role.WOMAN: N_("participant"),
    Role.RELATIVE: N_("relative"),
    Role.CURATOR: N_("curator"),
    Role.FACILITATOR: N_("facilitator"),
    Role.STAFF: N_("staff"),
    Role.ADMIN: N_("admin"),
}


def role_name(role: str | None) -> str:
    return gettext(ROLE_NAMES[Role(role) if role else None])


# Where a request to take part says she is in her release.
RELEASE_LABELS = {
    "released": N_("already released"),
    "soon": N_("within six months"),
    "later": N_("later than that"),
    None: N_("not said"),
}


def region_name(region: RegionInfo | None, locale: str) -> str:
    return escape(region.title(locale)) if region else gettext("not chosen")
