"""Regions and their support catalogue, its history and the subscriptions to it."""

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
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UtcDateTime


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    work_hours: Mapped[str | None] = mapped_column(String(16), default=None)  # "09:00-18:00"; None: WORK_HOURS


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
    # "file": loaded from content/regions at start; "bot": added or edited by staff in the bot (the
    # file sync then leaves it alone, so an edit is never overwritten by a restart).
    source: Mapped[str] = mapped_column(String(8), default="file", server_default="file")


class MeasureVersion(Base):
    """Every change of a catalog entry made in the bot: who, when, before and after."""

    __tablename__ = "measure_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[int] = mapped_column(Integer, ForeignKey("support_measures.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))  # created, edited, archived, restored
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Subscription(Base):
    """A person's choice of updates by need category; without a row she gets her region's updates."""

    __tablename__ = "subscriptions"
    __table_args__ = (PrimaryKeyConstraint("user_id", "category"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    subscribed: Mapped[bool] = mapped_column(Boolean)
