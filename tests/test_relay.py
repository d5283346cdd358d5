"""bot/services/relay.py: conversations, the outbox and id map, the queue, working hours, history."""

import asyncio
import itertools
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import invitations, relay, users
from bot.services.relay import Refused
from bot.services.users import Profile
from db.models import AuditEvent, Case, Conversation, ConversationState, Region, RelayMessage, RelayState, Role, User
from db.types import pseudonym
from tests.factories import NOW, REGION_A, REGION_B, ZONE_A, Ids, audit_rows, ensure_regions, register

_ids = Ids(660_000_000, __name__)
new_id, person = _ids.new, _ids.person

# Chats of the curators' groups and message ids: fresh ones for every test (the database is shared).
_groups = itertools.count(-1_006_600_000_000, -1)
_topics = itertools.count(66_000)

DEFAULT_HOURS = "09:00-18:00"
HOURS_A = relay.Hours(time(9, 0), time(18, 0), ZONE_A)


def local(*args: int) -> datetime:
    """A moment in Barnaul (UTC+7), as an aware datetime."""
    return datetime(*args, tzinfo=ZoneInfo(ZONE_A))  # type: ignore[arg-type, misc]  # *args: ints up to the minute


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


async def conversation_row(session: AsyncSession, conversation_id: int) -> Conversation | None:
    row = await session.get(Conversation, conversation_id, populate_existing=True)
    await session.commit()
    return row


async def message_row(session: AsyncSession, message_id: int) -> RelayMessage | None:
    row = await session.get(RelayMessage, message_id, populate_existing=True)
    await session.commit()
    return row


async def count_messages(session: AsyncSession, conversation_id: int) -> int:
    n = await session.scalar(
        select(func.count()).select_from(RelayMessage).where(RelayMessage.conversation_id == conversation_id)
    )
    await session.commit()
    return int(n or 0)


async def with_case(session: AsyncSession, **overrides: object) -> SimpleNamespace:
    """A case in region A with a curator; the woman (whose users row says region B) opened her link."""
    await ensure_regions(session)
    t = SimpleNamespace()
    t.staff = await person(session, Role.STAFF, scope=REGION_A)
    t.curator = await person(session, Role.CURATOR, name="Ольга")
    t.facilitator = await person(session, Role.FACILITATOR, name="Ирина")
    t.case = await register(
        session, t.staff, curator_id=t.curator.user_id, facilitator_id=t.facilitator.user_id, **overrides
    )
    t.woman = new_id()
    session.add(User(id=t.woman, first_seen=NOW, last_seen=NOW, blocked_bot=False, region=REGION_B))
    await session.commit()
    await invitations.redeem(session, token=t.case.woman_token, user_id=t.woman, first_name="Аня", now=NOW)
    return t


async def lone(session: AsyncSession, region: str | None = REGION_B) -> tuple[int, relay.Thread]:
    """Someone without a case who writes to the curators: her id and conversation."""
    await ensure_regions(session)
    p = await person(session, None, region=region)
    thread = await relay.open_for(session, user_id=p.user_id, now=NOW)
    return p.user_id, thread


async def inbound(
    session: AsyncSession,
    thread: relay.Thread,
    message_id: int,
    *,
    now: datetime = NOW,
    target: int | None = None,
    text: str | None = "привет",
    reply_to: int | None = None,
    note: bool = False,
) -> tuple[int, bool]:
    return await relay.add(
        session,
        conversation_id=thread.id,
        inbound=True,
        author_id=thread.user_id,
        source_chat_id=thread.user_id,
        source_message_id=message_id,
        target_chat_id=target,
        kind="text",
        text=text,
        reply_to=reply_to,
        now=now,
        note=note,
    )


async def outbound(
    session: AsyncSession,
    thread: relay.Thread,
    chat_id: int,
    message_id: int,
    *,
    now: datetime = NOW,
    author_id: int | None = None,
    reply_to: int | None = None,
    note: bool = False,
    text: str | None = "ответ",
) -> tuple[int, bool]:
    return await relay.add(
        session,
        conversation_id=thread.id,
        inbound=False,
        author_id=author_id,
        source_chat_id=chat_id,
        source_message_id=message_id,
        target_chat_id=thread.user_id,
        kind="text",
        text=text,
        reply_to=reply_to,
        now=now,
        note=note,
    )


async def profile_of(session: AsyncSession, user_id: int) -> Profile:
    profile = await users.get_profile(session, user_id)
    assert profile is not None
    await session.commit()
    return profile


# ---------------------------------------------------------------- open_for


async def test_open_for_creates_one_conversation_per_user(session: AsyncSession) -> None:
    uid, first = await lone(session)
    again = await relay.open_for(session, user_id=uid, now=NOW + s(5))
    assert again.id == first.id
    assert again.state == ConversationState.OPEN
    assert not first.reopened and not again.reopened
    rows = await session.scalar(select(func.count()).select_from(Conversation).where(Conversation.user_id == uid))
    await session.commit()
    assert rows == 1
    _, other_thread = await lone(session)
    assert other_thread.id != first.id
    found = await relay.by_user(session, uid)
    assert found is not None and found.id == first.id
    assert await relay.is_open(session, uid)


async def test_open_for_concurrently_makes_one_row(
    backend: str, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only")
    await ensure_regions(session)
    uid = (await person(session, None, region=REGION_B)).user_id

    async def one() -> relay.Thread:
        async with session_factory() as own:
            return await relay.open_for(own, user_id=uid, now=NOW)

    for _ in range(3):
        a, b = await asyncio.gather(one(), one())
        assert a.id == b.id
    rows = await session.scalar(select(func.count()).select_from(Conversation).where(Conversation.user_id == uid))
    await session.commit()
    assert rows == 1


async def test_open_for_follows_her_case(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    assert thread.case_id == t.case.case_id
    assert thread.case_code == t.case.code
    assert thread.curator_id == t.curator.user_id
    assert thread.region_code == REGION_A  # her case's region, not the one of her users row (B)
    assert thread.first_name == "Анна"
    row = await conversation_row(session, thread.id)
    assert row is not None
    assert (row.case_id, row.curator_id, row.region_code) == (t.case.case_id, t.curator.user_id, REGION_A)


async def test_open_for_without_a_case_takes_the_region_of_her_users_row(session: AsyncSession) -> None:
    _, thread = await lone(session, region=REGION_B)
    assert thread.region_code == REGION_B
    assert thread.case_id is None and thread.case_code is None and thread.curator_id is None
    assert thread.first_name is None
    _, nowhere = await lone(session, region=None)
    assert nowhere.region_code is None


async def test_open_for_without_a_chosen_region_takes_the_default_one(session: AsyncSession) -> None:
    await ensure_regions(session)
    p = await person(session, None, region=None)
    thread = await relay.open_for(session, user_id=p.user_id, now=NOW, default_region=REGION_A)
    assert thread.region_code == REGION_A  # the region her screens show, never "none"
    chooser = await person(session, None, region=REGION_B)
    chosen = await relay.open_for(session, user_id=chooser.user_id, now=NOW, default_region=REGION_A)
    assert chosen.region_code == REGION_B


async def test_on_duty_her_regions_curators_then_its_staff(session: AsyncSession) -> None:
    await ensure_regions(session)
    code = f"zz13_{new_id()}"
    session.add(Region(code=code, name={"ru": "Нигде", "en": "Nowhere"}, timezone=ZONE_A, position=990))
    await session.commit()
    staff = await person(session, Role.STAFF, scope=code)
    assert await relay.on_duty(session, region_code=code) == [staff.user_id]  # no curator of hers: her staff
    curator = await person(session, Role.CURATOR, scope=code)
    assert (await relay.on_duty(session, region_code=code))[0] == curator.user_id
    blocked = await session.get(User, curator.user_id)
    assert blocked is not None
    blocked.blocked_bot = True
    await session.commit()
    assert await relay.on_duty(session, region_code=code) == [staff.user_id]
    everywhere = await person(session, Role.CURATOR, scope=None)
    other = f"zz13_{new_id()}"  # a region with no team of its own: those who work for every region
    session.add(Region(code=other, name={"ru": "Где-то", "en": "Elsewhere"}, timezone=ZONE_A, position=990))
    await session.commit()
    found = await relay.on_duty(session, region_code=other)
    assert everywhere.user_id in found and staff.user_id not in found


async def test_open_for_reopens_a_closed_conversation(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    assert await relay.close(session, actor=t.curator, conversation_id=thread.id, now=NOW + s(10)) == t.woman
    await relay.rate(session, user_id=t.woman, conversation_id=thread.id, stars=4, now=NOW + s(20))
    closed = await conversation_row(session, thread.id)
    assert closed is not None
    assert (closed.state, closed.rating, closed.closed_at) == ("closed", 4, NOW + s(10))
    assert not await relay.is_open(session, t.woman)

    later = NOW + timedelta(days=3)
    again = await relay.open_for(session, user_id=t.woman, now=later)
    assert again.id == thread.id
    assert again.reopened is True
    assert again.state == ConversationState.OPEN
    row = await conversation_row(session, thread.id)
    assert row is not None
    assert row.state == "open"
    assert row.rating is None
    assert row.closed_at is None
    assert row.opened_at == later
    assert await relay.is_open(session, t.woman)
    events = await audit_rows(session, t.woman, "conversation_reopened")
    assert [e.object_id for e in events] == [str(thread.id)]
    # Already open: not "reopened" again.
    third = await relay.open_for(session, user_id=t.woman, now=later + s(1))
    assert third.reopened is False


# ---------------------------------------------------------------- topics


async def test_claim_topic_only_one_of_two_wins(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    first = await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=NOW)
    second = await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=NOW + s(1))
    assert (first, second) == (True, False)
    row = await conversation_row(session, thread.id)
    assert row is not None and row.group_chat_id == group and row.topic_claimed_at == NOW


async def test_claim_topic_concurrently_one_wins(
    backend: str, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only")
    _, thread = await lone(session)
    group = next(_groups)

    async def one() -> bool:
        async with session_factory() as own:
            return await relay.claim_topic(own, conversation_id=thread.id, group_chat_id=group, now=NOW)

    results = await asyncio.gather(one(), one(), one())
    assert sorted(results) == [False, False, True]


async def test_an_abandoned_topic_claim_expires(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    assert await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=NOW)
    almost = NOW + relay.TOPIC_LEASE - s(1)
    assert not await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=almost)
    past = NOW + relay.TOPIC_LEASE + s(1)
    assert await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=past)
    assert not await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=past + s(1))


async def test_a_made_topic_is_never_claimed_and_a_failed_one_is_released(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group, topic = next(_groups), next(_topics)
    assert await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=NOW)
    await relay.set_topic(session, conversation_id=thread.id, group_chat_id=group, topic_id=topic, now=NOW + s(1))
    for later in (NOW + s(2), NOW + timedelta(days=30)):
        assert not await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=later)
    found = await relay.by_topic(session, group, topic)
    assert found is not None and found.id == thread.id and found.topic_id == topic
    # The topic was deleted / could not be made: released at once, no lease to wait out.
    await relay.set_topic(session, conversation_id=thread.id, group_chat_id=group, topic_id=None, now=NOW + s(3))
    row = await conversation_row(session, thread.id)
    assert row is not None and row.topic_id is None and row.topic_claimed_at is None
    assert await relay.claim_topic(session, conversation_id=thread.id, group_chat_id=group, now=NOW + s(4))
    assert await relay.by_topic(session, group, topic) is None


# ---------------------------------------------------------------- messages


async def test_add_inbound_starts_waiting_once_and_an_answer_ends_it(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    _, started = await inbound(session, thread, 1, now=NOW, target=group)
    assert started is True
    _, started = await inbound(session, thread, 2, now=NOW + s(10), target=group)
    assert started is False
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since == NOW  # the first unanswered one
    _, started = await outbound(session, thread, group, 100, now=NOW + s(20))
    assert started is False
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since is None
    _, started = await inbound(session, thread, 3, now=NOW + s(30), target=group)
    assert started is True
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since == NOW + s(30)


async def test_a_note_does_not_change_waiting(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    note_id, started = await outbound(session, thread, group, 50, now=NOW, note=True, text="!она звонила")
    assert started is False
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since is None
    await inbound(session, thread, 1, now=NOW + s(1), target=group)
    _, started = await outbound(session, thread, group, 51, now=NOW + s(2), note=True, text="/note позже")
    assert started is False
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since == NOW + s(1)  # a note is not an answer
    _, started = await inbound(session, thread, 2, now=NOW + s(3), target=group, note=True)
    assert started is False
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since == NOW + s(1)
    note = await message_row(session, note_id)
    assert note is not None and note.state == RelayState.NOTE
    # A note is never sent.
    assert await relay.claim(session, message_id=note_id, now=NOW + s(4)) is None
    assert note_id not in await relay.waiting_in_outbox(session, thread.id)


async def test_replies_keep_their_threading_both_ways(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    her = thread.user_id
    # Her message 11 becomes 501 in the group.
    m1, _ = await inbound(session, thread, 11, target=group)
    await relay.claim(session, message_id=m1, now=NOW)
    await relay.delivered(session, message_id=m1, target_chat_id=group, target_message_id=501, now=NOW)
    # A curator answers in the group (502), replying to the copy 501: in her chat, a reply to 11.
    m2, _ = await outbound(session, thread, group, 502, now=NOW + s(1), reply_to=501)
    task = await relay.claim(session, message_id=m2, now=NOW + s(1))
    assert task is not None and task.reply_to_target == 11
    await relay.delivered(session, message_id=m2, target_chat_id=her, target_message_id=12, now=NOW + s(1))
    # She replies to the copy 12 of the curator's answer: in the group, a reply to the original 502.
    m3, _ = await inbound(session, thread, 13, now=NOW + s(2), target=group, reply_to=12)
    # She replies to her own message 11 (relayed as 501): in the group, a reply to 501.
    m4, _ = await inbound(session, thread, 14, now=NOW + s(3), target=group, reply_to=11)
    # A curator replies to her own answer 502 (relayed as 12): in her chat, a reply to 12.
    m5, _ = await outbound(session, thread, group, 503, now=NOW + s(4), reply_to=502)
    # A reply to something the relay never saw threads nowhere.
    m6, _ = await inbound(session, thread, 15, now=NOW + s(5), target=group, reply_to=9999)
    expected = {m3: 502, m4: 501, m5: 12, m6: None}
    for row_id, target in expected.items():
        row = await message_row(session, row_id)
        assert row is not None
        assert row.reply_to_target == target, row_id


async def test_the_text_is_encrypted_at_rest(session: AsyncSession) -> None:
    _, thread = await lone(session)
    secret = "мой адрес: ул. Секретная, 7"
    row_id, _ = await inbound(session, thread, 1, target=next(_groups), text=secret)
    raw = await session.scalar(text("SELECT text FROM relay_messages WHERE id = :id"), {"id": row_id})
    await session.commit()
    assert raw is not None
    raw_text = bytes(raw).decode() if isinstance(raw, bytes | bytearray | memoryview) else str(raw)
    assert secret not in raw_text
    assert "Секретная" not in raw_text
    row = await message_row(session, row_id)
    assert row is not None and row.text == secret
    # An edit is stored encrypted too.
    await relay.update_text(session, chat_id=thread.user_id, message_id=1, text="исправлено: ул. Тайная")
    raw = await session.scalar(text("SELECT text FROM relay_messages WHERE id = :id"), {"id": row_id})
    await session.commit()
    raw_text = bytes(raw).decode() if isinstance(raw, bytes | bytearray | memoryview) else str(raw)
    assert "Тайная" not in raw_text
    row = await message_row(session, row_id)
    assert row is not None and row.text == "исправлено: ул. Тайная"


# ---------------------------------------------------------------- the outbox


async def test_a_pending_message_is_claimed_once(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    row_id, _ = await inbound(session, thread, 1, target=None)
    assert await relay.waiting_in_outbox(session, thread.id) == [row_id]
    task = await relay.claim(session, message_id=row_id, now=NOW, target_chat_id=group)
    assert task is not None
    assert (task.id, task.conversation_id, task.inbound, task.attempts) == (row_id, thread.id, True, 1)
    assert (task.source_chat_id, task.source_message_id, task.target_chat_id) == (thread.user_id, 1, group)
    assert await relay.claim(session, message_id=row_id, now=NOW + s(1)) is None
    assert await relay.claim(session, message_id=row_id, now=NOW + relay.SEND_LEASE - s(1)) is None
    assert await relay.waiting_in_outbox(session, thread.id) == []
    row = await message_row(session, row_id)
    assert row is not None and row.state == RelayState.SENDING and row.claimed_at == NOW
    assert await relay.claim(session, message_id=10**12, now=NOW) is None


async def test_concurrent_claims_one_wins(
    backend: str, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL only")
    _, thread = await lone(session)
    row_id, _ = await inbound(session, thread, 1, target=next(_groups))

    async def one() -> relay.Task | None:
        async with session_factory() as own:
            return await relay.claim(own, message_id=row_id, now=NOW)

    results = await asyncio.gather(one(), one(), one())
    assert sum(r is not None for r in results) == 1


async def test_a_message_stuck_in_sending_is_claimed_again_and_swept(session: AsyncSession) -> None:
    _, thread = await lone(session)
    row_id, _ = await inbound(session, thread, 1, target=next(_groups))
    assert await relay.claim(session, message_id=row_id, now=NOW) is not None
    assert row_id not in await relay.due(session, now=NOW + s(30), older_than=s(10), limit=10_000)
    stuck = NOW + relay.SEND_LEASE + s(1)
    assert row_id in await relay.due(session, now=stuck, older_than=s(10), limit=10_000)
    task = await relay.claim(session, message_id=row_id, now=stuck)
    assert task is not None and task.attempts == 2
    assert await relay.claim(session, message_id=row_id, now=stuck + s(1)) is None


async def test_give_back_retries_later_or_fails_for_good(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    older_than = s(30)
    retry, _ = await inbound(session, thread, 1, target=group)
    lost, _ = await inbound(session, thread, 2, target=group)
    # Fresh pending rows are the immediate sender's business, not the sweep's.
    assert retry not in await relay.due(session, now=NOW + s(1), older_than=older_than, limit=10_000)
    for row_id in (retry, lost):
        assert await relay.claim(session, message_id=row_id, now=NOW + s(1)) is not None
    await relay.give_back(session, message_id=retry, error="TelegramRetryAfter" * 10, final=False)
    await relay.give_back(session, message_id=lost, error="TelegramForbiddenError", final=True)

    row = await message_row(session, retry)
    assert row is not None and row.state == RelayState.PENDING and row.error == ("TelegramRetryAfter" * 10)[:64]
    assert retry in await relay.waiting_in_outbox(session, thread.id)
    due = await relay.due(session, now=NOW + older_than + s(1), older_than=older_than, limit=10_000)
    assert retry in due
    assert lost not in due
    assert retry not in await relay.due(session, now=NOW + older_than - s(1), older_than=older_than, limit=10_000)

    failed = await message_row(session, lost)
    assert failed is not None and failed.state == RelayState.FAILED
    assert lost not in await relay.due(session, now=NOW + timedelta(days=1), older_than=older_than, limit=10_000)
    assert await relay.claim(session, message_id=lost, now=NOW + timedelta(days=1)) is None
    # Taken again after the give-back: the attempts add up.
    task = await relay.claim(session, message_id=retry, now=NOW + older_than + s(2))
    assert task is not None and task.attempts == 2


async def test_delivered_stores_the_copy_and_maps_it(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    row_id, _ = await inbound(session, thread, 7, target=None)
    assert await relay.counterpart_of(session, chat_id=thread.user_id, message_id=7) is None  # not sent yet
    await relay.claim(session, message_id=row_id, now=NOW, target_chat_id=group)
    await relay.delivered(session, message_id=row_id, target_chat_id=group, target_message_id=777, now=NOW + s(1))
    row = await message_row(session, row_id)
    assert row is not None
    assert (row.state, row.target_chat_id, row.target_message_id) == (RelayState.DELIVERED, group, 777)
    assert row.delivered_at == NOW + s(1) and row.error is None
    assert row_id not in await relay.due(session, now=NOW + timedelta(days=1), older_than=s(1), limit=10_000)

    other = await relay.counterpart_of(session, chat_id=thread.user_id, message_id=7)
    assert other == relay.Counterpart(thread.id, True, group, 777, "text")
    assert await relay.counterpart_of(session, chat_id=thread.user_id, message_id=8) is None
    assert await relay.conversation_of_reply(session, chat_id=group, message_id=777) == thread.id
    assert await relay.conversation_of_reply(session, chat_id=group, message_id=778) is None
    assert await relay.conversation_of_reply(session, chat_id=thread.user_id, message_id=7) is None


async def test_a_header_is_a_note_that_maps_replies(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    curator = t.curator.user_id
    await relay.record_header(
        session, conversation_id=thread.id, user_id=t.woman, curator_id=curator, message_id=4242, now=NOW
    )
    assert await relay.conversation_of_reply(session, chat_id=curator, message_id=4242) == thread.id
    header = await session.scalar(
        select(RelayMessage).where(RelayMessage.target_chat_id == curator, RelayMessage.target_message_id == 4242)
    )
    await session.commit()
    assert header is not None
    assert header.state == RelayState.NOTE and header.kind == "header" and header.conversation_id == thread.id
    assert await relay.waiting_in_outbox(session, thread.id) == []
    assert header.id not in await relay.due(session, now=NOW + timedelta(days=1), older_than=s(1), limit=10_000)
    assert await relay.claim(session, message_id=header.id, now=NOW + s(1)) is None
    # Not a relayed message: there is nothing to edit in her chat.
    assert await relay.counterpart_of(session, chat_id=t.woman, message_id=0) is None
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since is None


# ---------------------------------------------------------------- the queue


async def test_those_not_working_the_queue_are_refused(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    woman = await profile_of(session, t.woman)
    assert woman.role == Role.WOMAN
    for actor in (woman, t.facilitator):
        with pytest.raises(Refused):
            await relay.assign(
                session, actor=actor, conversation_id=thread.id, curator_id=actor.user_id, now=NOW + s(1)
            )
        with pytest.raises(Refused):
            await relay.close(session, actor=actor, conversation_id=thread.id, now=NOW + s(2))
        with pytest.raises(Refused):
            await relay.reopen(session, actor=actor, conversation_id=thread.id, now=NOW + s(3))
        denied = await audit_rows(session, actor.user_id, "denied")
        assert [(e.object_id, (e.details or {}).get("attempted")) for e in denied] == [
            (str(thread.id), "assign"),
            (str(thread.id), "close"),
            (str(thread.id), "reopen"),
        ]
    row = await conversation_row(session, thread.id)
    assert row is not None
    assert (row.state, row.curator_id) == ("open", t.curator.user_id)


async def test_a_curator_assigns_closes_and_reopens(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    other = await person(session, Role.CURATOR, name="Вера")
    await relay.assign(session, actor=t.curator, conversation_id=thread.id, curator_id=other.user_id, now=NOW + s(1))
    row = await conversation_row(session, thread.id)
    assert row is not None and row.curator_id == other.user_id
    assigned = await audit_rows(session, t.curator.user_id, "conversation_assigned")
    # Whom it went to, as a pseudonym: the audit log outlives a team member's "delete my data".
    assert [(e.object_id, (e.details or {}).get("curator")) for e in assigned] == [
        (str(thread.id), pseudonym(other.user_id))
    ]
    # Not to someone outside the team.
    with pytest.raises(Refused):
        await relay.assign(session, actor=t.curator, conversation_id=thread.id, curator_id=t.woman, now=NOW + s(2))
    # Not a conversation that does not exist.
    with pytest.raises(Refused):
        await relay.close(session, actor=t.curator, conversation_id=10**9, now=NOW + s(2))

    await inbound(session, thread, 1, now=NOW + s(3), target=t.curator.user_id)
    row = await conversation_row(session, thread.id)
    assert row is not None and row.waiting_since is not None
    assert await relay.close(session, actor=other, conversation_id=thread.id, now=NOW + s(4)) == t.woman
    row = await conversation_row(session, thread.id)
    assert row is not None
    assert (row.state, row.closed_at, row.waiting_since) == ("closed", NOW + s(4), None)
    assert [e.object_id for e in await audit_rows(session, other.user_id, "conversation_closed")] == [str(thread.id)]

    await relay.rate(session, user_id=t.woman, conversation_id=thread.id, stars=2, now=NOW + s(5))
    assert await relay.reopen(session, actor=t.curator, conversation_id=thread.id, now=NOW + s(6)) == t.woman
    row = await conversation_row(session, thread.id)
    assert row is not None
    assert (row.state, row.closed_at, row.rating) == ("open", None, None)
    reopened = await audit_rows(session, t.curator.user_id, "conversation_reopened")
    assert [e.object_id for e in reopened] == [str(thread.id)]
    denied = await audit_rows(session, t.curator.user_id, "denied")
    assert [(e.object_id, (e.details or {}).get("attempted")) for e in denied] == [
        (str(thread.id), "assign"),  # to someone outside the team
        (str(10**9), "close"),  # no such conversation
    ]


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
async def test_staff_and_admins_work_the_queue_too(session: AsyncSession, role: Role) -> None:
    _, thread = await lone(session)
    actor = await person(session, role, scope=REGION_A)
    await relay.assign(session, actor=actor, conversation_id=thread.id, curator_id=actor.user_id, now=NOW)
    assert await relay.close(session, actor=actor, conversation_id=thread.id, now=NOW + s(1)) == thread.user_id


async def test_rate_only_by_her_and_only_one_to_five(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    await relay.close(session, actor=t.curator, conversation_id=thread.id, now=NOW + s(1))
    for stars in (0, 6, -1):
        with pytest.raises(Refused):
            await relay.rate(session, user_id=t.woman, conversation_id=thread.id, stars=stars, now=NOW + s(2))
    for someone in (t.curator.user_id, t.facilitator.user_id):
        with pytest.raises(Refused):
            await relay.rate(session, user_id=someone, conversation_id=thread.id, stars=5, now=NOW + s(2))
        denied = await audit_rows(session, someone, "denied")
        assert [(e.object_id, (e.details or {}).get("attempted")) for e in denied] == [(str(thread.id), "rate")]
    assert len(await audit_rows(session, t.woman, "denied")) == 3
    row = await conversation_row(session, thread.id)
    assert row is not None and row.rating is None
    for stars in (1, 5, 3):
        await relay.rate(session, user_id=t.woman, conversation_id=thread.id, stars=stars, now=NOW + s(3))
        row = await conversation_row(session, thread.id)
        assert row is not None and row.rating == stars


async def test_open_conversations_lists_the_waiting_first(session: AsyncSession) -> None:
    group = next(_groups)
    _, quiet = await lone(session)
    _, later = await lone(session)
    _, earlier = await lone(session)
    _, closed = await lone(session)
    curator = await person(session, Role.CURATOR)
    await inbound(session, later, 1, now=NOW + s(20), target=group)
    await inbound(session, earlier, 1, now=NOW + s(10), target=group)
    await inbound(session, closed, 1, now=NOW + s(5), target=group)
    await relay.close(session, actor=curator, conversation_id=closed.id, now=NOW + s(30))
    mine = {quiet.id, later.id, earlier.id, closed.id}
    listed = [w for w in await relay.open_conversations(session) if w.conversation_id in mine]
    assert [w.conversation_id for w in listed] == [earlier.id, later.id, quiet.id]
    assert [w.waiting_since for w in listed] == [NOW + s(10), NOW + s(20), None]
    assert listed[0].user_id == earlier.user_id


async def test_open_conversations_shows_the_case_code(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    listed = [w for w in await relay.open_conversations(session) if w.conversation_id == thread.id]
    assert len(listed) == 1
    assert (listed[0].case_code, listed[0].curator_id) == (t.case.code, t.curator.user_id)


# ---------------------------------------------------------------- hours


async def test_hours_of_a_region_or_the_default(session: AsyncSession) -> None:
    await ensure_regions(session)
    own, plain = "zz_relay_hours_own", "zz_relay_hours_plain"
    for code, hours in ((own, "10:00-16:30"), (plain, None)):
        if await session.get(Region, code) is None:
            session.add(Region(code=code, name={"ru": code}, timezone=ZONE_A, position=990, work_hours=hours))
    await session.commit()
    got = await relay.hours_of(session, region_code=own, default_hours=DEFAULT_HOURS, default_zone="Europe/Moscow")
    assert got == relay.Hours(time(10, 0), time(16, 30), ZONE_A)
    got = await relay.hours_of(session, region_code=plain, default_hours=DEFAULT_HOURS, default_zone="Europe/Moscow")
    assert got == relay.Hours(time(9, 0), time(18, 0), ZONE_A)
    got = await relay.hours_of(session, region_code=None, default_hours=DEFAULT_HOURS, default_zone="Europe/Moscow")
    assert got == relay.Hours(time(9, 0), time(18, 0), "Europe/Moscow")
    got = await relay.hours_of(
        session, region_code="zz_no_such_region", default_hours="08:00-17:00", default_zone="Europe/Moscow"
    )
    assert got == relay.Hours(time(8, 0), time(17, 0), "Europe/Moscow")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 11, 18, 10, 0), True),  # Wednesday
        (local(2026, 11, 18, 9, 0), True),
        (local(2026, 11, 18, 17, 59), True),
        (local(2026, 11, 18, 8, 59), False),
        (local(2026, 11, 18, 18, 0), False),
        (local(2026, 11, 21, 10, 0), False),  # Saturday
        (local(2026, 11, 4, 10, 0), False),  # Unity Day, a Wednesday
        # In UTC it is Wednesday 03:00, outside any hours: the local time is what counts.
        (datetime(2026, 11, 18, 3, 0, tzinfo=UTC), True),
        # Wednesday 23:00 UTC is Thursday 06:00 in Barnaul.
        (datetime(2026, 11, 18, 23, 0, tzinfo=UTC), False),
    ],
)
def test_in_hours(moment: datetime, expected: bool) -> None:
    assert relay.in_hours(HOURS_A, moment) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 11, 21, 11, 0), local(2026, 11, 23, 9, 0)),  # Saturday → Monday
        (local(2026, 11, 18, 20, 0), local(2026, 11, 19, 9, 0)),  # Wednesday evening → Thursday
        (local(2026, 11, 18, 18, 0), local(2026, 11, 19, 9, 0)),  # the closing minute itself
        (local(2026, 11, 18, 7, 30), local(2026, 11, 18, 9, 0)),  # before opening → the same morning
        (local(2026, 12, 31, 10, 0), local(2027, 1, 11, 9, 0)),  # the New Year holidays
        (local(2026, 11, 3, 19, 0), local(2026, 11, 5, 9, 0)),  # over Unity Day (4 November)
    ],
)
def test_next_opening(moment: datetime, expected: datetime) -> None:
    got = relay.next_opening(HOURS_A, moment)
    assert got == expected
    assert relay.in_hours(HOURS_A, got)


@pytest.mark.parametrize(
    "moment",
    [local(2026, 11, 18, 10, 0), local(2026, 11, 18, 9, 0), local(2026, 11, 18, 17, 59), local(2026, 11, 20, 12, 0)],
)
def test_next_opening_is_now_within_hours(moment: datetime) -> None:
    assert relay.next_opening(HOURS_A, moment) == moment
    assert relay.next_opening(HOURS_A, moment.astimezone(UTC)) == moment


async def test_the_out_of_hours_answer_once_per_waiting_spell(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    await inbound(session, thread, 1, now=NOW, target=group)
    assert await relay.mark_auto_reply(session, conversation_id=thread.id, now=NOW + s(1)) is True
    assert await relay.mark_auto_reply(session, conversation_id=thread.id, now=NOW + s(2)) is False
    await inbound(session, thread, 2, now=NOW + s(3), target=group)
    assert await relay.mark_auto_reply(session, conversation_id=thread.id, now=NOW + s(4)) is False
    await outbound(session, thread, group, 100, now=NOW + s(5))
    await inbound(session, thread, 3, now=NOW + s(6), target=group)  # a new spell
    assert await relay.mark_auto_reply(session, conversation_id=thread.id, now=NOW + s(7)) is True
    assert await relay.mark_auto_reply(session, conversation_id=thread.id, now=NOW + s(8)) is False
    assert await relay.mark_auto_reply(session, conversation_id=10**9, now=NOW) is False


async def test_still_waiting_since(session: AsyncSession) -> None:
    _, thread = await lone(session)
    group = next(_groups)
    assert not await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW)
    await inbound(session, thread, 1, now=NOW, target=group)
    assert await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW)
    assert await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW + s(60))
    assert not await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW - s(1))
    await outbound(session, thread, group, 100, now=NOW + s(10))
    assert not await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW + s(60))
    await inbound(session, thread, 2, now=NOW + s(20), target=group)
    assert await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW + s(60))
    # A nudge planned for her earlier spell is not due for this one.
    assert not await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW)
    curator = await person(session, Role.CURATOR)
    await relay.close(session, actor=curator, conversation_id=thread.id, now=NOW + s(30))
    assert not await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW + s(60))
    # A message that slipped in after the close makes her wait, but a closed conversation nudges no one.
    _, started = await inbound(session, thread, 3, now=NOW + s(40), target=group)
    assert started is True
    assert not await relay.still_waiting_since(session, conversation_id=thread.id, since=NOW + s(60))
    assert not await relay.still_waiting_since(session, conversation_id=10**9, since=NOW)


# ---------------------------------------------------------------- history


async def test_purge_deletes_old_history_only(session: AsyncSession) -> None:
    retention = 365
    now = NOW + timedelta(days=1, seconds=17)  # a moment of this test's own, to find its audit event
    long_ago = now - timedelta(days=retention + 30)
    recently = now - timedelta(days=retention - 30)
    curator = await person(session, Role.CURATOR)
    group = next(_groups)

    old_case = await with_case(session)
    new_case = await with_case(session)
    threads = {}
    for name, t in (("old_case", old_case), ("new_case", new_case)):
        threads[name] = await relay.open_for(session, user_id=t.woman, now=NOW)
    for name in ("old_lone", "new_lone", "open_lone"):
        threads[name] = (await lone(session))[1]
    for thread in threads.values():
        await inbound(session, thread, 1, now=NOW, target=group)
        await outbound(session, thread, group, 100, now=NOW + s(1))
    await session.execute(update(Case).where(Case.id == old_case.case.case_id).values(closed_at=long_ago))
    await session.execute(update(Case).where(Case.id == new_case.case.case_id).values(closed_at=recently))
    await session.commit()
    await relay.close(session, actor=curator, conversation_id=threads["old_lone"].id, now=long_ago)
    await relay.close(session, actor=curator, conversation_id=threads["new_lone"].id, now=recently)

    count = await relay.purge(session, now=now, retention_days=retention)
    assert count >= 4
    remaining = {name: await count_messages(session, thread.id) for name, thread in threads.items()}
    assert remaining == {"old_case": 0, "old_lone": 0, "new_case": 2, "new_lone": 2, "open_lone": 2}
    # The conversations themselves stay (she may write again).
    for thread in threads.values():
        assert await conversation_row(session, thread.id) is not None
    events = await session.scalars(select(AuditEvent).where(AuditEvent.action == "history_purged"))
    mine = [e for e in events.all() if e.at == now]
    await session.commit()
    assert len(mine) == 1
    assert mine[0].actor_id is None and (mine[0].details or {}).get("count") == count
    # Nothing left to purge: no event.
    assert await relay.purge(session, now=now + s(1), retention_days=retention) == 0
    events = await session.scalars(select(AuditEvent).where(AuditEvent.action == "history_purged"))
    assert [e for e in events.all() if e.at == now + s(1)] == []
    await session.commit()


async def test_forget_deletes_the_conversation_and_its_messages(session: AsyncSession) -> None:
    t = await with_case(session)
    thread = await relay.open_for(session, user_id=t.woman, now=NOW)
    group, topic = next(_groups), next(_topics)
    await relay.set_topic(session, conversation_id=thread.id, group_chat_id=group, topic_id=topic, now=NOW)
    await inbound(session, thread, 1, target=group)
    await outbound(session, thread, group, 100, now=NOW + s(1))
    await relay.record_header(
        session, conversation_id=thread.id, user_id=t.woman, curator_id=t.curator.user_id, message_id=5, now=NOW
    )
    assert await count_messages(session, thread.id) == 3

    gone = await relay.forget(session, user_id=t.woman, now=NOW + s(2))
    assert gone is not None
    assert (gone.id, gone.user_id, gone.group_chat_id, gone.topic_id) == (thread.id, t.woman, group, topic)
    assert gone.case_code == t.case.code
    assert await relay.by_user(session, t.woman) is None
    assert await relay.get(session, thread.id) is None
    assert await relay.by_topic(session, group, topic) is None
    assert await count_messages(session, thread.id) == 0
    assert [e.object_id for e in await audit_rows(session, t.woman, "conversation_deleted")] == [str(thread.id)]
    assert await relay.forget(session, user_id=t.woman, now=NOW + s(3)) is None
    # Writing again starts afresh.
    fresh = await relay.open_for(session, user_id=t.woman, now=NOW + s(4))
    assert fresh.topic_id is None and fresh.group_chat_id is None and not fresh.reopened
    row = await conversation_row(session, fresh.id)
    assert row is not None and row.opened_at == NOW + s(4) and row.waiting_since is None
    assert await count_messages(session, fresh.id) == 0
