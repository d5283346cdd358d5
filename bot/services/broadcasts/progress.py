"""Progress: the counts of a broadcast being sent, its end, the message that shows it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.broadcasts.sending import _PENDING, _SENDING
from db.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    DeliveryState,
)
from db.transaction import rollback_on_error


@dataclass(frozen=True, slots=True)
class Progress:
    id: int
    author_id: int | None
    state: BroadcastState
    total: int
    counts: dict[str, int]
    errors: dict[str, int] = field(default_factory=dict)  # failed deliveries by error type
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
    scheduled_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def sent(self) -> int:
        return self.counts.get(DeliveryState.SENT.value, 0)

    @property
    def blocked(self) -> int:
        return self.counts.get(DeliveryState.BLOCKED.value, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(DeliveryState.FAILED.value, 0)

    @property
    def cancelled(self) -> int:
        return self.counts.get(DeliveryState.CANCELLED.value, 0)

    @property
    def left(self) -> int:
        return self.counts.get(_PENDING, 0) + self.counts.get(_SENDING, 0)


async def progress(session: AsyncSession, broadcast_id: int) -> Progress | None:
    row = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if row is None:
        return None
    counts = dict(
        (
            await session.execute(
                select(BroadcastDelivery.state, func.count())
                .where(BroadcastDelivery.broadcast_id == broadcast_id)
                .group_by(BroadcastDelivery.state)
            )
        ).all()
    )
    errors = Counter(
        dict(
            (
                await session.execute(
                    select(BroadcastDelivery.error, func.count())
                    .where(
                        BroadcastDelivery.broadcast_id == broadcast_id,
                        BroadcastDelivery.state == DeliveryState.FAILED.value,
                    )
                    .group_by(BroadcastDelivery.error)
                )
            ).all()
        )
    )
    return Progress(
        id=row.id,
        author_id=row.author_id,
        state=BroadcastState(row.state),
        total=row.total,
        counts={str(k): int(v) for k, v in counts.items()},
        errors={str(k or "unknown"): int(v) for k, v in errors.items()},
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress_chat_id=row.progress_chat_id,
        progress_message_id=row.progress_message_id,
        scheduled_at=row.scheduled_at,
        created_at=row.created_at,
    )


async def finish_if_done(session: AsyncSession, broadcast_id: int, *, now: datetime) -> bool:
    """A running broadcast with nothing pending or being sent → done; True for the one caller whose
    UPDATE changed it (that one sends the final report). Commits."""
    left = exists().where(
        BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state.in_([_PENDING, _SENDING])
    )
    async with rollback_on_error(session):
        result = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.SENDING.value, ~left)
            .values(state=BroadcastState.DONE.value, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return bool(cast(CursorResult[Any], result).rowcount)


async def running(session: AsyncSession) -> list[int]:
    """Broadcasts being sent now (the sender checks them for the end). No commit."""
    return list(
        (await session.scalars(select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING.value))).all()
    )


async def claim_progress(session: AsyncSession, broadcast_id: int, *, now: datetime, every: timedelta) -> bool:
    """True for the one caller who may update the progress message now (at most once per ``every``)."""
    async with rollback_on_error(session):
        result = await session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                or_(Broadcast.progress_at.is_(None), Broadcast.progress_at <= now - every),
            )
            .values(progress_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return bool(cast(CursorResult[Any], result).rowcount)


async def set_progress_message(session: AsyncSession, broadcast_id: int, *, chat_id: int, message_id: int) -> None:
    async with rollback_on_error(session):
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
