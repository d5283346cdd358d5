"""What goes out and comes in: reminders, relayed conversations, broadcasts, the send pace, the inbox."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import EncryptedJSON, EncryptedText, UtcDateTime


class ReminderState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one instance; back to pending if it crashed (lease)
    SENT = "sent"
    FAILED = "failed"  # gave up: blocked, or attempts spent
    DROPPED = "dropped"  # too late to be of use (the meeting has passed)
    CANCELLED = "cancelled"  # what it was about went away (cancelled meeting, withdrawn consent)


class Reminder(Base):
    """Work that fires later: one message to one person at a due time, claimed atomically by one
    instance (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and sent at most once per claim."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_state_due", "state", "due_at"),
        # Once per (kind, person, due time, what it is about): see ``bot.services.reminders.once_key``.
        UniqueConstraint("kind", "recipient_id", "due_at", "once_key", name="uq_reminders_once_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[int] = mapped_column(BigInteger, index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    meeting_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("meetings.id", ondelete="CASCADE"), index=True, default=None
    )
    case_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), default=None)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # ids and codes only
    # A digest of (meeting, payload): two rows with one kind, recipient, due time and key are one message.
    once_key: Mapped[str] = mapped_column(String(64))
    # A message worded when it was queued (a notice to the team): encrypted, it may name a participant.
    text: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)  # an error type, never a text
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ConversationState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Conversation(Base):
    """A participant's conversation with the curators: one per person, reopened as needed, with one
    forum topic in the curators' group (or, without a group, the assigned curator's private chat)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("group_chat_id", "topic_id", name="uq_conversations_topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)  # the participant's Telegram id
    case_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("cases.id", ondelete="SET NULL"), default=None)
    curator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    region_code: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(16))
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    topic_id: Mapped[int | None] = mapped_column(Integer, default=None)
    topic_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # who creates the topic
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # her first unanswered message
    last_auto_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # out-of-hours answer
    rating: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RelayState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    NOTE = "note"  # an internal note of the curators: kept, never relayed


class RelayMessage(Base):
    """One message relayed between a participant and the curators; also the outbox (a row is written
    before the copy is sent, so a crash or a 429 loses nothing) and the map of message ids both
    ways (replies keep their threading, edits follow)."""

    __tablename__ = "relay_messages"
    __table_args__ = (
        Index("ix_relay_source", "source_chat_id", "source_message_id"),
        Index("ix_relay_target", "target_chat_id", "target_message_id"),
        Index("ix_relay_state", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    inbound: Mapped[bool] = mapped_column(Boolean)  # from the participant to the curators
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(Integer)
    target_chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    target_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reply_to_target: Mapped[int | None] = mapped_column(Integer, default=None)  # threading in the target chat
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(EncryptedText, default=None)  # text or caption, for the history
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    error: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class BroadcastState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(Base):
    """A message from the team to many people: its content, its audience, its progress."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # text, photo, document
    text: Mapped[str | None] = mapped_column(EncryptedText, default=None)  # HTML, or the caption
    file_id: Mapped[str | None] = mapped_column(String(255), default=None)
    button_text: Mapped[str | None] = mapped_column(String(64), default=None)
    button_url: Mapped[str | None] = mapped_column(String(512), default=None)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)  # roles, regions, stages, category
    state: Mapped[str] = mapped_column(String(16), index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    total: Mapped[int] = mapped_column(Integer, default=0)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    progress_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    progress_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"  # 403: she blocked the bot
    FAILED = "failed"  # gave up (attempts spent, or Telegram refused)
    CANCELLED = "cancelled"


class BroadcastDelivery(Base):
    """One recipient of one broadcast: claimed atomically, sent at most once."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id", name="uq_delivery_once"),
        Index("ix_deliveries_state", "broadcast_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # backoff
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    error: Mapped[str | None] = mapped_column(String(64), default=None)


class SendPace(Base):
    """Telegram's limits shared by every instance on one database: when the next message may go,
    overall (``key`` ``*``) and to one chat (``key`` the chat's pseudonym, never its id). Rows of
    chats are short-lived: purged a few minutes after their moment passed."""

    __tablename__ = "send_pace"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[float] = mapped_column(Double)  # seconds since the epoch, the database's clock


class InboxUpdate(Base):
    """An update from Telegram, stored before Telegram is told it arrived (the durable inbox).

    Handled from here and then kept, emptied, as a mark that this ``update_id`` has been seen (a
    restart may fetch it again), until it is older than Telegram keeps updates.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_pending", "done_at", "update_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The whole update as Telegram sent it: her words, so encrypted; emptied once handled.
    payload: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, default=None)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
