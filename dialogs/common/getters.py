"""Data every flow reads: the reader's current region and locale, fresh from the database.

Getters read in a short transaction of their own (``reading``): the connection goes back to the
pool before the screen is sent to Telegram, so slow networks never hold the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram_dialog import DialogManager
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services import catalog, users
from bot.services.catalog import Contact, RegionInfo
from bot.wording.labels import region_name


@asynccontextmanager
async def reading(manager: DialogManager) -> AsyncIterator[AsyncSession]:
    app: AppContext = manager.middleware_data["app"]
    async with app.db() as session:
        yield session


def user_id_of(manager: DialogManager) -> int:
    """Whoever the update is from (also inside the error handler, whose event is an ErrorEvent)."""
    person = manager.middleware_data.get("event_from_user") or manager.event.from_user  # type: ignore[union-attr]  # an ErrorEvent has event_from_user
    assert person is not None  # every update a dialog handles has a sender
    return person.id


async def current_region(manager: DialogManager, session: AsyncSession) -> tuple[str | None, RegionInfo | None]:
    """Her chosen region, else the service's default one (DEFAULT_REGION), else none."""
    app: AppContext = manager.middleware_data["app"]
    profile = await users.get_profile(session, user_id_of(manager))
    code = profile.region if profile and profile.region else app.default_region
    return code, await catalog.region(session, code)


def locale_of(manager: DialogManager) -> str:
    i18n: I18n = manager.middleware_data["i18n"]
    return i18n.current_locale


def has_local(region: RegionInfo | None) -> bool:
    """Whether she sees a region's own numbers, not only those that work everywhere."""
    return region is not None and not region.is_federal


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
    async with reading(dialog_manager) as session:
        _code, region = await current_region(dialog_manager, session)
    return {"region_name": region_name(region, locale_of(dialog_manager)), "has_region": has_local(region)}


async def fresh_profile(manager: DialogManager) -> users.Profile:
    """The actor as the database knows her now: a role taken away a minute ago counts."""
    async with reading(manager) as session:
        profile = await users.get_profile(session, user_id_of(manager))
        await session.commit()
    return profile or manager.middleware_data["profile"]
