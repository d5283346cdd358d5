"""Meetings: the slots offered, the votes on a general meeting, attendance."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import EncryptedText, UtcDateTime


class MeetingKind(enum.StrEnum):
    PRELIMINARY = "preliminary"  # stage 2: the facilitator with one side
    GENERAL = "general"  # stage 3: everyone together


class MeetingFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


class MeetingState(enum.StrEnum):
    OPEN = "open"  # a preliminary slot nobody has taken yet
    BOOKED = "booked"  # a preliminary slot a participant took
    PROPOSED = "proposed"  # an option for the general meeting, being voted on
    FIXED = "fixed"  # the general meeting's chosen option
    WITHDRAWN = "withdrawn"  # taken back by the facilitator, or an option not chosen
    CALLED_OFF = "called_off"  # the general meeting, after someone withdrew consent


class Meeting(Base):
    """A time the facilitator offers: a preliminary slot, or an option for the general meeting."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_facilitator_starts", "facilitator_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    facilitator_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    # A preliminary slot offered to one person only; None: to any participant of the case.
    for_participant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="CASCADE"), default=None
    )
    booked_by: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="SET NULL"), index=True, default=None
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_min: Mapped[int] = mapped_column(SmallInteger)
    timezone: Mapped[str] = mapped_column(String(64))  # the facilitator's, as she entered it
    format: Mapped[str] = mapped_column(String(16))
    place: Mapped[str | None] = mapped_column(EncryptedText, default=None)  # address, phone or video link
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Vote(Base):
    """A participant's answer to one option of the general meeting."""

    __tablename__ = "meeting_votes"
    __table_args__ = (PrimaryKeyConstraint("meeting_id", "participant_id"),)

    meeting_id: Mapped[int] = mapped_column(Integer, ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"))
    suits: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Attendance(Base):
    """ "I will come" / "I cannot come", answered from a reminder."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (PrimaryKeyConstraint("meeting_id", "participant_id"),)

    meeting_id: Mapped[int] = mapped_column(Integer, ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"))
    coming: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
