"""Discreet mode: the ids of recent messages in private chats, so "hide the chat" can delete them.

Telegram lets a bot delete a message in a private chat for 48 hours after it was sent (its own
messages and hers alike), so only those ids are kept, and only that long: ``prune`` removes the
older ones. A row is a chat id, a message id and a time — never a text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import upsert
from db.models import RecentMessage

DELETABLE_FOR = timedelta(hours=48)


_RECENT = cast(Table, RecentMessage.__table__)
_NOTE: dict[str, Any] = {}  # the statement of each dialect, built once (its construction cost more than running it)


async def note(session: AsyncSession, rows: Iterable[tuple[int, int, datetime]]) -> None:
    """Records (chat id, message id, when); a message noted twice stays one row. Commits."""
    values = [{"chat_id": chat, "message_id": message, "sent_at": at} for chat, message, at in rows]
    if not values:
        return
    dialect = session.get_bind().dialect.name
    statement = _NOTE.get(dialect)
    if statement is None:
        statement = _NOTE[dialect] = upsert.insert(session, _RECENT).on_conflict_do_nothing()
    # Parameters apart from the statement (executemany): its compiled form is cached, where a
    # multi-row VALUES clause is compiled anew for every number of rows.
    await session.execute(statement, values)
    await session.commit()


async def recent(session: AsyncSession, *, chat_id: int, now: datetime) -> list[int]:
    """The ids of the chat's messages that can still be deleted, oldest first. Commits."""
    ids = await session.scalars(
        select(RecentMessage.message_id)
        .where(RecentMessage.chat_id == chat_id, RecentMessage.sent_at > now - DELETABLE_FOR)
        .order_by(RecentMessage.message_id)
    )
    result = list(ids)
    await session.commit()
    return result


async def clear(session: AsyncSession, *, chat_id: int) -> None:
    """The chat was cleaned (or she deleted her data): its ids go. Commits."""
    await session.execute(delete(RecentMessage).where(RecentMessage.chat_id == chat_id))
    await session.commit()


async def prune(session: AsyncSession, *, now: datetime) -> int:
    """Removes ids older than Telegram's 48 hours. Commits."""
    result = await session.execute(delete(RecentMessage).where(RecentMessage.sent_at <= now - DELETABLE_FOR))
    await session.commit()
    return int(cast(CursorResult[Any], result).rowcount or 0)
