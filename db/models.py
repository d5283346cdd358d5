"""The schema. Every change here comes with an Alembic revision in ``db/migrations/versions``."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import EncryptedJSON, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    region: Mapped[str | None] = mapped_column(String(32), ForeignKey("regions.code"), default=None)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)


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


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)


class MeasureKind(enum.StrEnum):
    CRISIS = "crisis"
    SUPPORT = "support"


class SupportMeasure(Base):
    """A crisis contact or a support measure of one region, in every language at once."""

    __tablename__ = "support_measures"
    __table_args__ = (UniqueConstraint("region_code", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(32), ForeignKey("regions.code"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    description: Mapped[dict[str, str]] = mapped_column(JSON)
    address: Mapped[dict[str, str] | None] = mapped_column(JSON)
    phone: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(512))
    valid_until: Mapped[date | None] = mapped_column(Date)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
