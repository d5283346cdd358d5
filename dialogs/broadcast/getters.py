"""The broadcast composer: what its screens show (the draft, the audience and its exact count, the time)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager

from bot.services import broadcasts, catalog, meetings
from bot.services.broadcasts import Audience, Content, Refused
from bot.services.formatting import format_when
from bot.wording.labels import STAGE_NAMES
from db.models import Role
from dialogs.broadcast.text import CATEGORY_LABELS, ROLE_LABELS
from dialogs.common.getters import fresh_profile, locale_of, reading, user_id_of
from dialogs.common.scope import scope


def content_of(manager: DialogManager) -> Content:
    data = manager.dialog_data.get("content") or {}
    return Content(
        kind=data.get("kind", "text"),
        text=data.get("text"),
        file_id=data.get("file_id"),
        button_text=manager.dialog_data.get("button_text"),
        button_url=manager.dialog_data.get("button_url"),
    )


def audience_of(manager: DialogManager) -> Audience:
    return Audience.from_json(manager.dialog_data.get("audience"))


async def content_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = dialog_manager.dialog_data.get("draft")
    return {"has_draft": bool(draft), "draft": draft or ""}


async def audience_count(manager: DialogManager) -> int:
    actor = await fresh_profile(manager)
    try:
        audience = broadcasts.in_scope(actor, audience_of(manager))
    except Refused:
        return 0
    async with reading(manager) as session:
        people = await broadcasts.resolve(session, audience)
        await session.commit()
    return len(people)


async def region_names(manager: DialogManager) -> dict[str, str]:
    locale = locale_of(manager)
    async with reading(manager) as session:
        found = await catalog.regions(session)
        await session.commit()
    return {r.code: escape(r.title(locale)) for r in found}


async def audience_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    audience = audience_of(dialog_manager)
    actor = await fresh_profile(dialog_manager)
    names = await region_names(dialog_manager)
    nothing = gettext("any")
    regions = audience.regions or ((actor.scope_region,) if actor.role != Role.ADMIN and actor.scope_region else ())
    return {
        "roles": ", ".join(gettext(ROLE_LABELS[r]) for r in audience.roles) or gettext("nobody chosen yet"),
        "regions": ", ".join(names.get(r, escape(r)) for r in regions) or gettext("all regions"),
        "stages": ", ".join(str(s) for s in audience.stages) or nothing,
        "categories": ", ".join(gettext(CATEGORY_LABELS.get(c, c)) for c in audience.categories) or nothing,
        "count": await audience_count(dialog_manager),
        "is_admin": actor.role == Role.ADMIN,
    }


def mark(on: bool, label: str) -> str:
    return ("✅ " if on else "▫️ ") + label


async def roles_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(audience_of(dialog_manager).roles)
    return {"items": [(r, mark(r in chosen, gettext(label))) for r, label in ROLE_LABELS.items()]}


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(audience_of(dialog_manager).regions)
    names = await region_names(dialog_manager)
    return {"items": [(code, mark(code in chosen, name)) for code, name in names.items()]}


async def stages_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(audience_of(dialog_manager).stages)
    return {"items": [(str(s), mark(s in chosen, gettext(STAGE_NAMES[s]))) for s in broadcasts.STAGES]}


async def categories_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(audience_of(dialog_manager).categories)
    return {"items": [(c, mark(c in chosen, gettext(CATEGORY_LABELS[c]))) for c in catalog.CATEGORIES]}


async def reader_zone(manager: DialogManager) -> str:
    async with reading(manager) as session:
        zone = await meetings.zone_of(session, user_id_of(manager), None, scope(manager).app.settings.default_timezone)
        await session.commit()
    return zone


async def when_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    at = dialog_manager.dialog_data.get("at")
    when = ""
    if at:
        when = format_when(datetime.fromisoformat(at), locale_of(dialog_manager), await reader_zone(dialog_manager))
    return {"count": await audience_count(dialog_manager), "at": when, "scheduled": bool(at)}


async def day_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"zone": await reader_zone(dialog_manager)}
