"""Texts of the catalog editor shared by its dialog and the ``/catalog_history`` command."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.services import catalog_edit
from bot.services.catalog import Contact
from bot.services.catalog_edit import Change, MeasureView
from bot.services.formatting import format_date, format_datetime
from dialogs.common.getters import render_contact
from dialogs.support.dialog import CATEGORY_LABELS

FIELD_NAMES = {
    "title": N_("Title"),
    "description": N_("Description"),
    "address": N_("Address"),
    "phone": N_("Phone"),
    "url": N_("Link"),
    "valid_until": N_("Valid until"),
    "archived": N_("Archived"),
}
ACTIONS = {
    catalog_edit.CREATED: N_("➕ added"),
    catalog_edit.EDITED: N_("✏️ edited"),
    catalog_edit.ARCHIVED: N_("🗄 archived"),
    catalog_edit.RESTORED: N_("↩️ restored"),
}
PROMPTS = {
    "title": N_("The title, up to 120 characters, in one message."),
    "description": N_("What it is and how it helps, up to 600 characters."),
    "address": N_("The address, up to 200 characters."),
    "phone": N_("The phone number, up to 64 characters."),
    "url": N_("The link, starting with http:// or https://"),
    "valid_until": N_("Until which day does it hold? Write it like 31.12.2026."),
}
REASONS = {
    "empty": N_("Please type some text."),
    "too_long": N_("This is too long: up to {limit} characters, please."),
    "url": N_("This does not look like a link. It should start with http:// or https://"),
    "phone": N_("This does not look like a phone number."),
    "date": N_("I could not read this date. Please write it like 31.12.2026."),
    "past": N_("This day has already passed. Please give today or a later day."),
    "archived": N_("This entry is archived. Restore it first."),
}
TELEGRAM_LIMIT = 4096
_VALUE_SHOWN = 80


def category_name(code: str | None) -> str:
    return str(CATEGORY_LABELS[code]) if code in CATEGORY_LABELS else escape(code or "")


def invalid_text(exc: catalog_edit.Invalid) -> str:
    msgid = REASONS.get(exc.reason, REASONS["empty"])
    return gettext(msgid).format(limit=catalog_edit.LIMITS.get(exc.field, ""))


def contact_of(view: MeasureView, locale: str) -> Contact:
    return Contact(
        key=view.key,
        region_code=view.region_code,
        category=view.category,
        title=view.text("title", locale) or "",
        description=view.text("description", locale) or "",
        address=view.text("address", locale),
        phone=view.phone,
        url=view.url,
    )


def summary(view: MeasureView, locale: str) -> str:
    """A short HTML text about the entry, for a broadcast to those subscribed to its category."""
    return render_contact(contact_of(view, locale))


def card(view: MeasureView, locale: str, today: date) -> str:
    lines = [render_contact(contact_of(view, locale))]
    if view.valid_until:
        lines.append(gettext("⏳ Valid until {day}").format(day=format_date(view.valid_until, locale)))
    if view.archived:
        lines.append(gettext("🗄 Archived: people do not see it."))
    elif view.expired(today):
        lines.append(gettext("⌛ Expired: people no longer see it. Change the day or archive it."))
    return "\n".join(lines)


def _value(field: str, value: Any, locale: str) -> str:
    if value in (None, "", {}):
        return "—"
    if isinstance(value, dict):
        value = value.get(locale) or value.get("ru") or next(iter(value.values()), "")
    if field == "archived":
        return gettext("yes") if value else gettext("no")
    if field == "valid_until":
        return format_date(date.fromisoformat(str(value)), locale, fmt="short")
    text = " ".join(str(value).split())
    if len(text) > _VALUE_SHOWN:
        text = text[: _VALUE_SHOWN - 1] + "…"
    return escape(text)


def _block(change: Change, locale: str, zone: str) -> str:
    before, after = change.before or {}, change.after or {}
    title = _value("title", after.get("title") or before.get("title"), locale)
    if change.actor_name:
        who = escape(change.actor_name)
    elif change.actor_id is not None:  # a team member not named yet: /setname gives a name
        who = gettext("a team member without a name")
    else:
        who = "—"
    lines = [
        "<b>{when}</b> · {action} · {who}".format(
            when=format_datetime(change.at, locale, zone, fmt="short"),
            action=gettext(ACTIONS.get(change.action, change.action)),
            who=who,
        ),
        "{title} · {region} · {category}".format(
            title=title, region=escape(change.region_code), category=category_name(after.get("category"))
        ),
    ]
    for field in FIELD_NAMES:
        old, new = before.get(field), after.get(field)
        if old == new or (change.before is None and new in (None, False)):
            continue
        lines.append(f"  {gettext(FIELD_NAMES[field])}: {_value(field, old, locale)} → {_value(field, new, locale)}")
    return "\n".join(lines)


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units


def history_text(changes: list[Change], locale: str, zone: str) -> str:
    """The latest changes, newest first, as many as fit in one message."""
    if not changes:
        return gettext("No changes have been made in the bot yet.")
    text = gettext("<b>🗂 Latest changes in the catalog</b>")
    shown = 0
    for change in changes:
        block = _block(change, locale, zone)
        if _length(text) + _length(block) + 2 > TELEGRAM_LIMIT - 100:
            break
        text += "\n\n" + block
        shown += 1
    if shown < len(changes):
        text += "\n\n" + gettext("…and {count} earlier ones.").format(count=len(changes) - shown)
    return text
