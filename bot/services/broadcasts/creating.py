"""Creating and cancelling a broadcast, and the list of recent ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, outbox
from bot.services.broadcasts.audience import Audience, in_scope, resolve
from bot.services.broadcasts.content import Content, check_content, plain_text
from bot.services.broadcasts.sending import _LIVE, _PENDING
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    DeliveryState,
    Role,
)
from db.transaction import rollback_on_error


@dataclass(frozen=True, slots=True)
class Created:
    id: int
    total: int
    state: BroadcastState
    scheduled_at: datetime | None


async def create(
    session: AsyncSession,
    *,
    actor: Profile,
    content: Content,
    audience: Audience,
    now: datetime,
    scheduled_at: datetime | None = None,
    progress_chat_id: int | None = None,
) -> Created:
    """Checks everything, resolves the audience at this moment and writes the broadcast with one
    delivery per recipient, in one transaction. Raises ``Invalid`` (nothing written) or ``Refused``."""
    async with rollback_on_error(session):
        content = check_content(content)
        audience = in_scope(actor, audience)
        if scheduled_at is not None and scheduled_at <= now:
            raise Invalid("past")
        people = await resolve(session, audience)
        if not people:
            raise Invalid("nobody")
        row = Broadcast(
            author_id=actor.user_id,
            kind=content.kind,
            text=content.text,
            file_id=content.file_id,
            button_text=content.button_text,
            button_url=content.button_url,
            audience=audience.to_json(),
            state=(BroadcastState.SCHEDULED if scheduled_at else BroadcastState.SENDING).value,
            scheduled_at=scheduled_at,
            total=len(people),
            progress_chat_id=progress_chat_id,
            created_at=now,
            started_at=None if scheduled_at else now,
        )
        session.add(row)
        await session.flush()
        session.add_all(
            BroadcastDelivery(broadcast_id=row.id, user_id=uid, state=_PENDING, attempts=0) for uid in people
        )
        audit.record(
            session,
            actor_id=actor.user_id,
            action="broadcast_created",
            object_type="broadcast",
            object_id=row.id,
            now=now,
            total=len(people),
        )
        created = Created(row.id, len(people), BroadcastState(row.state), scheduled_at)
        await outbox.announce(session)
        await session.commit()
    return created


async def cancel(session: AsyncSession, *, actor: Profile, broadcast_id: int, now: datetime) -> int | None:
    """A scheduled or running broadcast → cancelled; its pending deliveries → cancelled (one being
    sent right now still goes). The author or an admin. Returns how many deliveries were stopped,
    None when it was no longer running. Commits."""
    async with rollback_on_error(session):
        row = await session.get(Broadcast, broadcast_id, populate_existing=True)
        if row is None:
            raise Refused("broadcast")
        if actor.role != Role.ADMIN and row.author_id != actor.user_id:
            raise Refused("broadcast")
        changed = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.state.in_([*_LIVE, BroadcastState.DRAFT.value]))
            .values(state=BroadcastState.CANCELLED.value, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if not cast(CursorResult[Any], changed).rowcount:
            await session.commit()
            return None
        stopped = await session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state == _PENDING)
            .values(state=DeliveryState.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            actor_id=actor.user_id,
            action="broadcast_cancelled",
            object_type="broadcast",
            object_id=broadcast_id,
            now=now,
        )
        await session.commit()
    return int(cast(CursorResult[Any], stopped).rowcount)


@dataclass(frozen=True, slots=True)
class Listed:
    id: int
    state: BroadcastState
    total: int
    created_at: datetime
    scheduled_at: datetime | None
    preview: str  # the first words of the plain text


async def recent(session: AsyncSession, *, actor: Profile, limit: int = 10) -> list[Listed]:
    """The latest broadcasts the actor may see: her own; an admin's, everyone's. No commit."""
    stmt = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(Broadcast.author_id == actor.user_id)
    rows = (await session.scalars(stmt)).all()
    out = []
    for r in rows:
        try:
            words = plain_text(r.text or "")
        except Invalid:
            words = ""
        out.append(Listed(r.id, BroadcastState(r.state), r.total, r.created_at, r.scheduled_at, words[:40]))
    return out
