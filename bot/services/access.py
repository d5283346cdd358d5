"""Who may see and change which case, checked on every call that names one (never by the caller):
an admin every case; staff the cases of their ``scope_region``; a curator or a facilitator only the
cases they are appointed to. A refusal is audited. Below cases and invitations, which both ask it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import Refused
from bot.services.users import Profile
from db.models import Case, Role


def in_scope(actor: Profile) -> ColumnElement[bool]:
    if actor.role == Role.ADMIN:
        return true()
    if actor.role == Role.STAFF:
        return Case.region_code == actor.scope_region if actor.scope_region else false()
    if actor.role == Role.CURATOR:
        return Case.curator_id == actor.user_id
    if actor.role == Role.FACILITATOR:
        return Case.facilitator_id == actor.user_id
    return false()


def can_see(actor: Profile, case: Case) -> bool:
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.STAFF:
        return actor.scope_region is not None and case.region_code == actor.scope_region
    if actor.role == Role.CURATOR:
        return case.curator_id == actor.user_id
    if actor.role == Role.FACILITATOR:
        return case.facilitator_id == actor.user_id
    return False


def can_move_stage(actor: Profile, case: Case) -> bool:
    """The facilitator of the case, staff of its region, admins. Curators follow, they do not move."""
    return can_see(actor, case) and actor.role in (Role.ADMIN, Role.STAFF, Role.FACILITATOR)


def can_register(actor: Profile, region_code: str) -> bool:
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.STAFF and actor.scope_region == region_code


async def refuse(
    session: AsyncSession, actor: Profile, attempted: str, case_id: int | str | None, *, now: datetime
) -> Refused:
    await audit.denied(
        session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted=attempted, now=now
    )
    return Refused(attempted)


async def load_visible(session: AsyncSession, actor: Profile, case_id: int, attempted: str, *, now: datetime) -> Case:
    """The case if the actor may see it; otherwise the refusal is audited and ``Refused`` raised."""
    case = await session.get(Case, case_id)
    if case is None or not can_see(actor, case):
        raise await refuse(session, actor, attempted, case_id, now=now)
    return case
