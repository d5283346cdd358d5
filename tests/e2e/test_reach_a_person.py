"""Anyone who writes reaches a person: no invitation link, no case, no region chosen (issue 13)."""

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Region, RelayMessage, User
from tests.conftest import Clock
from tests.e2e.people import at_menu, team_member

WEDNESDAY_11 = datetime(2026, 12, 2, 11, 0, tzinfo=ZoneInfo("Asia/Barnaul")).astimezone(UTC)


async def _writes(woman, text: str) -> None:
    await woman.press("💬 Write to a person")
    await woman.expect("Write to a person", predicate=lambda m: m.has_button("☰ Menu"))
    await woman.send(text)


async def test_a_woman_with_no_link_reaches_the_curators_group(start_bot, fake, session) -> None:
    group = fake.supergroup(title="Кураторы", forum=True, chat_id=-1_002_000_000_000 - next(fake._user_ids))
    fake.group_limit_per_minute = None
    await start_bot(
        clock=Clock(WEDNESDAY_11),
        curator_chat_id=group.id,
        default_locale="en",
        unchecked={"group_messages_per_minute": 1200},  # no 3 s between two copies: not what is tested
    )
    curator = await team_member(fake, session, "curator", name="Ирина")
    woman = await at_menu(fake)
    assert (await session.get(User, woman.id)).region is None  # she never chose one

    await _writes(woman, "Hello, I just got out and I do not know where to start")
    told = await woman.expect("has reached the team")
    assert "within 30 minutes" in told.text
    header = await group.expect("Altai Krai")  # the region she sees (the default one)
    topic = header.message_thread_id
    assert "#" in header.text  # no case: a short number, never a "no target"
    await group.expect("where to start", thread_id=topic)

    # Crisis words: a visible urgent mark in her topic, the curators on duty pinged, then her words.
    await woman.send("мне очень плохо, не хочу жить")
    await woman.expect("You are not alone")
    mark = await group.expect("URGENT", thread_id=topic)
    pinged = [e for e in mark.raw.get("entities", []) if e.get("type") in ("text_link", "text_mention")]
    assert pinged, mark.raw  # the curators on duty for Altai Krai (this test's among them, if few) are notified
    _ = curator
    words = await group.expect("не хочу жить", thread_id=topic)
    assert words.message_id > mark.message_id

    for _ in range(1200):  # the copy is marked delivered a moment after the group has it (60 s at most)
        session.expire_all()
        rows = (await session.scalars(select(RelayMessage).where(RelayMessage.author_id == woman.id))).all()
        await session.commit()
        if len(rows) == 2 and all(r.state == "delivered" for r in rows):
            break
        await asyncio.sleep(0.05)
    assert len(rows) == 2 and all(r.state == "delivered" for r in rows)


async def _region_of_its_own(session, fake) -> str:
    """A region only this test's team works in (the database outlives a test)."""
    code = f"t13_{next(fake._user_ids)}"
    session.add(
        Region(code=code, name={"ru": "Тестовый край", "en": "Test Krai"}, timezone="Asia/Barnaul", position=990)
    )
    await session.commit()
    return code


async def _in_region(session, person, code: str) -> None:
    session.expire_all()
    row = await session.get(User, person.id)
    row.region = code
    await session.commit()


async def test_in_private_chats_every_message_lands_under_her_own_header(start_bot, fake, session) -> None:
    await start_bot(clock=Clock(WEDNESDAY_11))
    code = await _region_of_its_own(session, fake)
    curator = await team_member(fake, session, "curator", name="Ирина", region=code)
    anna, vera = await at_menu(fake), await at_menu(fake)
    await _in_region(session, anna, code)
    await _in_region(session, vera, code)

    await _writes(anna, "Anna's first line")
    await anna.expect("has reached the team")
    anna_header = await curator.expect("Test Krai")
    assert "#" in anna_header.text and "Reply to her message" in anna_header.text
    first = await curator.expect("Anna's first line")
    await _writes(vera, "Vera's first line")
    vera_header = await curator.expect("Test Krai", predicate=lambda m: m.message_id > first.message_id)
    assert vera_header.text != anna_header.text  # another short number
    veras = await curator.expect("Vera's first line")
    await anna.send("Anna's second line")
    second = await curator.expect("Anna's second line")
    for copy, header in ((first, anna_header), (veras, vera_header), (second, anna_header)):
        assert copy.raw["reply_to_message"]["message_id"] == header.message_id  # reads as hers

    # Crisis words: an urgent mark she cannot miss, and her words under it.
    await anna.send("мне очень плохо, не хочу жить")
    mark = await curator.expect("URGENT")
    assert "Anna" not in mark.text and "#" in mark.text
    words = await curator.expect("не хочу жить")
    assert words.raw["reply_to_message"]["message_id"] == mark.message_id


async def test_with_nobody_of_her_region_the_staff_on_duty_answer(start_bot, fake, session) -> None:
    await start_bot(clock=Clock(WEDNESDAY_11))
    code = await _region_of_its_own(session, fake)
    staff = await team_member(fake, session, "staff", name="Ольга", region=code)
    woman = await at_menu(fake)
    await _in_region(session, woman, code)
    await _writes(woman, "Is anyone there?")
    await woman.expect("has reached the team")
    await staff.expect("Test Krai")
    await staff.expect("Is anyone there?")
