"""The audit trail: who did or read what. Ids and codes only, never names or message text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    now: datetime,
    **details: Any,
) -> None:
    """Adds the event to the session; the use case that calls it commits."""
    session.add(
        AuditEvent(
            at=now,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details=details or None,
        )
    )


async def denied(
    session: AsyncSession,
    *,
    actor_id: int | None,
    object_type: str | None,
    object_id: str | int | None,
    attempted: str,
    now: datetime,
) -> None:
    """A refusal (a forged button, a command of another role, someone else's case): recorded, and the
    transaction ended, because the caller raises next."""
    record(
        session,
        actor_id=actor_id,
        action="denied",
        object_type=object_type,
        object_id=object_id,
        now=now,
        attempted=attempted,
    )
    await session.commit()
