"""The one claim/lease/backoff step behind everything the bot sends on its own.

Three tables hold what waits to be sent, each with the state of its own domain: ``reminders``
(reminders, notices, check-ins — cancelled with their meeting), ``broadcast_deliveries`` (one per
recipient of a broadcast, counted for its progress) and ``relay_messages`` (a copy between her chat
and the team's, and the map of message ids for threading). A ``Queue`` says where each keeps its
state, due time, lease and error; the functions here are the only ones that claim, finish, retry or
hand back a row of any of them:

- ``claim``: rows whose lease ran out (their instance died) go back to pending, then due pending rows
  are taken with one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` on
  PostgreSQL (a second instance takes the next rows instead of waiting), the same single UPDATE on
  SQLite (one writer at a time). A claim counts as an attempt.
- ``finish``: the outcome, only while this worker still holds the claim.
- ``retry_later``: back to pending after ``backoff(attempts)`` (at least Telegram's retry_after), or
  failed once the attempts are spent.
- ``release``: claimed rows this worker will not send now (shutdown, its time budget) go back to
  pending at once; the claim does not count as an attempt.
- ``next_due``: when the earliest row of a queue may be claimed (the sender sleeps until then).
- ``announce``: on PostgreSQL, a ``NOTIFY outbox`` in the caller's transaction, so the senders of
  other instances wake when it commits (``bot/jobs/sender.py`` listens).

Each function that writes ends its transaction, except ``announce``. Errors are type names or codes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Row, event, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.transaction import rollback_on_error
from db.upsert import is_postgres

CHANNEL = "outbox"
# Who announced: a sender ignores its own process's notifications (it kicks itself without them).
ORIGIN = secrets.token_hex(8)
ERROR_LEN = 64


@dataclass(frozen=True)
class Queue:
    """Where one outbox table keeps what the claim step needs."""

    model: Any
    pending: str
    sending: str
    failed: str
    # Pending rows that may be claimed at ``now`` (their due time has come).
    due: Callable[[datetime], ColumnElement[bool]]
    # The moment a pending row becomes due (its minimum is the queue's next due time); NULL: now.
    due_at: Callable[[], Any]
    order_by: Callable[[], Sequence[Any]]
    due_offset: timedelta = timedelta(0)  # added to ``due_at`` (a grace the table keeps in Python)
    error: str = "error"  # column of the last error code
    done: str | None = None  # column set to ``now`` when the row is finished
    retry_at: str | None = None  # column set to the next try's time by ``retry_later``
    owned: bool = True  # the table has ``claimed_by`` (else any holder may finish a row)
    live: tuple[str, ...] = field(default=())  # states ``finish`` may leave; default: sending

    def states(self) -> tuple[str, ...]:
        return self.live or (self.sending,)


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """``base`` doubled for every attempt after the first, at most ``cap``."""
    return min(cap, base * 2 ** max(0, min(attempts - 1, 20)))


WAKE = "outbox.wake"  # session.info: the sender's kick, called after a commit that queued something


def wake_on_commit(factory: async_sessionmaker[AsyncSession], kick: Callable[[], None]) -> None:
    """Sessions of ``factory`` call ``kick`` (this process's sender) after a commit that queued
    something (``announce``), so it sends at once instead of at its next due time."""
    info = dict(factory.kw.get("info") or {})
    info[WAKE] = kick
    factory.configure(info=info)


def _wake(session: Any) -> None:
    kick = session.info.get(WAKE)
    if kick is not None:
        try:
            kick()
        except RuntimeError:  # no running loop (a script): the sender finds the row at its next run
            pass


async def announce(session: AsyncSession) -> None:
    """Something was queued: once the caller's transaction commits, this process's sender wakes and,
    on PostgreSQL, a ``NOTIFY outbox`` wakes the senders of other instances. Does NOT commit."""
    target = session.sync_session
    if target.info.get(WAKE) is not None and not event.contains(target, "after_commit", _wake):
        event.listen(target, "after_commit", _wake, once=True)
    if is_postgres(session):
        await session.execute(text("SELECT pg_notify(:channel, :origin)"), {"channel": CHANNEL, "origin": ORIGIN})


async def claim(
    session: AsyncSession,
    queue: Queue,
    *,
    now: datetime,
    worker: str | None,
    limit: int,
    lease: timedelta,
    returning: Sequence[Any],
    where: Sequence[ColumnElement[bool]] = (),
    stale_where: Sequence[ColumnElement[bool]] | None = None,
    ids: Sequence[int] | None = None,
    values: dict[str, Any] | None = None,
) -> list[Row[Any]]:
    """Claims up to ``limit`` due pending rows (``where``; ``ids``: these rows, due or not) for
    ``worker`` and commits; returns the id and the ``returning`` columns of each (RETURNING keeps no
    order: the caller sorts)."""
    m = queue.model
    stale = update(m).where(m.state == queue.sending, m.claimed_at < now - lease)
    pick = select(m.id).where(m.state == queue.pending, *where).order_by(*queue.order_by()).limit(limit)
    for clause in where if stale_where is None else stale_where:
        stale = stale.where(clause)
    if ids is not None:
        stale = stale.where(m.id.in_(list(ids)))
        pick = pick.where(m.id.in_(list(ids)))
    else:
        pick = pick.where(queue.due(now))
    if is_postgres(session):
        pick = pick.with_for_update(skip_locked=True)
    taken: dict[str, Any] = {"state": queue.sending, "claimed_at": now, "attempts": m.attempts + 1, **(values or {})}
    if queue.owned:
        taken["claimed_by"] = worker
    async with rollback_on_error(session):
        await session.execute(stale.values(state=queue.pending).execution_options(synchronize_session=False))
        result = await session.execute(
            update(m)
            .where(m.id.in_(pick.scalar_subquery()))
            .values(**taken)
            .returning(m.id, *returning)
            .execution_options(synchronize_session=False)
        )
        rows = list(result.all())
        await session.commit()
    return rows


async def finish(
    session: AsyncSession,
    queue: Queue,
    ids: Sequence[int],
    *,
    worker: str | None,
    values: dict[str, Any],
    states: Sequence[str] | None = None,
) -> int:
    """Writes ``values`` on rows still held (``states``, and claimed by ``worker`` when given: a
    worker whose lease ran out must not overwrite the next claim). Commits; how many changed."""
    if not ids:
        return 0
    m = queue.model
    stmt = update(m).where(m.id.in_(list(ids)), m.state.in_(list(states or queue.states())))
    if worker is not None and queue.owned:
        stmt = stmt.where(m.claimed_by == worker)
    async with rollback_on_error(session):
        result = await session.execute(stmt.values(**values).execution_options(synchronize_session=False))
        await session.commit()
    return int(cast(CursorResult[Any], result).rowcount)


async def close(
    session: AsyncSession,
    queue: Queue,
    row_id: int,
    *,
    state: str,
    now: datetime,
    worker: str | None,
    error: str | None,
) -> bool:
    """Finished for good (sent, failed, dropped …), with its error code. Commits."""
    values: dict[str, Any] = {"state": state, queue.error: error[:ERROR_LEN] if error else None}
    if queue.done:
        values[queue.done] = now
    return bool(await finish(session, queue, [row_id], worker=worker, values=values))


async def retry_later(
    session: AsyncSession,
    queue: Queue,
    row_id: int,
    *,
    now: datetime,
    error: str,
    worker: str | None,
    max_attempts: int,
    base: timedelta,
    cap: timedelta,
    min_delay: timedelta | None = None,
) -> bool:
    """Back to pending, due again after ``backoff(attempts)`` (at least ``min_delay``), or failed once
    the attempts are spent. Commits; True when the row will be tried again."""
    m = queue.model
    stmt = select(m.attempts).where(m.id == row_id, m.state.in_(list(queue.states())))
    if worker is not None and queue.owned:
        stmt = stmt.where(m.claimed_by == worker)
    async with rollback_on_error(session):
        attempts = await session.scalar(stmt)
    if attempts is None:
        await session.commit()
        return False
    if attempts >= max_attempts:
        await close(session, queue, row_id, state=queue.failed, now=now, worker=worker, error=error)
        return False
    delay = backoff(attempts, base, cap)
    if min_delay is not None:
        delay = max(delay, min_delay)
    values: dict[str, Any] = {"state": queue.pending, queue.error: error[:ERROR_LEN]}
    if queue.retry_at:
        values[queue.retry_at] = now + delay
    return bool(await finish(session, queue, [row_id], worker=worker, values=values))


async def release(
    session: AsyncSession, queue: Queue, ids: Sequence[int], *, worker: str | None, values: dict[str, Any] | None = None
) -> int:
    """Claimed rows this worker will not send now go back to pending at once; the claim does not
    count as an attempt. Commits; how many."""
    m = queue.model
    back = {"state": queue.pending, "attempts": m.attempts - 1, **(values or {})}
    return await finish(session, queue, ids, worker=worker, values=back, states=[queue.sending])


async def next_due(
    session: AsyncSession,
    queue: Queue,
    *,
    now: datetime,
    lease: timedelta,
    where: Sequence[ColumnElement[bool]] = (),
) -> datetime | None:
    """When a row of this queue may next be claimed: its earliest pending due time (``now`` for a
    row with none), or the end of the earliest running lease. None: nothing waits. Does not commit."""
    m = queue.model
    due_at = queue.due_at()
    pending = await session.scalar(
        select(func.min(func.coalesce(due_at, literal(now, type_=m.claimed_at.type)))).where(
            m.state == queue.pending, *where
        )
    )
    held = await session.scalar(select(func.min(m.claimed_at)).where(m.state == queue.sending, *where))
    if pending is not None:
        pending = max(pending + queue.due_offset, now) if queue.due_offset else pending
    moments = [t for t in (pending, held + lease if held is not None else None) if t is not None]
    return min(moments) if moments else None
