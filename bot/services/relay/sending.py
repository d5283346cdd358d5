"""The relay's outbox queue: claiming, delivering, giving back and sweeping the messages to send."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.relay.messages import Task
from db.models import (
    RelayMessage,
    RelayState,
)

SWEEP_AFTER = timedelta(seconds=20)  # a message not sent by then is the sender's (bot/jobs/sender.py)


SEND_LEASE = timedelta(seconds=60)


MAX_ATTEMPTS = 8


def _due(now: datetime, older_than: timedelta = SWEEP_AFTER) -> ColumnElement[bool]:
    # Fresh rows are the immediate send's; a row given back waits as long again after its last try.
    return func.coalesce(RelayMessage.claimed_at, RelayMessage.created_at) <= now - older_than


QUEUE = outbox.Queue(
    model=RelayMessage,
    pending=RelayState.PENDING.value,
    sending=RelayState.SENDING.value,
    failed=RelayState.FAILED.value,
    due=_due,
    due_at=lambda: func.coalesce(RelayMessage.claimed_at, RelayMessage.created_at),
    due_offset=SWEEP_AFTER,
    order_by=lambda: (RelayMessage.id,),
    owned=False,  # one holder at a time by the lease; the outcome is written by whoever sent
    live=(RelayState.PENDING.value, RelayState.SENDING.value),
)


_TASK = (
    RelayMessage.conversation_id,
    RelayMessage.inbound,
    RelayMessage.source_chat_id,
    RelayMessage.source_message_id,
    RelayMessage.target_chat_id,
    RelayMessage.reply_to_target,
    RelayMessage.kind,
    RelayMessage.attempts,
    RelayMessage.text,
)


async def claim(
    session: AsyncSession, *, message_id: int, now: datetime, target_chat_id: int | None = None
) -> Task | None:
    """Takes one message for sending at once (pending, or stuck in sending past its lease) —
    ``outbox.claim`` of that one row. Commits."""
    values = {"target_chat_id": target_chat_id} if target_chat_id is not None else None
    rows = await outbox.claim(
        session,
        QUEUE,
        now=now,
        worker=None,
        limit=1,
        lease=SEND_LEASE,
        returning=_TASK,
        ids=[message_id],
        values=values,
    )
    return Task(*rows[0]) if rows else None  # type: ignore[call-arg]


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[Task]:
    """What the immediate send did not finish (a crash, a 429 storm, nobody on duty yet), oldest
    first, claimed for the sender. Commits."""
    rows = await outbox.claim(session, QUEUE, now=now, worker=None, limit=limit, lease=SEND_LEASE, returning=_TASK)
    tasks = [Task(*row) for row in rows]  # type: ignore[call-arg]
    tasks.sort(key=lambda t: t.id)
    return tasks


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the sender should look at the relay's outbox next. No commit."""
    return await outbox.next_due(session, QUEUE, now=now, lease=SEND_LEASE)


async def delivered(
    session: AsyncSession, *, message_id: int, target_chat_id: int, target_message_id: int, now: datetime
) -> None:
    values = {
        "state": RelayState.DELIVERED.value,
        "target_chat_id": target_chat_id,
        "target_message_id": target_message_id,
        "delivered_at": now,
        "error": None,
    }
    await outbox.finish(session, QUEUE, [message_id], worker=None, values=values)


async def release(session: AsyncSession, ids: Sequence[int]) -> int:
    """Claimed rows the sender will not send now (shutdown) go back, due at once. Commits."""
    return await outbox.release(session, QUEUE, ids, worker=None, values={"claimed_at": None})


async def give_back(session: AsyncSession, *, message_id: int, error: str, final: bool) -> None:
    """Back to the outbox for a later try (``SWEEP_AFTER`` after this one), or failed for good."""
    state = RelayState.FAILED if final else RelayState.PENDING
    values = {"state": state.value, "error": error[: outbox.ERROR_LEN]}
    await outbox.finish(session, QUEUE, [message_id], worker=None, values=values)


async def waits_for_the_team(session: AsyncSession, message_id: int) -> bool:
    """True for a message of hers that still waits to reach the team (the caller takes its turn
    in the group's pace before claiming it, so a claim is never held while waiting)."""
    row = await session.get(RelayMessage, message_id)
    waiting = row is not None and row.inbound and row.state in (RelayState.PENDING.value, RelayState.SENDING.value)
    await session.rollback()
    return waiting


async def due(
    session: AsyncSession, *, now: datetime, older_than: timedelta = SWEEP_AFTER, limit: int = 50
) -> list[int]:
    """What the sender's relay lane would take now (``claim_due``, read only): messages the immediate
    send did not finish, ``older_than`` after they were written or last tried, and claims past their
    lease."""
    ids = await session.scalars(
        select(RelayMessage.id)
        .where(
            or_(
                (RelayMessage.state == RelayState.PENDING.value) & _due(now, older_than),
                (RelayMessage.state == RelayState.SENDING.value) & (RelayMessage.claimed_at < now - SEND_LEASE),
            )
        )
        .order_by(RelayMessage.id)
        .limit(limit)
    )
    found = list(ids.all())
    await session.commit()
    return found


async def waiting_in_outbox(session: AsyncSession, conversation_id: int) -> list[int]:
    ids = await session.scalars(
        select(RelayMessage.id)
        .where(RelayMessage.conversation_id == conversation_id, RelayMessage.state == RelayState.PENDING.value)
        .order_by(RelayMessage.id)
    )
    found = list(ids.all())
    await session.commit()
    return found
