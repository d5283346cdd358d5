"""Agreements and their check-ins, and the surveys that follow a programme."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import EncryptedText, UtcDateTime


class AgreementState(enum.StrEnum):
    ACTIVE = "active"  # sent to the participants; followed up until valid_until
    ENDED = "ended"  # its term is over (the case closes with a final survey)


class Agreement(Base):
    """The agreement (договор) the participants reached at the general meeting, as the facilitator
    records it: items, who is responsible, when; valid until; what happens if an item is not kept."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    valid_until: Mapped[date] = mapped_column(Date)
    consequences: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class AgreementItem(Base):
    __tablename__ = "agreement_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(Integer, ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(EncryptedText)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)  # once, by this day
    repeat: Mapped[str | None] = mapped_column(String(32), default=None)  # "weekly:6" (Sunday), "monthly:15", "daily"


class ItemResponsible(Base):
    __tablename__ = "agreement_item_people"
    __table_args__ = (PrimaryKeyConstraint("item_id", "participant_id"),)

    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("agreement_items.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"))


class AgreementAck(Base):
    """Each participant's answer to the recorded text: "yes, this is what we agreed" or "not right"."""

    __tablename__ = "agreement_acks"
    __table_args__ = (PrimaryKeyConstraint("agreement_id", "participant_id"),)

    agreement_id: Mapped[int] = mapped_column(Integer, ForeignKey("agreements.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"))
    confirmed: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CheckinState(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    MORE_TIME = "more_time"  # moved to a new date (a new check-in row carries it)
    HELP = "help"  # she asked for a person
    MISSED = "missed"  # the day passed without an answer


class Checkin(Base):
    """One occurrence of an item for one responsible person: by this day, kept or not."""

    __tablename__ = "agreement_checkins"
    __table_args__ = (UniqueConstraint("item_id", "participant_id", "due_date", name="uq_checkin_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("agreement_items.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SurveyInvite(Base):
    """Who is asked which survey, and how far she got. The answers are NOT linked to it."""

    __tablename__ = "survey_invites"
    __table_args__ = (UniqueConstraint("user_id", "survey", "ref", name="uq_survey_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    survey: Mapped[str] = mapped_column(String(32))  # a file in content/surveys
    ref: Mapped[str] = mapped_column(String(32))  # what it is about, e.g. "meeting:12" or "agreement:3:1m"
    case_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("cases.id", ondelete="SET NULL"), default=None)
    state: Mapped[str] = mapped_column(String(16))  # pending, active, done, expired
    question: Mapped[int] = mapped_column(SmallInteger, default=0)  # index of the current question
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SurveyAnswer(Base):
    """One answer, stored apart from the person: it knows its survey, the case's stage and region,
    never who answered (no user, no case, no invite id)."""

    __tablename__ = "survey_answers"
    __table_args__ = (Index("ix_survey_answers_survey_question", "survey", "question"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    survey: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(String(32))
    stage: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    region_code: Mapped[str | None] = mapped_column(String(32), default=None)
    score: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # 1-5 scales
    choice: Mapped[str | None] = mapped_column(String(32), default=None)
    text: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11": coarse on purpose
