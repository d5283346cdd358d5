"""The reminder engine's rows: work that fires later, one message to one person at a due time.

A reminder is a row (due time, state, attempts), one of the outbox's queues (``QUEUE``): the sender
(``bot/jobs/sender.py``) claims due rows with the one claim step of ``bot.services.outbox`` — so several
bot instances can run behind one database and each row is claimed by one of them. A claim is a
lease: a row left in ``sending`` longer than the lease (its instance died) goes back to ``pending``.

States: pending → sending → sent | failed | dropped, or back to pending (retry, lease expired);
pending → cancelled; cancelled | dropped → pending when ``add`` wants the same reminder again (she
took a time back). A row sent is never sent again. ``last_error`` holds an error type or a short
code, never a message text.

``add`` and ``cancel`` are called inside other services' transactions and do NOT commit; the
functions a worker calls (``claim_due``, ``mark_*``, ``drop``, ``retry_later``, ``release``) each end
their transaction. The reads do not commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from db import upsert
from db.models import Reminder, ReminderState

MAX_DELAY = timedelta(hours=1)
_PENDING = ReminderState.PENDING.value
_SENDING = ReminderState.SENDING.value
# Rows that come back to pending when the same reminder is wanted again (``add``).
_REVIVABLE = (ReminderState.CANCELLED.value, ReminderState.DROPPED.value)
# A revived row starts again as if new (its kind, recipient, time and key are the conflict's).
_REVIVED: dict[str, Any] = {
    "state": _PENDING,
    "attempts": 0,
    "claimed_by": None,
    "claimed_at": None,
    "last_error": None,
    "done_at": None,
}


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker now holds (state ``sending``); ``attempts`` counts this one."""

    id: int
    kind: str
    recipient_id: int
    due_at: datetime
    attempts: int
    meeting_id: int | None
    case_id: int | None
    payload: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ReminderView:
    id: int
    kind: str
    recipient_id: int
    due_at: datetime
    state: ReminderState
    attempts: int
    meeting_id: int | None
    case_id: int | None
    payload: dict[str, Any] | None
    claimed_by: str | None
    last_error: str | None
    done_at: datetime | None


def _view(row: Reminder) -> ReminderView:
    return ReminderView(
        id=row.id,
        kind=row.kind,
        recipient_id=row.recipient_id,
        due_at=row.due_at,
        state=ReminderState(row.state),
        attempts=row.attempts,
        meeting_id=row.meeting_id,
        case_id=row.case_id,
        payload=row.payload,
        claimed_by=row.claimed_by,
        last_error=row.last_error,
        done_at=row.done_at,
    )


# ------------------------------------------------------------------ writing (no commit)


def once_key(meeting_id: int | None, payload: dict[str, Any] | None) -> str:
    """What a reminder is about, as a digest: its meeting and its payload (an empty payload is none).
    Rows of one kind, recipient and due time with one key are the same message (``uq_reminders_once_key``).
    """
    canonical = json.dumps([meeting_id, payload or None], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def add(
    session: AsyncSession,
    *,
    kind: str,
    recipient_id: int,
    due_at: datetime,
    now: datetime,
    meeting_id: int | None = None,
    case_id: int | None = None,
    payload: dict[str, Any] | None = None,
    text: str | None = None,
) -> bool:
    """Schedules one message to ``recipient_id`` at ``due_at``; True when a row was written or revived.

    Does NOT commit: call it inside the transaction of the action that wants the reminder, so both
    happen or neither. ``payload`` holds ids and codes only (it is not encrypted).

    One row per (kind, recipient, due time, meeting and payload) — ``uq_reminders_once_key``, with
    or without a meeting — written by one ``INSERT … ON CONFLICT DO UPDATE … WHERE``, so two
    transactions asking at once end with one row. What is wanted again:

    - no row yet → a pending row;
    - a row ``cancelled`` (the booking was let go) or ``dropped`` (found of no use when it came due)
      → pending again, with fresh attempts: she took that time again;
    - a row ``pending`` or ``sending`` → left as it is (it will go out once);
    - a row ``sent`` or ``failed`` → left as it is: a message is never sent twice.
    """
    if len(kind) > 32:
        raise ValueError("kind: at most 32 characters")
    stmt = upsert.insert(session, Reminder).values(
        kind=kind,
        recipient_id=recipient_id,
        due_at=due_at,
        state=_PENDING,
        attempts=0,
        meeting_id=meeting_id,
        case_id=case_id,
        payload=payload,
        once_key=once_key(meeting_id, payload),
        text=text,
        created_at=now,
    )
    result = await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Reminder.kind, Reminder.recipient_id, Reminder.due_at, Reminder.once_key],
            set_={**_REVIVED, "case_id": stmt.excluded.case_id, "text": stmt.excluded.text},
            where=Reminder.state.in_(_REVIVABLE),
        )
    )
    written = bool(cast(CursorResult[Any], result).rowcount)
    if written:
        await outbox.announce(session)  # other instances' senders wake when this commits
    return written


async def cancel(
    session: AsyncSession,
    *,
    meeting_id: int,
    now: datetime,
    recipient_id: int | None = None,
    kinds: Collection[str] | None = None,
) -> int:
    """Pending reminders of a meeting (optionally of one recipient, of some kinds) → cancelled.
    A row already claimed (``sending``) goes out. Does NOT commit. Returns how many were cancelled."""
    stmt = update(Reminder).where(Reminder.meeting_id == meeting_id, Reminder.state == ReminderState.PENDING.value)
    if recipient_id is not None:
        stmt = stmt.where(Reminder.recipient_id == recipient_id)
    if kinds is not None:
        stmt = stmt.where(Reminder.kind.in_(list(kinds)))
    result = await session.execute(
        stmt.values(state=ReminderState.CANCELLED.value, done_at=now).execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


# ------------------------------------------------------------------ the worker's steps (commit)


def _due(now: datetime) -> ColumnElement[bool]:
    return Reminder.due_at <= now


QUEUE = outbox.Queue(
    model=Reminder,
    pending=_PENDING,
    sending=_SENDING,
    failed=ReminderState.FAILED.value,
    due=_due,
    due_at=lambda: Reminder.due_at,
    order_by=lambda: (Reminder.due_at, Reminder.id),
    error="last_error",
    done="done_at",
    retry_at="due_at",
    live=(_PENDING, _SENDING),
)
_CLAIMED = (
    Reminder.kind,
    Reminder.recipient_id,
    Reminder.due_at,
    Reminder.attempts,
    Reminder.meeting_id,
    Reminder.case_id,
    Reminder.payload,
)


def _of_kinds(kinds: Collection[str] | None) -> list[ColumnElement[bool]]:
    return [] if kinds is None else [Reminder.kind.in_(list(kinds))]


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
    kinds: Collection[str] | None = None,
) -> list[Claimed]:
    """Claims up to ``limit`` due pending rows for ``worker``, oldest due first, and commits
    (``outbox.claim``: a claim older than ``lease`` returns first; two instances never get one row).
    ``kinds``: only these kinds (an instance claims only what it can word; the tests keep apart by it).
    """
    rows = await outbox.claim(
        session, QUEUE, now=now, worker=worker, limit=limit, lease=lease, returning=_CLAIMED, where=_of_kinds(kinds)
    )
    claimed = [Claimed(*row) for row in rows]  # type: ignore[call-arg]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


async def next_due(
    session: AsyncSession, *, now: datetime, lease: timedelta, kinds: Collection[str] | None = None
) -> datetime | None:
    """When a row of these kinds may next be claimed (the sender sleeps until then). No commit."""
    return await outbox.next_due(session, QUEUE, now=now, lease=lease, where=_of_kinds(kinds))


async def mark_sent(session: AsyncSession, reminder_id: int, *, now: datetime, worker: str | None = None) -> bool:
    """Telegram took the message. ``worker``: only while this worker still holds the claim.
    Commits; True when the row changed."""
    values = {"state": ReminderState.SENT.value, "done_at": now}
    return bool(await outbox.finish(session, QUEUE, [reminder_id], worker=worker, values=values))


async def mark_failed(
    session: AsyncSession, reminder_id: int, *, now: datetime, error: str, worker: str | None = None
) -> bool:
    """Given up for good; ``error`` is a type name or a code ("blocked"), never a message. Commits."""
    return await outbox.close(
        session, QUEUE, reminder_id, state=ReminderState.FAILED.value, now=now, worker=worker, error=error
    )


async def drop(
    session: AsyncSession, reminder_id: int, *, now: datetime, reason: str, worker: str | None = None
) -> bool:
    """Not worth sending any more (the meeting has passed); ``reason`` is a short code. Commits."""
    return await outbox.close(
        session, QUEUE, reminder_id, state=ReminderState.DROPPED.value, now=now, worker=worker, error=reason
    )


def backoff(attempts: int, base_delay: timedelta = timedelta(seconds=30)) -> timedelta:
    """``base_delay`` doubled for every attempt after the first, at most an hour."""
    return outbox.backoff(attempts, base_delay, MAX_DELAY)


async def retry_later(
    session: AsyncSession,
    reminder_id: int,
    *,
    now: datetime,
    error: str,
    max_attempts: int,
    base_delay: timedelta = timedelta(seconds=30),
    min_delay: timedelta | None = None,
    worker: str | None = None,
) -> bool:
    """Back to pending, due again after ``backoff(attempts)`` (at least ``min_delay``, e.g.
    Telegram's retry_after), or failed once ``attempts`` reached ``max_attempts``. Commits; True
    when the row will be tried again."""
    return await outbox.retry_later(
        session,
        QUEUE,
        reminder_id,
        now=now,
        error=error,
        worker=worker,
        max_attempts=max_attempts,
        base=base_delay,
        cap=MAX_DELAY,
        min_delay=min_delay,
    )


async def release(session: AsyncSession, reminder_ids: Sequence[int], *, worker: str) -> int:
    """Claimed rows this worker will not get to (shutdown, time budget spent) go back to pending
    at once, and the claim does not count as an attempt. Commits; returns how many."""
    return await outbox.release(session, QUEUE, reminder_ids, worker=worker)


# ------------------------------------------------------------------ reading (no commit)


async def get(session: AsyncSession, reminder_id: int) -> ReminderView | None:
    row = await session.get(Reminder, reminder_id, populate_existing=True)
    return _view(row) if row else None


async def pending_for_meeting(session: AsyncSession, meeting_id: int) -> list[ReminderView]:
    """What is still to be sent about a meeting (claimed rows included), by due time."""
    rows = await session.scalars(
        select(Reminder)
        .where(
            Reminder.meeting_id == meeting_id,
            Reminder.state.in_([ReminderState.PENDING.value, ReminderState.SENDING.value]),
        )
        .order_by(Reminder.due_at, Reminder.id)
        .execution_options(populate_existing=True)
    )
    return [_view(r) for r in rows.all()]


async def for_recipient(
    session: AsyncSession, recipient_id: int, *, kinds: Collection[str] | None = None
) -> list[ReminderView]:
    """Every reminder of one person, in any state, by due time."""
    stmt = select(Reminder).where(Reminder.recipient_id == recipient_id)
    if kinds is not None:
        stmt = stmt.where(Reminder.kind.in_(list(kinds)))
    rows = await session.scalars(stmt.order_by(Reminder.due_at, Reminder.id).execution_options(populate_existing=True))
    return [_view(r) for r in rows.all()]


async def text_of(session: AsyncSession, reminder_id: int) -> str | None:
    """The text a notice was queued with (decrypted). Does not commit."""
    return await session.scalar(select(Reminder.text).where(Reminder.id == reminder_id))
