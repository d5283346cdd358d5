"""The team's side: who is on duty, assigning, closing and reopening a conversation, its rating, the
open queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices
from bot.services.errors import Refused
from bot.services.users import TEAM_ROLES, Profile
from db.models import (
    Case,
    Conversation,
    ConversationState,
    Region,
    Role,
    User,
)
from db.types import pseudonym


async def on_duty(session: AsyncSession, *, region_code: str | None) -> list[int]:
    """Who answers her, in order of tiers: the curators of her region, else its staff and admins,
    else the curators who work for every region, else the staff and admins who do."""
    found: list[int] = []
    tiers = [(Role.CURATOR,), (Role.STAFF, Role.ADMIN)]
    scopes = ([region_code] if region_code is not None else []) + [None]
    for scope in scopes:
        for roles in tiers:
            rows = await session.scalars(
                select(User.id)
                .where(
                    User.role.in_([r.value for r in roles]),
                    User.blocked_bot.is_(False),
                    User.scope_region.is_(None) if scope is None else User.scope_region == scope,
                )
                .order_by(User.id)
            )
            found = list(rows.all())
            if found:
                await session.commit()
                return found
    await session.commit()
    return found


async def region_title(session: AsyncSession, *, region_code: str | None, locale: str) -> str | None:
    region = await session.get(Region, region_code) if region_code else None
    title = (region.name.get(locale) or next(iter(region.name.values()), None)) if region else None
    await session.commit()
    return title


def _may_work(actor: Profile) -> bool:
    return actor.role in (Role.CURATOR, Role.STAFF, Role.ADMIN)


async def _refuse(
    session: AsyncSession, actor_id: int, conversation_id: int, attempted: str, *, now: datetime
) -> Refused:
    await audit.denied(
        session, actor_id=actor_id, object_type="conversation", object_id=conversation_id, attempted=attempted, now=now
    )
    return Refused(attempted)


async def assign(
    session: AsyncSession, *, actor: Profile, conversation_id: int, curator_id: int, now: datetime
) -> None:
    conversation = await session.get(Conversation, conversation_id)
    curator = await session.get(User, curator_id)
    if (
        conversation is None
        or not _may_work(actor)
        or curator is None
        or curator.role not in {r.value for r in TEAM_ROLES}
    ):
        raise await _refuse(session, actor.user_id, conversation_id, "assign", now=now)
    conversation.curator_id = curator_id
    conversation.updated_at = now
    audit.record(
        session,
        actor_id=actor.user_id,
        action="conversation_assigned",
        object_type="conversation",
        object_id=conversation_id,
        now=now,
        # As a pseudonym from the start: the audit log is never rewritten, and whom a conversation
        # went to must not outlive that person's "delete my data" in plain digits.
        curator=pseudonym(curator_id),
    )
    await session.commit()


async def close(session: AsyncSession, *, actor: Profile, conversation_id: int, now: datetime) -> int:
    """Closes the conversation; returns the participant's id (she is told and asked to rate it)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not _may_work(actor):
        raise await _refuse(session, actor.user_id, conversation_id, "close", now=now)
    conversation.state = ConversationState.CLOSED.value
    conversation.closed_at = now
    conversation.waiting_since = None
    conversation.updated_at = now
    audit.record(
        session,
        actor_id=actor.user_id,
        action="conversation_closed",
        object_type="conversation",
        object_id=conversation_id,
        now=now,
    )
    user_id = conversation.user_id
    # She is told, and asked to rate it, in the closing's transaction.
    await notices.queue(
        session, recipient_id=user_id, event="conversation_closed", now=now, conversation=conversation_id
    )
    await session.commit()
    return user_id


async def reopen(session: AsyncSession, *, actor: Profile, conversation_id: int, now: datetime) -> int:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not _may_work(actor):
        raise await _refuse(session, actor.user_id, conversation_id, "reopen", now=now)
    conversation.state = ConversationState.OPEN.value
    conversation.closed_at = None
    conversation.rating = None
    conversation.updated_at = now
    audit.record(
        session,
        actor_id=actor.user_id,
        action="conversation_reopened",
        object_type="conversation",
        object_id=conversation_id,
        now=now,
    )
    user_id = conversation.user_id
    await session.commit()
    return user_id


async def rate(session: AsyncSession, *, user_id: int, conversation_id: int, stars: int, now: datetime) -> None:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user_id or not 1 <= stars <= 5:
        raise await _refuse(session, user_id, conversation_id, "rate", now=now)
    conversation.rating = stars
    conversation.updated_at = now
    await session.commit()


@dataclass(frozen=True, slots=True)
class Waiting:
    conversation_id: int
    user_id: int
    case_code: str | None
    curator_id: int | None
    group_chat_id: int | None
    topic_id: int | None
    waiting_since: datetime | None


async def open_conversations(session: AsyncSession) -> list[Waiting]:
    rows = await session.execute(
        select(Conversation, Case.code)
        .outerjoin(Case, Case.id == Conversation.case_id)
        .where(Conversation.state == ConversationState.OPEN.value)
        .order_by(Conversation.waiting_since.is_(None), Conversation.waiting_since, Conversation.id)
    )
    found = [
        Waiting(c.id, c.user_id, code, c.curator_id, c.group_chat_id, c.topic_id, c.waiting_since)
        for c, code in rows.all()
    ]
    await session.commit()
    return found
