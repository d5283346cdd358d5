"""The audience: who a broadcast reaches (roles, regions, stages, subscriptions), within the actor's
scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import Refused
from bot.services.subscriptions import subscribers
from bot.services.users import Profile
from db.models import (
    Case,
    Participant,
    Role,
    User,
)

# Who can be addressed: roles as stored on users; "none" is everyone who has no role yet.
ROLES = ("woman", "relative", "curator", "facilitator", "staff", "none")


STAGE_ROLES = ("woman", "relative")  # the case stage filter applies to these


STAGES = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Audience:
    roles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # empty: every region (admins only)
    stages: tuple[int, ...] = ()  # empty: any stage; applies to women and relatives
    categories: tuple[str, ...] = ()  # empty: no subscription filter

    def to_json(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "regions": list(self.regions),
            "stages": list(self.stages),
            "categories": list(self.categories),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        category = data.get("category")
        categories = list(data.get("categories") or ([category] if category else []))
        return cls(
            roles=tuple(r for r in ROLES if r in (data.get("roles") or [])),
            regions=tuple(sorted({str(r) for r in data.get("regions") or []})),
            stages=tuple(s for s in STAGES if s in {int(x) for x in data.get("stages") or []}),
            categories=tuple(sorted({str(c) for c in categories})),
        )


def in_scope(actor: Profile, audience: Audience) -> Audience:
    """Staff address their own region only (``scope_region``); admins any. Returns the audience with
    the staff member's region filled in; raises ``Refused`` outside it."""
    if actor.role == Role.ADMIN:
        return audience
    if actor.role != Role.STAFF or not actor.scope_region:
        raise Refused("broadcast")
    if audience.regions and set(audience.regions) != {actor.scope_region}:
        raise Refused("region")
    return Audience(audience.roles, (actor.scope_region,), audience.stages, audience.categories)


def _region_of_user(regions: Sequence[str]) -> Any:
    """A person is of a region by her own choice (/settings), by her team scope, or by the open case
    she takes part in."""
    in_case = exists().where(
        Participant.user_id == User.id,
        Participant.case_id == Case.id,
        Case.closed_at.is_(None),
        Case.region_code.in_(list(regions)),
    )
    return or_(User.region.in_(list(regions)), User.scope_region.in_(list(regions)), in_case)


async def resolve(session: AsyncSession, audience: Audience) -> list[int]:
    """The people the audience reaches now (not those who blocked the bot), by id. No commit."""
    if not audience.roles:
        return []
    by_role = []
    named = [r for r in audience.roles if r != "none"]
    for role in named:
        condition = User.role == role
        if role in STAGE_ROLES and audience.stages:
            condition = and_(
                condition,
                exists().where(
                    Participant.user_id == User.id,
                    Participant.case_id == Case.id,
                    Participant.kind == role,
                    Case.closed_at.is_(None),
                    Case.stage.in_(list(audience.stages)),
                ),
            )
        by_role.append(condition)
    if "none" in audience.roles:
        by_role.append(User.role.is_(None))
    stmt = select(User.id).where(User.blocked_bot.is_(False), or_(*by_role))
    if audience.regions:
        stmt = stmt.where(_region_of_user(audience.regions))
    ids = list((await session.scalars(stmt.order_by(User.id))).all())
    if audience.categories:
        ids = await _subscribed(session, ids, audience)
    return ids


async def _subscribed(session: AsyncSession, ids: list[int], audience: Audience) -> list[int]:
    keep = set()
    for category in audience.categories:
        found = await subscribers(session, category=category, regions=list(audience.regions))
        keep |= {getattr(p, "user_id", getattr(p, "id", p)) for p in found}
    return [i for i in ids if i in keep]
