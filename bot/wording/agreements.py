"""An agreement in plain words: on the screens, and in "is this what we agreed?" sent on its own."""

from __future__ import annotations

from datetime import date
from html import escape

from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.services import agreements
from bot.services.formatting import format_date

WEEKDAY_NAMES = (
    N_("every Monday"),
    N_("every Tuesday"),
    N_("every Wednesday"),
    N_("every Thursday"),
    N_("every Friday"),
    N_("every Saturday"),
    N_("every Sunday"),
)


def when_text(due: date | None, repeat: str | None, locale: str) -> str:
    if repeat == "daily":
        return gettext("every day")
    if repeat and repeat.startswith("weekly:"):
        return gettext(WEEKDAY_NAMES[int(repeat.split(":", 1)[1])])
    return gettext("by {day}").format(day=format_date(due, locale)) if due else ""


def render_agreement(text: agreements.AgreementText, locale: str) -> str:
    lines = [gettext("<b>Our agreement</b> (case {code})").format(code=text.case_code), ""]
    for n, (what, names, due, repeat) in enumerate(text.items, 1):
        lines.append(
            "{n}. {what}\n   {who} · {when}".format(
                n=n, what=escape(what), who=escape(", ".join(names)), when=when_text(due, repeat, locale)
            )
        )
    lines.append("")
    lines.append(gettext("Valid until {day}.").format(day=format_date(text.valid_until, locale)))
    if text.consequences:
        lines.append(gettext("If an item is not kept: {what}").format(what=escape(text.consequences)))
    return "\n".join(lines)
