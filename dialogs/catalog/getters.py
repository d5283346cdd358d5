"""The catalog editor: what its screens show (regions, needs, entries, an entry's card, the value asked for)."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager

from bot.services import catalog, catalog_edit
from bot.services.catalog import Contact
from bot.services.formatting import format_date
from bot.services.users import Profile
from db.models import Role
from dialogs.catalog.text import PROMPTS, card, category_name
from dialogs.common.getters import locale_of, reading, render_contact
from dialogs.common.scope import scope


def actor_of(manager: DialogManager) -> Profile:
    """Who presses; the service reads her role afresh from the database on every call."""
    return scope(manager).speaker


async def region_today(manager: DialogManager) -> date:
    async with reading(manager) as session:
        region = await catalog.region(session, manager.dialog_data.get("region"))
    return scope(manager).app.today(region.timezone if region else None)


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        found = await catalog_edit.editable_regions(session, actor=actor_of(dialog_manager))
    return {"regions": [(r.code, r.title(locale)) for r in found]}


async def region_name_of(manager: DialogManager) -> str:
    async with reading(manager) as session:
        region = await catalog.region(session, manager.dialog_data.get("region"))
    return escape(region.title(locale_of(manager))) if region else ""


async def categories_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {
        "region_name": await region_name_of(dialog_manager),
        "categories": [(code, category_name(code)) for code in catalog.CATEGORIES],
        "is_admin": actor_of(dialog_manager).role == Role.ADMIN,
    }


async def entries_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    data = dialog_manager.dialog_data
    locale = locale_of(dialog_manager)
    today = await region_today(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            found = await catalog_edit.entries(
                session,
                now=scope(dialog_manager).app.now(),
                actor=actor_of(dialog_manager),
                region_code=data.get("region", ""),
                category=data.get("category", ""),
            )
    except (catalog_edit.Refused, catalog_edit.Invalid):
        found, gone = [], True
    else:
        gone = False

    def label(view: catalog_edit.MeasureView) -> str:
        mark = "🗄 " if view.archived else "⌛ " if view.expired(today) else ""
        return mark + (view.text("title", locale) or view.key)

    return {
        "region_name": await region_name_of(dialog_manager),
        "category_name": category_name(data.get("category")),
        "entries": [(str(v.id), label(v)) for v in found],
        "empty": not found and not gone,
        "gone": gone,
        "ok": not gone,
    }


async def entry_view(manager: DialogManager) -> catalog_edit.MeasureView | None:
    try:
        async with reading(manager) as session:
            return await catalog_edit.get(
                session,
                actor=actor_of(manager),
                measure_id=int(manager.dialog_data.get("measure_id", 0)),
                now=scope(manager).app.now(),
            )
    except catalog_edit.Refused:
        return None


async def entry_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await entry_view(dialog_manager)
    if view is None:
        return {"gone": True, "ok": False, "live": False, "archived": False, "saved": False}
    locale = locale_of(dialog_manager)
    return {
        "gone": False,
        "ok": True,
        "head": f"{category_name(view.category)} · {await region_name_of(dialog_manager)}",
        "card": card(view, locale, await region_today(dialog_manager)),
        "live": not view.archived,
        "archived": view.archived,
        "saved": bool(dialog_manager.dialog_data.get("saved")) and not view.archived,
    }


def mode_of(manager: DialogManager) -> str:
    return str(manager.dialog_data.get("mode", "edit"))


def field_of(manager: DialogManager) -> str:
    field = str(manager.dialog_data.get("field", ""))
    return field if field in catalog_edit.FIELDS else catalog_edit.FIELDS[0]


async def value_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    field, new = field_of(dialog_manager), mode_of(dialog_manager) == "new"
    optional = field in catalog_edit.OPTIONAL
    current = ""
    if not new:
        view = await entry_view(dialog_manager)
        if view is not None:
            value = view.text(field, locale_of(dialog_manager)) if field != "valid_until" else view.valid_until
            current = "" if value is None else escape(value.strftime("%d.%m.%Y") if isinstance(value, date) else value)
    return {
        "prompt": gettext(PROMPTS[field]),
        "step": catalog_edit.FIELDS.index(field) + 1,
        "steps": len(catalog_edit.FIELDS),
        "new": new,
        "current": current,
        "has_current": bool(current),
        "can_clear": optional and not new,
        "can_skip": optional and new,
    }


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = dialog_manager.dialog_data.get("draft") or {}
    locale = locale_of(dialog_manager)
    preview = render_contact(
        Contact(
            key="",
            region_code=dialog_manager.dialog_data.get("region", ""),
            category=dialog_manager.dialog_data.get("category"),
            title=draft.get("title") or "",
            description=draft.get("description") or "",
            address=draft.get("address"),
            phone=draft.get("phone"),
            url=draft.get("url"),
        )
    )
    if draft.get("valid_until"):
        preview += "\n" + gettext("⏳ Valid until {day}").format(
            day=format_date(date.fromisoformat(draft["valid_until"]), locale)
        )
    return {
        "preview": preview,
        "region_name": await region_name_of(dialog_manager),
        "category_name": category_name(dialog_manager.dialog_data.get("category")),
    }
