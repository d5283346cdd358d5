"""Cases and their participants: invitations, consent, questions, stages, the accounting card."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

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
from db.types import EncryptedJSON, EncryptedText, UtcDateTime


class ProgrammeType(enum.StrEnum):
    """Accounting card, field 8."""

    RECONCILIATION = "reconciliation"  # программа примирения (не родственники)
    FAMILY_RECONCILIATION = "family_reconciliation"  # примирение в семье
    FAMILY_CONFERENCE = "family_conference"  # семейная конференция
    HARM_REPAIR = "harm_repair"  # программа заглаживания вреда
    SCHOOL_CONFERENCE = "school_conference"  # школьная конференция
    CIRCLE_OF_CARE = "circle_of_care"  # круг сообщества (со специалистами)
    SHUTTLE_MEDIATION = "shuttle_mediation"  # челночная медиация


class Case(Base):
    """One woman's programme. Named in chats and reports by ``code``; the offence is never asked."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    first_name: Mapped[str] = mapped_column(EncryptedText)
    region_code: Mapped[str] = mapped_column(String(32), ForeignKey("regions.code"), index=True)
    release_date: Mapped[date] = mapped_column(Date)
    parole: Mapped[bool] = mapped_column(Boolean)
    programme_type: Mapped[str] = mapped_column(String(32))
    curator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    facilitator_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    stage: Mapped[int] = mapped_column(SmallInteger, default=1)
    stage_since: Mapped[datetime] = mapped_column(UtcDateTime)
    programme_started: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # first entry to stage 2
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ParticipantKind(enum.StrEnum):
    WOMAN = "woman"
    RELATIVE = "relative"


class Relation(enum.StrEnum):
    MOTHER = "mother"
    PARTNER = "partner"
    ADULT_CHILD = "adult_child"
    GUARDIAN = "guardian"  # опекун детей
    OTHER = "other"


class Approval(enum.StrEnum):
    """The woman's answer to "may we invite this person?" (hers is always approved)."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    LATER = "later"


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str] = mapped_column(EncryptedText)
    relation: Mapped[str | None] = mapped_column(String(16), default=None)
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    approval: Mapped[str] = mapped_column(String(16))
    proposed_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
    joined_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Invitation(Base):
    """A single-use deep link. Only the SHA-256 of its token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, default=None
    )
    role: Mapped[str | None] = mapped_column(String(16), default=None)  # a role invitation
    region_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("regions.code"), default=None)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    used_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ConsentPurpose(enum.StrEnum):
    DATA = "data"  # processing of her personal data
    PARTICIPATION = "participation"  # taking part in the meetings


class Decision(enum.StrEnum):
    AGREE = "agree"
    DECLINE = "decline"
    ASK = "ask"  # "I want to ask first"
    WITHDRAW = "withdraw"


class ConsentEvent(Base):
    """Every consent decision as it was made: never updated, the latest per purpose is the state."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_participant_purpose", "participant_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    text_version: Mapped[str] = mapped_column(String(64))  # SHA-256 of the exact text she was shown
    locale: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Question(Base):
    """A question asked before deciding ("I want to ask first"), waiting for the curator."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(Integer, ForeignKey("participants.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(EncryptedText)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class StageMove(Base):
    __tablename__ = "stage_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[int] = mapped_column(SmallInteger)
    to_stage: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(EncryptedText)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class DigestSent(Base):
    """Claims one digest per person and day, so several bot instances send it once."""

    __tablename__ = "digests_sent"
    __table_args__ = (PrimaryKeyConstraint("kind", "user_id", "day"),)

    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseResult(enum.StrEnum):
    """Accounting card, field 11 (Appendix 6): the result of the programme."""

    AGREEMENT = "agreement"  # примирение сторон: заключён договор
    HARM_REPAIRED = "harm_repaired"  # примирение: возмещён материальный ущерб
    CASE_CLOSED = "case_closed"  # примирение: закрытие уголовного дела в связи с примирением сторон
    PROCEEDINGS_STOPPED = "proceedings_stopped"  # примирение: прекращение судебного разбирательства
    WITHOUT_MEETING = "without_meeting"  # разрешение ситуации без примирительной встречи
    NO_CHANGE = "no_change"  # ситуация не изменилась
    DEEPENED = "deepened"  # углубление конфликта


class AccountingCard(Base):
    """The case's accounting card (учётная карточка ВП, Appendix 6): codes, dates and counts only.

    The card holds nothing about the offence; names stay in ``participants``. Programme type,
    facilitator and the dates of stages are read from the case itself. ``protocol`` keeps the free
    fields of the general meeting's protocol, typed by the facilitator, encrypted."""

    __tablename__ = "accounting_cards"

    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    territory: Mapped[str | None] = mapped_column(String(120), default=None)
    institution: Mapped[str | None] = mapped_column(String(120), default=None)
    source: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # field 4, codes 1-9
    conflict_type: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # field 6, codes 1-13
    nature: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # field 7, 1 criminal, 2 not
    earlier: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # field 9, codes 1-3
    participants: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # field 5: how many sides
    representatives: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # and their representatives
    situation_date: Mapped[date | None] = mapped_column(Date, default=None)  # field 10
    handed_date: Mapped[date | None] = mapped_column(Date, default=None)  # field 10: handed to the facilitator
    result: Mapped[str | None] = mapped_column(String(24), default=None)  # field 11, CaseResult
    no_result_reason: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # field 12, codes 1-5
    report_date: Mapped[date | None] = mapped_column(Date, default=None)  # the report on the programme
    protocol: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, default=None)
    updated_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
