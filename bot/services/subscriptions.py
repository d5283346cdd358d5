"""Which updates a person wants, by need category (``catalog.CATEGORIES``).

Without a row she is subscribed: by default everyone gets the updates of every category for her
region. A row records her own choice, on or off, per category.

Who gets a broadcast about a category (``subscribers``):

- people who have not blocked the bot and have not turned the category off;
- ``regions=None`` (or an empty list) — a broadcast for the whole country — reaches everyone,
  whatever their region;
- a list of regions reaches people whose chosen region is in it. The "federal" pseudo-region stands
  for the whole country: a list containing it is the same as ``None`` (a federal measure matters
  everywhere);
- people who have chosen no region (``None``) or whose region is "federal" therefore get the
  region-less (whole-country) broadcasts only: the bot does not guess a region for them.

Roles are not filtered here: a broadcaster that wants participants only combines
``subscribers_query`` with its own conditions.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalog
from db import upsert
from db.models import Subscription, User


def _check(category: str) -> None:
    if category not in catalog.CATEGORIES:
        raise ValueError(f"unknown category {category!r}")


async def get(session: AsyncSession, user_id: int) -> dict[str, bool]:
    """Every category, in ``catalog.CATEGORIES`` order, with whether she gets its updates. Only reads
    (no commit), so another service may call it inside its own transaction."""
    chosen = {
        row.category: row.subscribed
        for row in await session.scalars(select(Subscription).where(Subscription.user_id == user_id))
    }
    return {category: chosen.get(category, True) for category in catalog.CATEGORIES}


async def set(session: AsyncSession, user_id: int, category: str, on: bool) -> dict[str, bool]:
    """Records her choice for one category (an upsert: two taps at once never collide); returns all."""
    _check(category)
    values = {"user_id": user_id, "category": category, "subscribed": on}
    stmt = upsert.insert(session, Subscription).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["user_id", "category"], set_={"subscribed": on})
    await session.execute(stmt)
    await session.commit()
    return await get(session, user_id)


def subscribers_query(*, category: str, regions: list[str] | None) -> Select[int]:
    """The ids of people who get an update about ``category`` for ``regions`` (see the module)."""
    _check(category)
    unsubscribed = exists().where(
        and_(
            Subscription.user_id == User.id,
            Subscription.category == category,
            Subscription.subscribed.is_(False),
        )
    )
    stmt = select(User.id).where(User.blocked_bot.is_(False), ~unsubscribed).order_by(User.id)
    if regions and catalog.FEDERAL not in regions:
        stmt = stmt.where(User.region.in_(list(regions)))
    return stmt


async def subscribers(session: AsyncSession, *, category: str, regions: list[str] | None) -> list[int]:
    """The ids of people who get an update about ``category`` for ``regions``, by id. Only reads (no
    commit): the broadcaster calls it inside its own transaction."""
    return list(await session.scalars(subscribers_query(category=category, regions=regions)))
