"""Asking to take part without an invitation link: her answers (each may be skipped) reach the staff
of her region as a card; one press turns it into a case (``/newcase`` filled in with what she said)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices
from bot.services.checks import clean_name
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db.models import JoinRequest, Role, User

RELEASE_ANSWERS = ("released", "soon", "later")


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    user_id: int
    region_code: str | None
    first_name: str | None
    release: str | None
    note: str | None
    state: str
    staff: tuple[int, ...] = ()  # who is told (staff and admins of her region, else of every region)


def _request(row: JoinRequest, staff: tuple[int, ...] = ()) -> Request:
    return Request(row.id, row.user_id, row.region_code, row.first_name, row.release, row.note, row.state, staff)


async def staff_for(session: AsyncSession, region_code: str | None) -> tuple[int, ...]:
    """Staff and admins of her region; when there are none, those who work for every region."""
    for scope in ([region_code] if region_code else []) + [None]:
        rows = await session.scalars(
            select(User.id)
            .where(
                User.role.in_([Role.STAFF.value, Role.ADMIN.value]),
                User.blocked_bot.is_(False),
                User.scope_region.is_(None) if scope is None else User.scope_region == scope,
            )
            .order_by(User.id)
        )
        found = tuple(rows.all())
        if found:
            return found
    return ()


async def submit(
    session: AsyncSession,
    *,
    user_id: int,
    region_code: str | None,
    first_name: str | None,
    release: str | None,
    note: str | None,
    now: datetime,
) -> Request:
    """Records her request (a name she gave is checked like the team's; a bad one is dropped) and
    returns it with the staff to tell."""
    name = None
    if first_name:
        try:
            name = clean_name(first_name)
        except Invalid:
            name = None
    row = JoinRequest(
        user_id=user_id,
        region_code=region_code if region_code and region_code != "federal" else None,
        first_name=name,
        release=release if release in RELEASE_ANSWERS else None,
        note=(note or "").strip()[:500] or None,
        state="open",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session, actor_id=user_id, action="join_requested", object_type="join_request", object_id=row.id, now=now
    )
    staff = await staff_for(session, row.region_code)
    request = _request(row, staff)
    await notices.queue_many(session, staff, event="join_request", now=now, exclude=user_id, request=row.id)
    await session.commit()
    return request


def _may_handle(actor: Profile, row: JoinRequest) -> bool:
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.STAFF and actor.scope_region in (None, row.region_code)


async def open_for_staff(session: AsyncSession, *, actor: Profile, request_id: int, now: datetime) -> Request:
    """A request the actor may turn into a case (staff of its region, or an admin); audited."""
    row = await session.get(JoinRequest, request_id)
    if row is None or not _may_handle(actor, row):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="join_request", object_id=request_id, attempted="open", now=now
        )
        raise Refused("open")
    audit.record(
        session,
        actor_id=actor.user_id,
        action="join_request_opened",
        object_type="join_request",
        object_id=row.id,
        now=now,
    )
    request = _request(row)
    await session.commit()
    return request


async def mark_case(
    session: AsyncSession,
    *,
    request_id: int,
    case_id: int,
    actor_id: int,
    now: datetime,
    token: str | None = None,
    commit: bool = True,
) -> int | None:
    """The request became a case; returns her Telegram id, or None when it had already been turned
    into one. With ``token`` (her invitation), she gets it in the bot, in this transaction.
    ``commit=False``: part of the caller's transaction (``cases.register``)."""
    row = await session.get(JoinRequest, request_id)
    if row is None or row.state != "open":
        if commit:
            await session.commit()
        return None
    row.state, row.case_id = "case", case_id
    audit.record(
        session,
        actor_id=actor_id,
        action="join_request_case",
        object_type="join_request",
        object_id=row.id,
        now=now,
        case=case_id,
    )
    user_id = row.user_id
    if token is not None and user_id != actor_id:
        # The link is a secret: it travels in the notice's encrypted text, never in its payload.
        await notices.queue(
            session, recipient_id=user_id, event="join_invited", now=now, case_id=case_id, text=token, request=row.id
        )
    if commit:
        await session.commit()
    return user_id
