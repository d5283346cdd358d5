"""The daily digests of the team: who gets one, and one per person and day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.users import Profile, get_profile
from db import upsert
from db.models import (
    DigestSent,
    Role,
    User,
)


async def claim_digest(
    session: AsyncSession, *, kind: str, user_id: int, day: date, now: datetime, commit: bool = True
) -> bool:
    """True for the one instance that may send this person's digest of this day. With
    ``commit=False`` the mark joins the caller's transaction (the digest's row is queued in it, so
    both are written or neither)."""
    result = await session.execute(
        upsert.insert(session, DigestSent).values(kind=kind, user_id=user_id, day=day, at=now).on_conflict_do_nothing()
    )
    if commit:
        await session.commit()
    return cast(CursorResult[Any], result).rowcount == 1


async def digest_recipients(session: AsyncSession) -> list[Profile]:
    ids = (
        await session.scalars(
            select(User.id).where(User.role.in_([Role.STAFF.value, Role.ADMIN.value]), User.blocked_bot.is_(False))
        )
    ).all()
    profiles = [p for p in [await get_profile(session, i) for i in ids] if p is not None]
    await session.commit()
    return profiles
