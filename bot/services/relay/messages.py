"""The relayed messages: what is added, the header of each topic, which message answers which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Conversation,
    RelayMessage,
    RelayState,
)


@dataclass(frozen=True, slots=True)
class Task:
    """A relayed message to deliver."""

    id: int
    conversation_id: int
    inbound: bool
    source_chat_id: int
    source_message_id: int
    target_chat_id: int | None
    reply_to_target: int | None
    kind: str
    attempts: int
    text: str | None = None  # the text or caption (decrypted), for a discreet delivery


def _task(row: RelayMessage) -> Task:
    return Task(
        row.id,
        row.conversation_id,
        row.inbound,
        row.source_chat_id,
        row.source_message_id,
        row.target_chat_id,
        row.reply_to_target,
        row.kind,
        row.attempts,
        row.text,
    )


async def _counterpart(session: AsyncSession, chat_id: int, message_id: int | None) -> int | None:
    """The id, in the other chat, of the message that ``message_id`` in ``chat_id`` relays or is."""
    if message_id is None:
        return None
    row = await session.scalar(
        select(RelayMessage.source_message_id).where(
            RelayMessage.target_chat_id == chat_id, RelayMessage.target_message_id == message_id
        )
    )
    if row is not None:
        return row
    return await session.scalar(
        select(RelayMessage.target_message_id).where(
            RelayMessage.source_chat_id == chat_id, RelayMessage.source_message_id == message_id
        )
    )


async def add(
    session: AsyncSession,
    *,
    conversation_id: int,
    inbound: bool,
    author_id: int | None,
    source_chat_id: int,
    source_message_id: int,
    target_chat_id: int | None,
    kind: str,
    text: str | None,
    reply_to: int | None,
    now: datetime,
    note: bool = False,
) -> tuple[int, bool]:
    """Writes a message to relay (or an internal note). Returns its id and whether she has just
    started waiting (her first unanswered message: time to nudge later)."""
    reply_to_target = await _counterpart(session, source_chat_id, reply_to)
    row = RelayMessage(
        conversation_id=conversation_id,
        inbound=inbound,
        author_id=author_id,
        source_chat_id=source_chat_id,
        source_message_id=source_message_id,
        target_chat_id=target_chat_id,
        reply_to_target=reply_to_target,
        kind=kind,
        text=text,
        state=(RelayState.NOTE if note else RelayState.PENDING).value,
        created_at=now,
    )
    session.add(row)
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    started = False
    if not note:
        if inbound and conversation.waiting_since is None:
            conversation.waiting_since = now
            started = True
        elif not inbound:
            conversation.waiting_since = None
    conversation.updated_at = now
    await session.flush()
    row_id = row.id
    await session.commit()
    return row_id, started


async def record_header(
    session: AsyncSession, *, conversation_id: int, user_id: int, curator_id: int, message_id: int, now: datetime
) -> None:
    """No-group mode: the bot's header in the curator's chat, so that a reply to it finds the conversation."""
    session.add(
        RelayMessage(
            conversation_id=conversation_id,
            inbound=True,
            author_id=None,
            source_chat_id=user_id,
            source_message_id=0,
            target_chat_id=curator_id,
            target_message_id=message_id,
            kind="header",
            state=RelayState.NOTE.value,
            created_at=now,
        )
    )
    await session.commit()


async def header_in(session: AsyncSession, *, conversation_id: int, chat_id: int) -> int | None:
    """No-group mode: the id of her latest header in this person's chat (her messages reply to it)."""
    found = await session.scalar(
        select(RelayMessage.target_message_id)
        .where(
            RelayMessage.conversation_id == conversation_id,
            RelayMessage.kind == "header",
            RelayMessage.target_chat_id == chat_id,
        )
        .order_by(RelayMessage.id.desc())
        .limit(1)
    )
    await session.commit()
    return found


@dataclass(frozen=True, slots=True)
class Counterpart:
    conversation_id: int
    inbound: bool
    chat_id: int
    message_id: int
    kind: str


async def counterpart_of(session: AsyncSession, *, chat_id: int, message_id: int) -> Counterpart | None:
    """For an edit: the relayed copy of a message (or the original of a copy)."""
    row = await session.scalar(
        select(RelayMessage).where(
            RelayMessage.source_chat_id == chat_id,
            RelayMessage.source_message_id == message_id,
            RelayMessage.state == RelayState.DELIVERED.value,
        )
    )
    result = None
    if row is not None and row.target_chat_id is not None and row.target_message_id is not None:
        result = Counterpart(row.conversation_id, row.inbound, row.target_chat_id, row.target_message_id, row.kind)
    await session.commit()
    return result


async def update_text(session: AsyncSession, *, chat_id: int, message_id: int, text: str | None) -> None:
    await session.execute(
        update(RelayMessage)
        .where(RelayMessage.source_chat_id == chat_id, RelayMessage.source_message_id == message_id)
        .values(text=text)
    )
    await session.commit()


async def conversation_of_reply(session: AsyncSession, *, chat_id: int, message_id: int) -> int | None:
    """No-group mode: the conversation a curator's reply (in her private chat) belongs to."""
    found = await session.scalar(
        select(RelayMessage.conversation_id).where(
            RelayMessage.target_chat_id == chat_id, RelayMessage.target_message_id == message_id
        )
    )
    await session.commit()
    return found
