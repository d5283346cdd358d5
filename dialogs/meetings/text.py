"""Meetings in words: formats, states, why a time was refused, one meeting in a line, the reminders
she will get. (A meeting in one line and its formats are ``bot.wording.meetings``: the reminders use them too.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.services.formatting import format_left, format_span

STATES = {
    "open": N_("free"),
    "booked": N_("taken by {name}"),
    "proposed": N_("general meeting option"),
    "fixed": N_("general meeting, fixed"),
}
INVALID = {
    "past": N_("This time has already passed. Please choose a time in the future."),
    "overlap": N_("You already have a meeting at this time. Please choose another time."),
    "no_such_time": N_("This time does not exist on that day: the clocks change. Please choose another time."),
    "not_everyone_agreed": N_("The general meeting can be offered only when everyone invited has agreed to take part."),
    "no_facilitator": N_("The case has no facilitator yet. Appoint one first."),
    "place": N_("Please write where the meeting is: an address or a link (up to 300 characters)."),
    "time": N_("I could not read this time. Please write it like 14:30."),
}

CHECK_AGAIN = N_("Please check the details and try again.")
NOT_FIXABLE = N_("This time can no longer be fixed.")


def invalid_text(field: str, fallback: str = CHECK_AGAIN) -> str:
    """Why a time was refused, in the reader's words."""
    msgid = INVALID.get(field, fallback)
    return gettext(msgid)


def reminders_toast(starts_at: datetime, now: datetime, offsets: tuple[int, ...], locale: str) -> str:
    """What she will be reminded of, from REMINDER_OFFSETS_MINUTES and the real time left."""
    ahead = sorted((o for o in offsets if starts_at - timedelta(minutes=o) > now), reverse=True)
    if not ahead:
        return gettext("Done! The meeting is soon: {left}.").format(left=format_left(starts_at - now, locale))
    spans = [gettext("{span} before").format(span=format_span(timedelta(minutes=o), locale)) for o in ahead]
    return gettext("Done! We will remind you {spans}.").format(spans=gettext(" and ").join(spans))
