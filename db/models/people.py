"""People and what the bot keeps about them: users, roles, join requests, the audit log, dialog state."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import EncryptedJSON, EncryptedText, UtcDateTime


class Role(enum.StrEnum):
    WOMAN = "woman"  # участница
    RELATIVE = "relative"  # родственник / значимое лицо
    CURATOR = "curator"  # куратор семьи
    FACILITATOR = "facilitator"  # ведущий ВП
    STAFF = "staff"  # ресурсный центр, УФСИН
    ADMIN = "admin"


class User(Base):
    """A person who has written to the bot. No names, no phone: the Telegram id is enough."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    locale: Mapped[str | None] = mapped_column(String(8), default=None)  # her own choice; None = follow Telegram
    app_language: Mapped[str | None] = mapped_column(String(8), default=None)  # her Telegram app's, last seen
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    region: Mapped[str | None] = mapped_column(String(32), ForeignKey("regions.code"), default=None)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    # Team members only (curators, facilitators, staff): the first name participants see.
    display_name: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    # Team members only: the region whose cases staff may see. Set by a role invitation or an admin,
    # never by the person herself (her /settings region is only what help she is shown).
    scope_region: Mapped[str | None] = mapped_column(String(32), ForeignKey("regions.code"), default=None)
    # Discreet mode: the first words of what the bot sends on its own say nothing about the programme.
    discreet: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RecentMessage(Base):
    """The id of a message in a private chat, sent or received, so "hide the chat" can delete it.
    Telegram lets a bot delete messages for 48 hours only: rows older than that are pruned. No text."""

    __tablename__ = "recent_messages"
    __table_args__ = (PrimaryKeyConstraint("chat_id", "message_id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class AuditEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). Ids and codes only, no personal text."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FsmRecord(Base):
    """Dialog state of one chat (aiogram FSM and aiogram_dialog stacks); the data is encrypted."""

    __tablename__ = "fsm_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # so "delete my data" finds it
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JoinRequest(Base):
    """Someone with no invitation link asks to take part: a few answers she may skip, for the staff
    of her region, who turn it into a case (``/newcase`` filled in) or leave it."""

    __tablename__ = "join_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)  # her Telegram id
    region_code: Mapped[str | None] = mapped_column(String(32), default=None)
    first_name: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    release: Mapped[str | None] = mapped_column(String(16), default=None)  # released / soon / later
    note: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open / case
    case_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("cases.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
