"""Notices: what a decision tells other people, queued in the decision's own transaction.

A service that makes a decision someone else should hear about (her consent → the team; a meeting
cancelled → the facilitator) calls ``queue`` before its commit. The notice is a reminder row (kind
``notice``, due now) whose payload names the event and the rows it is about — ids and codes only —
so the decision and its notice commit together, and a refusal or a rollback drops both. A crash
between the two cannot happen: there is one commit.

The words are found when the row is sent (``bot.jobs.notify``: one renderer per event, in the reader's
language of that moment, names read from the database then); a row whose subject is gone by then is
dropped, not sent. What a person typed herself (a dispute's comment) goes in the row's encrypted
``text``, never in the payload.

A commit that queued a notice wakes the sender at once (``reminders.add`` announces the row:
``bot.services.outbox.announce``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import reminders

KIND = "notice"
WORDED = "worded"  # a text worded when queued (a digest): not a decision, sent as it was written
_ALLOWED = (int, str, bool)


async def queue(
    session: AsyncSession,
    *,
    recipient_id: int,
    event: str,
    now: datetime,
    text: str | None = None,
    case_id: int | None = None,
    once: str | None = None,
    **ids: Any,
) -> None:
    """Adds one notice to ``recipient_id`` to the caller's transaction (no commit).

    ``ids`` are ids and codes only (``agreement=7``, ``purpose="data"``); ``None`` values are left
    out. ``text`` is what a person typed (stored encrypted), shown below the notice's own words.
    ``case_id`` ties the row to a case (deleted with it). ``once``: a key of what it is about; the
    same event, recipient, moment and key queued again is the one notice (a retry after a crash)."""
    payload: dict[str, Any] = {"event": event}
    for key, value in ids.items():
        if value is None:
            continue
        if not isinstance(value, _ALLOWED) or (isinstance(value, str) and len(value) > 64):
            raise TypeError(f"notice {event}: {key} must be an id or a short code")
        payload[key] = value
    payload["n"] = once or uuid.uuid4().hex[:16]  # two notices of one event at one moment are two messages
    await reminders.add(
        session,
        kind=KIND,
        recipient_id=recipient_id,
        due_at=now,
        now=now,
        case_id=case_id,
        payload=payload,
        text=text,
    )


async def queue_many(
    session: AsyncSession,
    recipients: Any,
    *,
    event: str,
    now: datetime,
    exclude: int | None = None,
    text: str | None = None,
    case_id: int | None = None,
    **ids: Any,
) -> None:
    """``queue`` for each recipient once (``None`` and ``exclude`` left out)."""
    for recipient_id in dict.fromkeys(recipients):
        if recipient_id is None or recipient_id == exclude:
            continue
        await queue(session, recipient_id=recipient_id, event=event, now=now, text=text, case_id=case_id, **ids)


async def queue_worded(
    session: AsyncSession,
    *,
    recipient_id: int,
    text: str,
    now: datetime,
    markup: dict[str, Any] | None = None,
) -> None:
    """A message worded already (a digest): its text encrypted in the row, its buttons in the
    payload (callback data are ids). In the caller's transaction, no commit."""
    payload: dict[str, Any] = {"event": WORDED, "n": uuid.uuid4().hex[:16]}
    if markup is not None:
        payload["markup"] = markup
    await reminders.add(session, kind=KIND, recipient_id=recipient_id, due_at=now, now=now, payload=payload, text=text)
