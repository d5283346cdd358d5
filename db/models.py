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
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import EncryptedJSON, EncryptedText, UtcDateTime

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
