"""Data every flow reads: the reader's current region and locale, fresh from the database."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services import catalog, users
from bot.services.catalog import Contact, RegionInfo


async def current_region(manager: DialogManager) -> tuple[str | None, RegionInfo | None]:
    """Her chosen region, else the service's default one (DEFAULT_REGION), else none."""
    data = manager.middleware_data
    session: AsyncSession = data["session"]
    app: AppContext = data["app"]
    profile = await users.get_profile(session, manager.event.from_user.id)  # type: ignore[union-attr]
    code = profile.region if profile and profile.region else app.default_region
    return code, await catalog.region(session, code)


def locale_of(manager: DialogManager) -> str:
    i18n: I18n = manager.middleware_data["i18n"]
    return i18n.current_locale


def region_name(region: RegionInfo | None, locale: str) -> str:
    return escape(region.title(locale)) if region else gettext("not chosen")


def render_contact(contact: Contact) -> str:
    lines = [f"<b>{escape(contact.title)}</b>", escape(contact.description)]
    if contact.phone:
        lines.append(f"📞 {escape(contact.phone)}")
    if contact.address:
        lines.append(f"📍 {escape(contact.address)}")
    if contact.url:
        lines.append(f"🔗 {escape(contact.url)}")
    return "\n".join(lines)


async def region_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    _code, region = await current_region(dialog_manager)
    return {"region_name": region_name(region, locale_of(dialog_manager)), "has_region": has_local(region)}


def has_local(region: RegionInfo | None) -> bool:
    """Whether she sees a region's own numbers, not only those that work everywhere."""
    return region is not None and not region.is_federal
