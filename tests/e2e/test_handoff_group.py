"""Talking to a person through the curators' supergroup: one topic per participant, everything relayed
both ways, notes, the topic commands, the group's rate limit, and what fails."""

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Conversation
from tests.conftest import Clock
from tests.e2e.people import consent_screens, register_case, team_member

WEDNESDAY_11 = datetime(2026, 12, 2, 11, 0, tzinfo=ZoneInfo("Asia/Barnaul")).astimezone(UTC)


async def _setting(start_bot, fake, session, **overrides):
    # The database outlives a test: a group id of its own, so topic ids of earlier tests do not match.
    group = fake.supergroup(title="Кураторы", forum=True, chat_id=-1_001_000_000_000 - next(fake._user_ids))
    fake.group_limit_per_minute = None
    # The group reads the bot in DEFAULT_LOCALE; English here, to read the assertions.
    await start_bot(
        clock=Clock(WEDNESDAY_11),
        curator_chat_id=group.id,
        # Telegram's 20 a minute into one group would make each copy wait 3 s; the fake's own limit is
        # off here, and test_the_groups_rate_limit_loses_nothing sets a small one the bot then runs into.
        unchecked={"group_messages_per_minute": 1200},
        default_locale="en",
        **overrides,
    )
    staff = await team_member(fake, session, "staff")
    curator = await team_member(fake, session, "curator", name="Ирина")
    code, payload = await register_case(staff, curator=curator.first_name)
    woman = fake.user(language_code="en")
    await consent_screens(woman, payload)
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    await woman.press("I agree")
    await woman.expect("Thank you. 🌱", predicate=lambda m: m.has_button("Menu"))
    await woman.send("/human")
    await woman.expect("Write to a person", predicate=lambda m: m.has_button("Menu"))
    return group, group.member(user=curator), code, woman


@pytest.mark.both_backends
async def test_one_topic_however_many_messages_arrive_at_once(start_bot, fake, session) -> None:
    group, curator, code, woman = await _setting(start_bot, fake, session)
    await asyncio.gather(*(woman.send(f"message {n}") for n in range(5)))
    card = await group.expect(f"Case {code}")
    thread_id = card.message_thread_id
    assert [t.name for t in group.topics.values()] == [f"Анна · {code}"]  # first name and case code only
    assert "Stage:" in card.text and "taking part — agreed" in card.text
    for n in range(5):
        copy = await group.expect(f"message {n}", thread_id=thread_id)
        assert copy.message_thread_id == thread_id
    rows = (await session.scalars(select(Conversation).where(Conversation.user_id == woman.id))).all()
    assert len(rows) == 1 and rows[0].topic_id == thread_id
    shown = await session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "case_card_shown", AuditEvent.object_id.is_not(None))
    )
    assert shown is not None
    _ = curator


async def test_media_replies_edits_notes_and_commands(start_bot, fake, session) -> None:
    group, curator, code, woman = await _setting(start_bot, fake, session)
    first = await woman.send("hello, it is me")
    card = await group.expect(f"Case {code}")
    thread = card.message_thread_id
    copied = await group.expect("hello, it is me", thread_id=thread)

    await woman.send_photo(caption="my documents")
    assert (await group.expect("my documents", thread_id=thread)).kind == "photo"
    for send, kind in (
        (woman.send_voice, "voice"),
        (woman.send_video_note, "video_note"),
        (woman.send_sticker, "sticker"),
    ):
        await send()
        await group.expect(predicate=lambda m, kind=kind: m.kind == kind, thread_id=thread)
    await woman.send_document(caption="the letter")
    await group.expect("the letter", thread_id=thread)
    await woman.send_location(53.35, 83.76)
    await group.expect(predicate=lambda m: m.kind == "location", thread_id=thread)

    # The curator answers in the topic, replying: the threading follows into her chat.
    answer_id = await curator.send("Got it, thank you", thread_id=thread, reply_to=copied.message_id)
    answer = await woman.expect("Got it, thank you")
    assert answer.reply_to_message_id == first
    # An edit in the topic follows too.
    await curator.edit(answer_id, "Got it, thank you — I will call at 3")
    await woman.expect("I will call at 3", predicate=lambda m: m.event == "edited")
    # Her edit reaches the topic.
    await woman.edit(first, "hello, it is me, Anna")
    await group.expect("it is me, Anna", predicate=lambda m: m.event == "edited")

    # A note stays in the team; the commands work.
    await curator.send("! talked to her mother yesterday", thread_id=thread)
    await woman.expect_silence(0.3)
    await curator.send("/assign", thread_id=thread)
    await group.expect("Assigned to", thread_id=thread)
    await curator.send("/card", thread_id=thread)
    await group.expect(f"Case {code}", thread_id=thread)
    await curator.send("/q", thread_id=thread)
    listing = await group.expect("Quick replies", thread_id=thread)
    key = listing.text.split("/q ", 2)[1].split(" ")[0]
    await curator.send(f"/q {key}", thread_id=thread)
    await group.expect("Sent", thread_id=thread)
    await woman.expect()
    await curator.send("/close", thread_id=thread)
    await group.expect("Closed", thread_id=thread)
    rating = await woman.expect("closed this conversation", predicate=lambda m: m.has_button("⭐⭐⭐⭐⭐"))
    await woman.press("⭐⭐⭐⭐⭐", rating)
    await woman.expect_callback_answer()
    await curator.send("/reopen", thread_id=thread)
    await group.expect("Open again", thread_id=thread)
    session.expire_all()
    row = await session.scalar(select(Conversation).where(Conversation.user_id == woman.id))
    assert row is not None and row.state == "open" and row.curator_id == curator.id


async def test_the_groups_rate_limit_loses_nothing(start_bot, fake, session) -> None:
    group, _curator, code, woman = await _setting(start_bot, fake, session)
    fake.group_limit_per_minute = 4
    fake.group_window_seconds = 2
    for n in range(8):
        await woman.send(f"line {n}")
    await group.expect(f"Case {code}")
    for n in range(8):
        await group.expect(f"line {n}")
    # The bot ran into the limit (its own pace is faster here) and waited it out.
    refused = [c.error for c in fake.calls if c.error is not None and str(c.params.get("chat_id")) == str(group.id)]
    assert refused and all(e.error_code == 429 for e in refused), refused


async def test_what_fails_is_said_in_the_topic(start_bot, fake, session) -> None:
    group, curator, code, woman = await _setting(start_bot, fake, session)
    await woman.send("first words")
    card = await group.expect(f"Case {code}")
    thread = card.message_thread_id
    await group.expect("first words", thread_id=thread)
    fake.fail("copyMessage", 400, "Bad Request: message can't be copied")
    await woman.send("this one will not copy")
    await group.expect("Telegram would not pass on this message", thread_id=thread)
    await woman.block()
    await curator.send("Are you all right?", thread_id=thread)
    await group.expect("She has blocked the bot", thread_id=thread)
