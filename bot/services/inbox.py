"""The durable inbox: updates are stored before Telegram is told they arrived, then handled from here.

A row is claimed by one instance for a lease: the instance that received it stores it already
claimed (one statement, no second one to claim it); rows whose lease ran out (their instance died)
or that were stored unclaimed are claimed later (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
has one writer at a time). Handled, a row is marked done (several in one statement when they finish
together): its payload is emptied at once, and the bare ``update_id`` stays as a mark that the
update was seen, so an update fetched again after a crash has no second effect. Marks older than
Telegram keeps updates are purged.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import upsert
from db.models import InboxUpdate
from db.transaction import rollback_on_error

# Telegram keeps an unconfirmed update for 24 hours; a mark kept twice as long outlives any re-delivery.
KEEP_MARKS = timedelta(hours=48)
_INBOX = cast(Table, InboxUpdate.__table__)  # the table itself: a Core INSERT, executemany


@dataclass(frozen=True, slots=True)
class Claimed:
    update_id: int
    payload: dict[str, Any]
    attempts: int


async def store(
    session: AsyncSession | AsyncConnection,
    updates: Sequence[tuple[int, dict[str, Any]]],
    *,
    now: datetime,
    worker: str | None = None,
    lease: timedelta | None = None,
) -> list[int]:
    """Stores updates (``update_id``, the update as Telegram sent it) and commits; one seen before is
    left as it is. Returns the ids stored now (not those seen before). With ``worker`` and ``lease``
    the new rows are stored already claimed by that instance (attempt 1), in the same statement: the
    instance that received them handles them without claiming them again. Raises when the database
    cannot be reached: then nothing may be acknowledged."""
    if not updates:
        return []
    claimed = worker is not None and lease is not None
    rows = [
        {
            "update_id": uid,
            "payload": payload,
            "received_at": now,
            "attempts": 1 if claimed else 0,
            "claimed_by": worker if claimed else None,
            "lease_until": now + lease if claimed and lease is not None else None,
        }
        for uid, payload in updates
    ]
    async with rollback_on_error(session):
        # Parameters apart from the statement (executemany with RETURNING): its compiled form is
        # cached, where a multi-row VALUES clause is compiled anew on every call.
        result = await session.execute(
            upsert.insert(session, _INBOX)
            .on_conflict_do_nothing(index_elements=[InboxUpdate.update_id])
            .returning(InboxUpdate.update_id),
            rows,
        )
        stored = sorted(result.scalars().all())
        await session.commit()
    return stored


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int = 50,
    skip: Collection[int] = (),
) -> list[Claimed]:
    """Claims up to ``limit`` updates not yet handled, oldest first, whose lease is free or has run
    out (the instance that claimed them died), and commits. ``skip``: updates this instance is
    handling already."""
    pick = (
        select(InboxUpdate.update_id)
        .where(
            InboxUpdate.done_at.is_(None),
            (InboxUpdate.lease_until.is_(None)) | (InboxUpdate.lease_until < now),
        )
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    if skip:
        pick = pick.where(InboxUpdate.update_id.not_in(list(skip)))
    if upsert.is_postgres(session):
        pick = pick.with_for_update(skip_locked=True)
    async with rollback_on_error(session):
        rows = await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(pick.scalar_subquery()))
            .values(claimed_by=worker, lease_until=now + lease, attempts=InboxUpdate.attempts + 1)
            .returning(InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.attempts)
            .execution_options(synchronize_session=False)
        )
        claimed = [Claimed(uid, payload, attempts) for uid, payload, attempts in rows.all() if payload is not None]
        await session.commit()
    claimed.sort(key=lambda c: c.update_id)  # RETURNING keeps no order
    return claimed


async def finish(session: AsyncSession | AsyncConnection, update_id: int | Collection[int], *, now: datetime) -> None:
    """The update (or updates) was handled: the payload goes at once, the mark stays (see ``KEEP_MARKS``)."""
    ids = [update_id] if isinstance(update_id, int) else list(update_id)
    if not ids:
        return
    async with rollback_on_error(session):
        await session.execute(_FINISH, {"ids": ids, "now": now})
        await session.commit()


# The table itself (Core: no ORM bulk-update path); the ids as one expanding parameter, so one
# compiled form serves any number of them.
_FINISH = (
    update(_INBOX)
    .where(_INBOX.c.update_id.in_(bindparam("ids", expanding=True)))
    .values(payload=None, done_at=bindparam("now"), claimed_by=None, lease_until=None)
)


async def renew(session: AsyncSession, ids: Collection[int], *, worker: str, until: datetime) -> None:
    """Extends the lease of updates this instance is still handling."""
    if not ids:
        return
    async with rollback_on_error(session):
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(list(ids)), InboxUpdate.claimed_by == worker)
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def release(session: AsyncSession, ids: Collection[int], *, worker: str) -> None:
    """Gives claimed updates back at once (shutdown, or a failure to retry): the next claim takes them."""
    if not ids:
        return
    async with rollback_on_error(session):
        await session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id.in_(list(ids)),
                InboxUpdate.claimed_by == worker,
                InboxUpdate.done_at.is_(None),
            )
            .values(claimed_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def retry_later(session: AsyncSession, update_id: int, *, worker: str, at: datetime) -> None:
    """Handling failed for a reason that may pass (the database went away): try again at ``at``."""
    async with rollback_on_error(session):
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id, InboxUpdate.claimed_by == worker)
            .values(claimed_by=None, lease_until=at)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Deletes the marks of updates handled longer ago than Telegram could send them again."""
    async with rollback_on_error(session):
        result = await session.execute(
            delete(InboxUpdate)
            .where(InboxUpdate.done_at.is_not(None), InboxUpdate.done_at < now - KEEP_MARKS)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def pending(session: AsyncSession) -> int:
    """How many stored updates wait to be handled (for tests and the log)."""
    count = await session.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None)))
    await session.rollback()
    return int(count or 0)
