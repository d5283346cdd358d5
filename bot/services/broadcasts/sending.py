"""The sender's steps, each committing: starting what is due, claiming deliveries, marking them
sent, blocked or failed, retrying later."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.broadcasts.content import Content
from db.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    DeliveryState,
    User,
)
from db.transaction import rollback_on_error

MAX_ATTEMPTS = 5


BASE_DELAY = timedelta(seconds=2)


MAX_DELAY = timedelta(minutes=5)


_ERROR_LEN = 64


_PENDING = DeliveryState.PENDING.value


_SENDING = DeliveryState.SENDING.value


_LIVE = (BroadcastState.SCHEDULED.value, BroadcastState.SENDING.value)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    broadcast_id: int
    user_id: int
    attempts: int  # counting this one


async def start_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come → sending (one instance wins each). Commits."""
    async with rollback_on_error(session):
        due = list(
            (
                await session.scalars(
                    select(Broadcast.id).where(
                        Broadcast.state == BroadcastState.SCHEDULED.value, Broadcast.scheduled_at <= now
                    )
                )
            ).all()
        )
        started = []
        for broadcast_id in due:
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.SCHEDULED.value)
                .values(state=BroadcastState.SENDING.value, started_at=now)
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount:
                started.append(broadcast_id)
        await session.commit()
    return started


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(BroadcastDelivery.not_before.is_(None), BroadcastDelivery.not_before <= now)


QUEUE = outbox.Queue(
    model=BroadcastDelivery,
    pending=_PENDING,
    sending=_SENDING,
    failed=DeliveryState.FAILED.value,
    due=_due,
    due_at=lambda: BroadcastDelivery.not_before,
    order_by=lambda: (BroadcastDelivery.broadcast_id, BroadcastDelivery.id),
    done="sent_at",
    retry_at="not_before",
)


def _running(only: Sequence[int] | None = None) -> list[ColumnElement[bool]]:
    running = select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING.value)
    if only is not None:
        running = running.where(Broadcast.id.in_(list(only)))
    return [BroadcastDelivery.broadcast_id.in_(running.scalar_subquery())]


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    lease: timedelta,
    only: Sequence[int] | None = None,
) -> list[Claimed]:
    """Up to ``limit`` due pending deliveries of running broadcasts, claimed for ``worker``
    (``outbox.claim``: claims older than ``lease`` return first); commits.

    Deliveries to people who have blocked the bot since the broadcast was confirmed are marked
    blocked unsent first, in the same transaction. ``only``: these broadcasts (the tests keep apart
    by it)."""
    running = _running(only)
    async with rollback_on_error(session):
        await session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.state == _PENDING,
                *running,
                BroadcastDelivery.user_id.in_(select(User.id).where(User.blocked_bot.is_(True)).scalar_subquery()),
            )
            .values(state=DeliveryState.BLOCKED.value, error="blocked", sent_at=now)
            .execution_options(synchronize_session=False)
        )
    rows = await outbox.claim(
        session,
        QUEUE,
        now=now,
        worker=worker,
        limit=limit,
        lease=lease,
        returning=(BroadcastDelivery.broadcast_id, BroadcastDelivery.user_id, BroadcastDelivery.attempts),
        where=running,
        stale_where=(),
    )
    claimed = [Claimed(*row) for row in rows]  # type: ignore[call-arg]
    claimed.sort(key=lambda c: (c.broadcast_id, c.id))
    return claimed


async def next_due(session: AsyncSession, *, now: datetime, lease: timedelta) -> datetime | None:
    """When a delivery may next be claimed, or a scheduled broadcast starts. No commit."""
    moments = [
        await outbox.next_due(session, QUEUE, now=now, lease=lease, where=_running()),
        await session.scalar(
            select(func.min(Broadcast.scheduled_at)).where(Broadcast.state == BroadcastState.SCHEDULED.value)
        ),
    ]
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def _closed(state: DeliveryState, now: datetime, error: str | None = None) -> dict[str, Any]:
    return {"state": state.value, "sent_at": now, "error": error[:_ERROR_LEN] if error else None}


async def mark_sent(session: AsyncSession, ids: Iterable[int], *, now: datetime, worker: str) -> int:
    return await outbox.finish(session, QUEUE, list(ids), worker=worker, values=_closed(DeliveryState.SENT, now))


async def mark_blocked(session: AsyncSession, delivery_id: int, *, now: datetime, worker: str) -> int:
    values = _closed(DeliveryState.BLOCKED, now, "blocked")
    return await outbox.finish(session, QUEUE, [delivery_id], worker=worker, values=values)


async def mark_failed(session: AsyncSession, delivery_id: int, *, now: datetime, error: str, worker: str) -> int:
    values = _closed(DeliveryState.FAILED, now, error)
    return await outbox.finish(session, QUEUE, [delivery_id], worker=worker, values=values)


def backoff(attempts: int) -> timedelta:
    return outbox.backoff(attempts, BASE_DELAY, MAX_DELAY)


async def retry_later(
    session: AsyncSession,
    delivery: Claimed,
    *,
    now: datetime,
    error: str,
    worker: str,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """5xx, a timeout: back to pending after ``backoff``, or failed once attempts are spent."""
    return await outbox.retry_later(
        session,
        QUEUE,
        delivery.id,
        now=now,
        error=error,
        worker=worker,
        max_attempts=max_attempts,
        base=BASE_DELAY,
        cap=MAX_DELAY,
    )


async def release(session: AsyncSession, ids: Iterable[int], *, worker: str, not_before: datetime | None = None) -> int:
    """Claimed deliveries this worker will not send now (a 429 pause, shutdown) go back to pending;
    the claim does not count as an attempt. Commits."""
    return await outbox.release(session, QUEUE, list(ids), worker=worker, values={"not_before": not_before})


@dataclass(frozen=True, slots=True)
class Stored:
    """What the sender sends: the broadcast's content."""

    id: int
    content: Content


async def content_of(session: AsyncSession, broadcast_ids: Iterable[int]) -> dict[int, Content]:
    rows = await session.scalars(select(Broadcast).where(Broadcast.id.in_(list(broadcast_ids))))
    return {r.id: Content(r.kind, r.text, r.file_id, r.button_text, r.button_url) for r in rows.all()}
