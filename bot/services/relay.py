"""Conversations with a person: the rules of the curator hand-off, without Telegram.

One conversation per participant (reopened when she writes again), one forum topic for it in the
curators' group, created exactly once however many messages arrive together (the instance that wins
``claim_topic`` creates it; the others' messages wait in the outbox). Every relayed message is a row
written before the copy is sent: the outbox that survives a crash or a 429, and the map of message ids
both ways, so replies keep their threading and edits follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CursorResult, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, notices, outbox, workdays
from bot.services.catalog import parse_hours
from bot.services.errors import Refused
from bot.services.users import TEAM_ROLES, Profile
from db import upsert
from db.models import (
    Case,
    Conversation,
    ConversationState,
    Participant,
    Region,
    RelayMessage,
    RelayState,
    Role,
    User,
)
from db.types import pseudonym

TOPIC_LEASE = timedelta(seconds=60)
SWEEP_AFTER = timedelta(seconds=20)  # a message not sent by then is the sender's (bot/sender.py)
SEND_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation as the relay needs it."""

    id: int
    user_id: int
    case_id: int | None
    case_code: str | None
    first_name: str | None  # as the team wrote it in her case; None without a case
    curator_id: int | None
    region_code: str | None
    state: str
    group_chat_id: int | None
    topic_id: int | None
    waiting_since: datetime | None
    reopened: bool = False


async def _thread(session: AsyncSession, conversation: Conversation, *, reopened: bool = False) -> Thread:
    case = await session.get(Case, conversation.case_id) if conversation.case_id else None
    first_name = None
    if case is not None:
        first_name = await session.scalar(
            select(Participant.first_name).where(
                Participant.case_id == case.id, Participant.user_id == conversation.user_id
            )
        )
    return Thread(
        id=conversation.id,
        user_id=conversation.user_id,
        case_id=conversation.case_id,
        case_code=case.code if case else None,
        first_name=first_name,
        curator_id=conversation.curator_id,
        region_code=conversation.region_code,
        state=conversation.state,
        group_chat_id=conversation.group_chat_id,
        topic_id=conversation.topic_id,
        waiting_since=conversation.waiting_since,
        reopened=reopened,
    )


async def open_for(session: AsyncSession, *, user_id: int, now: datetime, default_region: str | None = None) -> Thread:
    """Her conversation, created on her first hand-off (once, even when two arrive together) or
    reopened; it follows her case (its curator, its region), else the region she sees: her own
    choice, else the service's default (``DEFAULT_REGION``)."""
    await session.execute(
        upsert.insert(session, Conversation)
        .values(user_id=user_id, state=ConversationState.OPEN.value, opened_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Conversation.user_id])
    )
    conversation = await session.scalar(
        select(Conversation).where(Conversation.user_id == user_id).execution_options(populate_existing=True)
    )
    assert conversation is not None
    reopened = conversation.state == ConversationState.CLOSED
    if reopened:
        conversation.state = ConversationState.OPEN.value
        conversation.closed_at = None
        conversation.rating = None
        conversation.opened_at = now
        audit.record(
            session,
            actor_id=user_id,
            action="conversation_reopened",
            object_type="conversation",
            object_id=conversation.id,
            now=now,
        )
    participant = await session.scalar(
        select(Participant).where(Participant.user_id == user_id).order_by(Participant.id.desc()).limit(1)
    )
    if participant is not None and conversation.case_id is None:
        conversation.case_id = participant.case_id
    case = await session.get(Case, conversation.case_id) if conversation.case_id else None
    if case is not None:
        conversation.region_code = case.region_code
        if conversation.curator_id is None:
            conversation.curator_id = case.curator_id
    else:
        person = await session.get(User, user_id)
        chosen = person.region if person else None
        conversation.region_code = chosen or conversation.region_code or default_region
    conversation.updated_at = now
    thread = await _thread(session, conversation, reopened=reopened)
    await session.commit()
    return thread


async def get(session: AsyncSession, conversation_id: int) -> Thread | None:
    conversation = await session.get(Conversation, conversation_id)
    thread = await _thread(session, conversation) if conversation else None
    await session.commit()
    return thread


async def by_user(session: AsyncSession, user_id: int) -> Thread | None:
    conversation = await session.scalar(select(Conversation).where(Conversation.user_id == user_id))
    thread = await _thread(session, conversation) if conversation else None
    await session.commit()
    return thread


async def by_topic(session: AsyncSession, group_chat_id: int, topic_id: int) -> Thread | None:
    conversation = await session.scalar(
        select(Conversation).where(Conversation.group_chat_id == group_chat_id, Conversation.topic_id == topic_id)
    )
    thread = await _thread(session, conversation) if conversation else None
    await session.commit()
    return thread


async def is_open(session: AsyncSession, user_id: int) -> bool:
    found = await session.scalar(
        select(Conversation.id).where(
            Conversation.user_id == user_id, Conversation.state == ConversationState.OPEN.value
        )
    )
    await session.commit()
    return found is not None


async def claim_topic(session: AsyncSession, *, conversation_id: int, group_chat_id: int, now: datetime) -> bool:
    """True for the one caller that may create the topic now (an abandoned claim expires)."""
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.topic_id.is_(None),
            or_(Conversation.topic_claimed_at.is_(None), Conversation.topic_claimed_at < now - TOPIC_LEASE),
        )
        .values(topic_claimed_at=now, group_chat_id=group_chat_id)
    )
    await session.commit()
    return cast(CursorResult[Any], result).rowcount == 1


async def set_topic(
    session: AsyncSession, *, conversation_id: int, group_chat_id: int, topic_id: int | None, now: datetime
) -> None:
    """The topic is made (or, with None, failed and may be tried again)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(
            group_chat_id=group_chat_id,
            topic_id=topic_id,
            topic_claimed_at=None if topic_id is None else now,
            updated_at=now,
        )
    )
    await session.commit()


# ---------------------------------------------------------------- messages


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


def _due(now: datetime, older_than: timedelta = SWEEP_AFTER) -> ColumnElement[bool]:
    # Fresh rows are the immediate send's; a row given back waits as long again after its last try.
    return func.coalesce(RelayMessage.claimed_at, RelayMessage.created_at) <= now - older_than


QUEUE = outbox.Queue(
    model=RelayMessage,
    pending=RelayState.PENDING.value,
    sending=RelayState.SENDING.value,
    failed=RelayState.FAILED.value,
    due=_due,
    due_at=lambda: func.coalesce(RelayMessage.claimed_at, RelayMessage.created_at),
    due_offset=SWEEP_AFTER,
    order_by=lambda: (RelayMessage.id,),
    owned=False,  # one holder at a time by the lease; the outcome is written by whoever sent
    live=(RelayState.PENDING.value, RelayState.SENDING.value),
)
_TASK = (
    RelayMessage.conversation_id,
    RelayMessage.inbound,
    RelayMessage.source_chat_id,
    RelayMessage.source_message_id,
    RelayMessage.target_chat_id,
    RelayMessage.reply_to_target,
    RelayMessage.kind,
    RelayMessage.attempts,
    RelayMessage.text,
)


async def claim(
    session: AsyncSession, *, message_id: int, now: datetime, target_chat_id: int | None = None
) -> Task | None:
    """Takes one message for sending at once (pending, or stuck in sending past its lease) —
    ``outbox.claim`` of that one row. Commits."""
    values = {"target_chat_id": target_chat_id} if target_chat_id is not None else None
    rows = await outbox.claim(
        session,
        QUEUE,
        now=now,
        worker=None,
        limit=1,
        lease=SEND_LEASE,
        returning=_TASK,
        ids=[message_id],
        values=values,
    )
    return Task(*rows[0]) if rows else None  # type: ignore[call-arg]


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[Task]:
    """What the immediate send did not finish (a crash, a 429 storm, nobody on duty yet), oldest
    first, claimed for the sender. Commits."""
    rows = await outbox.claim(session, QUEUE, now=now, worker=None, limit=limit, lease=SEND_LEASE, returning=_TASK)
    tasks = [Task(*row) for row in rows]  # type: ignore[call-arg]
    tasks.sort(key=lambda t: t.id)
    return tasks


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the sender should look at the relay's outbox next. No commit."""
    return await outbox.next_due(session, QUEUE, now=now, lease=SEND_LEASE)


async def delivered(
    session: AsyncSession, *, message_id: int, target_chat_id: int, target_message_id: int, now: datetime
) -> None:
    values = {
        "state": RelayState.DELIVERED.value,
        "target_chat_id": target_chat_id,
        "target_message_id": target_message_id,
        "delivered_at": now,
        "error": None,
    }
    await outbox.finish(session, QUEUE, [message_id], worker=None, values=values)


async def release(session: AsyncSession, ids: Sequence[int]) -> int:
    """Claimed rows the sender will not send now (shutdown) go back, due at once. Commits."""
    return await outbox.release(session, QUEUE, ids, worker=None, values={"claimed_at": None})


async def give_back(session: AsyncSession, *, message_id: int, error: str, final: bool) -> None:
    """Back to the outbox for a later try (``SWEEP_AFTER`` after this one), or failed for good."""
    state = RelayState.FAILED if final else RelayState.PENDING
    values = {"state": state.value, "error": error[: outbox.ERROR_LEN]}
    await outbox.finish(session, QUEUE, [message_id], worker=None, values=values)


async def waits_for_the_team(session: AsyncSession, message_id: int) -> bool:
    """True for a message of hers that still waits to reach the team (the caller takes its turn
    in the group's pace before claiming it, so a claim is never held while waiting)."""
    row = await session.get(RelayMessage, message_id)
    waiting = row is not None and row.inbound and row.state in (RelayState.PENDING.value, RelayState.SENDING.value)
    await session.rollback()
    return waiting


async def due(
    session: AsyncSession, *, now: datetime, older_than: timedelta = SWEEP_AFTER, limit: int = 50
) -> list[int]:
    """What the sender's relay lane would take now (``claim_due``, read only): messages the immediate
    send did not finish, ``older_than`` after they were written or last tried, and claims past their
    lease."""
    ids = await session.scalars(
        select(RelayMessage.id)
        .where(
            or_(
                (RelayMessage.state == RelayState.PENDING.value) & _due(now, older_than),
                (RelayMessage.state == RelayState.SENDING.value) & (RelayMessage.claimed_at < now - SEND_LEASE),
            )
        )
        .order_by(RelayMessage.id)
        .limit(limit)
    )
    found = list(ids.all())
    await session.commit()
    return found


async def waiting_in_outbox(session: AsyncSession, conversation_id: int) -> list[int]:
    ids = await session.scalars(
        select(RelayMessage.id)
        .where(RelayMessage.conversation_id == conversation_id, RelayMessage.state == RelayState.PENDING.value)
        .order_by(RelayMessage.id)
    )
    found = list(ids.all())
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


# ---------------------------------------------------------------- the queue


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


# ---------------------------------------------------------------- hours


@dataclass(frozen=True, slots=True)
class Hours:
    start: time
    end: time
    timezone: str


async def hours_of(session: AsyncSession, *, region_code: str | None, default_hours: str, default_zone: str) -> Hours:
    region = await session.get(Region, region_code) if region_code else None
    span = parse_hours((region.work_hours if region else None) or default_hours) or parse_hours(default_hours)
    assert span is not None
    await session.commit()
    return Hours(span[0], span[1], region.timezone if region else default_zone)


def in_hours(hours: Hours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(hours.timezone))
    return workdays.is_working_day(local.date()) and hours.start <= local.time().replace(tzinfo=None) < hours.end


def next_opening(hours: Hours, now: datetime) -> datetime:
    """When a person is next at work (now, if she is)."""
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    day = local.date()
    if workdays.is_working_day(day) and local.time().replace(tzinfo=None) < hours.end:
        start = datetime.combine(day, hours.start, tzinfo=zone)
        return max(start, local)
    day += timedelta(days=1)
    while not workdays.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, hours.start, tzinfo=zone)


async def mark_auto_reply(session: AsyncSession, *, conversation_id: int, now: datetime) -> bool:
    """True once per waiting spell: the out-of-hours answer is not repeated on every message."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        await session.commit()
        return False
    first = conversation.last_auto_reply_at is None or (
        conversation.waiting_since is not None and conversation.last_auto_reply_at < conversation.waiting_since
    )
    if first:
        conversation.last_auto_reply_at = now
    await session.commit()
    return first


async def still_waiting_since(session: AsyncSession, *, conversation_id: int, since: datetime) -> bool:
    conversation = await session.get(Conversation, conversation_id)
    result = (
        conversation is not None
        and conversation.state == ConversationState.OPEN
        and conversation.waiting_since is not None
        and conversation.waiting_since <= since
    )
    await session.commit()
    return result


# ---------------------------------------------------------------- history


async def forget(session: AsyncSession, *, user_id: int, now: datetime) -> Thread | None:
    """She asked to delete her data: the conversation and its history go (the caller also removes
    the topic). Returns what it was, to tidy up in Telegram."""
    conversation = await session.scalar(select(Conversation).where(Conversation.user_id == user_id))
    if conversation is None:
        await session.commit()
        return None
    thread = await _thread(session, conversation)
    await session.execute(delete(RelayMessage).where(RelayMessage.conversation_id == conversation.id))
    await session.delete(conversation)
    audit.record(
        session,
        actor_id=user_id,
        action="conversation_deleted",
        object_type="conversation",
        object_id=thread.id,
        now=now,
    )
    await session.commit()
    return thread


async def purge(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Deletes the history of conversations whose case closed (or that closed, without a case) more
    than ``retention_days`` ago."""
    cutoff = now - timedelta(days=retention_days)
    closed_cases = select(Case.id).where(Case.closed_at.is_not(None), Case.closed_at < cutoff)
    old = select(Conversation.id).where(
        or_(
            Conversation.case_id.in_(closed_cases),
            (Conversation.case_id.is_(None))
            & (Conversation.state == ConversationState.CLOSED.value)
            & (Conversation.closed_at < cutoff),
        )
    )
    result = await session.execute(delete(RelayMessage).where(RelayMessage.conversation_id.in_(old)))
    count = cast(CursorResult[Any], result).rowcount or 0
    if count:
        audit.record(session, actor_id=None, action="history_purged", count=count, now=now)
    await session.commit()
    return count
