"""A meeting in plain words, for the screens and for the reminders the bot sends on its own."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.services.formatting import format_when
from bot.services.meetings import MeetingView
from bot.wording.labels import label

FORMATS = {
    "in_person": N_("in person"),
    "phone": N_("by phone"),
    "video": N_("video call"),
}


def describe(view: MeetingView, locale: str, timezone: str) -> str:
    """One meeting in plain words: when, how long, how, where."""
    when = format_when(view.starts_at, locale, timezone)
    how = label(FORMATS, view.format)
    line = gettext("{when} · {minutes} min · {how}").format(when=when, minutes=view.duration_min, how=how)
    if view.place:
        line += "\n" + escape(view.place)
    return line
