"""Forgetting a person's conversation and purging old ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.relay.threads import Thread, _thread
from db.models import (
    Case,
    Conversation,
    ConversationState,
    RelayMessage,
)


async def forget(session: AsyncSession, *, user_id: int, now: datetime) -> Thread | None:
    """She asked to delete her data: the conversation and its history go (the caller also removes
    the topic). Returns what it was, to tidy up in Telegram."""
    conversation = await session.scalar(select(Conversation).where(Conversation.user_id == user_id))
    if conversation is None:
        await session.commit()
        return None
    thread = await _thread(session, conversation)
    await session.execute(delete(RelayMessage).where(RelayMessage.conversation_id == conversation.id))
    await session.delete(conversation)
    audit.record(
        session,
        actor_id=user_id,
        action="conversation_deleted",
        object_type="conversation",
        object_id=thread.id,
        now=now,
    )
    await session.commit()
    return thread


async def purge(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Deletes the history of conversations whose case closed (or that closed, without a case) more
    than ``retention_days`` ago."""
    cutoff = now - timedelta(days=retention_days)
    closed_cases = select(Case.id).where(Case.closed_at.is_not(None), Case.closed_at < cutoff)
    old = select(Conversation.id).where(
        or_(
            Conversation.case_id.in_(closed_cases),
            (Conversation.case_id.is_(None))
            & (Conversation.state == ConversationState.CLOSED.value)
            & (Conversation.closed_at < cutoff),
        )
    )
    result = await session.execute(delete(RelayMessage).where(RelayMessage.conversation_id.in_(old)))
    count = cast(CursorResult[Any], result).rowcount or 0
    if count:
        audit.record(session, actor_id=None, action="history_purged", count=count, now=now)
    await session.commit()
    return count
