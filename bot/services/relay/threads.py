"""Conversations (threads) between a person and the team, and the group topic each one has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from db import upsert
from db.models import (
    Case,
    Conversation,
    ConversationState,
    Participant,
    User,
)

TOPIC_LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation as the relay needs it."""

    id: int
    user_id: int
    case_id: int | None
    case_code: str | None
    first_name: str | None  # as the team wrote it in her case; None without a case
    curator_id: int | None
    region_code: str | None
    state: str
    group_chat_id: int | None
    topic_id: int | None
    waiting_since: datetime | None
    reopened: bool = False


async def _thread(session: AsyncSession, conversation: Conversation, *, reopened: bool = False) -> Thread:
    case = await session.get(Case, conversation.case_id) if conversation.case_id else None
    first_name = None
    if case is not None:
        first_name = await session.scalar(
            select(Participant.first_name).where(
                Participant.case_id == case.id, Participant.user_id == conversation.user_id
            )
        )
    return Thread(
        id=conversation.id,
        user_id=conversation.user_id,
        case_id=conversation.case_id,
        case_code=case.code if case else None,
        first_name=first_name,
        curator_id=conversation.curator_id,
        region_code=conversation.region_code,
        state=conversation.state,
        group_chat_id=conversation.group_chat_id,
        topic_id=conversation.topic_id,
        waiting_since=conversation.waiting_since,
        reopened=reopened,
    )


async def open_for(session: AsyncSession, *, user_id: int, now: datetime, default_region: str | None = None) -> Thread:
    """Her conversation, created on her first hand-off (once, even when two arrive together) or
    reopened; it follows her case (its curator, its region), else the region she sees: her own
    choice, else the service's default (``DEFAULT_REGION``)."""
    await session.execute(
        upsert.insert(session, Conversation)
        .values(user_id=user_id, state=ConversationState.OPEN.value, opened_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Conversation.user_id])
    )
    conversation = await session.scalar(
        select(Conversation).where(Conversation.user_id == user_id).execution_options(populate_existing=True)
    )
    assert conversation is not None
    reopened = conversation.state == ConversationState.CLOSED
    if reopened:
        conversation.state = ConversationState.OPEN.value
        conversation.closed_at = None
        conversation.rating = None
        conversation.opened_at = now
        audit.record(
            session,
            actor_id=user_id,
            action="conversation_reopened",
            object_type="conversation",
            object_id=conversation.id,
            now=now,
        )
    participant = await session.scalar(
        select(Participant).where(Participant.user_id == user_id).order_by(Participant.id.desc()).limit(1)
    )
    if participant is not None and conversation.case_id is None:
        conversation.case_id = participant.case_id
    case = await session.get(Case, conversation.case_id) if conversation.case_id else None
    if case is not None:
        conversation.region_code = case.region_code
        if conversation.curator_id is None:
            conversation.curator_id = case.curator_id
    else:
        person = await session.get(User, user_id)
        chosen = person.region if person else None
        conversation.region_code = chosen or conversation.region_code or default_region
    conversation.updated_at = now
    thread = await _thread(session, conversation, reopened=reopened)
    await session.commit()
    return thread


async def get(session: AsyncSession, conversation_id: int) -> Thread | None:
    conversation = await session.get(Conversation, conversation_id)
    thread = await _thread(session, conversation) if conversation else None
    await session.commit()
    return thread


async def by_user(session: AsyncSession, user_id: int) -> Thread | None:
    conversation = await session.scalar(select(Conversation).where(Conversation.user_id == user_id))
    thread = await _thread(session, conversation) if conversation else None
    await session.commit()
    return thread


async def by_topic(session: AsyncSession, group_chat_id: int, topic_id: int) -> Thread | None:
    conversation = await session.scalar(
        select(Conversation).where(Conversation.group_chat_id == group_chat_id, Conversation.topic_id == topic_id)
    )
    thread = await _thread(session, conversation) if conversation else None
    await session.commit()
    return thread


async def is_open(session: AsyncSession, user_id: int) -> bool:
    found = await session.scalar(
        select(Conversation.id).where(
            Conversation.user_id == user_id, Conversation.state == ConversationState.OPEN.value
        )
    )
    await session.commit()
    return found is not None


async def claim_topic(session: AsyncSession, *, conversation_id: int, group_chat_id: int, now: datetime) -> bool:
    """True for the one caller that may create the topic now (an abandoned claim expires)."""
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.topic_id.is_(None),
            or_(Conversation.topic_claimed_at.is_(None), Conversation.topic_claimed_at < now - TOPIC_LEASE),
        )
        .values(topic_claimed_at=now, group_chat_id=group_chat_id)
    )
    await session.commit()
    return cast(CursorResult[Any], result).rowcount == 1


async def set_topic(
    session: AsyncSession, *, conversation_id: int, group_chat_id: int, topic_id: int | None, now: datetime
) -> None:
    """The topic is made (or, with None, failed and may be tried again)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(
            group_chat_id=group_chat_id,
            topic_id=topic_id,
            topic_claimed_at=None if topic_id is None else now,
            updated_at=now,
        )
    )
    await session.commit()
