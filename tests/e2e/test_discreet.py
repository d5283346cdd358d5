"""Discreet mode through the fake Bot API: "🧹 Hide the chat" deletes what Telegram allows (the last
48 hours, hers and the bot's), ends the open dialog and leaves one neutral message; discreet
notifications open with neutral words; the curators' group id is said without a DEBUG log."""

from __future__ import annotations

import io
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.services import discreet, notices
from db.models import RecentMessage
from tests.conftest import ADMIN_ID, Clock
from tests.e2e.people import at_menu

PROGRAMME_WORDS = ("prison", "programme", "тюрьм", "программ")


def _live(fake, chat_id: int) -> dict[int, bool]:
    """message id -> still there, for every message of the chat (hers and the bot's)."""
    return {mid: not rec.deleted for mid, rec in fake.chats[chat_id].messages.items()}


async def test_hide_from_the_menu_deletes_the_last_48_hours(bot, fake) -> None:
    woman = await at_menu(fake)
    old = set(fake.chats[woman.id].messages)
    fake.age_messages(woman.id, 49 * 3600)  # these are past Telegram's 48 hours
    await woman.send("/privacy")
    privacy = await woman.expect("What we keep", predicate=lambda m: m.has_button("Delete my data"))
    assert "Hide the chat" in privacy.text  # the one line about it
    await woman.send("/menu")
    await woman.expect("What would you like", predicate=lambda m: m.has_button("🧹 Hide the chat"))
    await woman.press("🧹 Hide the chat")
    neutral = await woman.expect("Send /start to begin")
    await woman.expect_deleted(privacy)

    live = _live(fake, woman.id)
    assert [mid for mid in old if not live[mid]] == []  # too old: Telegram refuses, the bot goes on
    recent = [mid for mid in live if mid not in old and mid != neutral.message_id]
    assert recent and [mid for mid in recent if live[mid]] == []  # hers and the bot's, all gone
    assert not any(word in neutral.text.lower() for word in PROGRAMME_WORDS)
    assert fake.calls_of("deleteMessages")


async def test_hide_command_ends_the_open_dialog(bot, fake) -> None:
    woman = await at_menu(fake)
    await woman.send("/settings")
    await woman.expect("Settings", predicate=lambda m: m.has_button("🌐 Language"))
    await woman.press("🌐 Language")
    language = await woman.expect("Which language", predicate=lambda m: m.has_button("English"))
    await woman.send("/hide")
    await woman.expect("Send /start to begin")
    await woman.expect_deleted(language)
    assert woman.last is not None
    assert [m.text for m in woman.messages] == [woman.last.text]  # one neutral message, nothing else
    await woman.send("/start")  # and the bot is as before
    await woman.expect("What would you like", predicate=lambda m: m.has_button("Help"))


async def _tell(app: Any, user_id: int, text: str) -> None:
    """A message the bot sends on its own: a notice row, as the digests queue theirs."""
    async with app.context.db() as session:
        await notices.queue_worded(session, recipient_id=user_id, text=text, now=app.context.now())
        await session.commit()


async def test_discreet_notifications_open_with_neutral_words(start_bot, fake) -> None:
    clock = Clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    woman = await at_menu(fake)
    await woman.send("/settings")
    await woman.expect("Settings", predicate=lambda m: m.has_button("🕶 Discreet notifications: off"))
    await woman.press("🕶 Discreet notifications: off")
    await woman.expect("neutral words", predicate=lambda m: m.has_button("🕶 Discreet notifications: on ✓"))

    await _tell(app, woman.id, "Your programme meeting is tomorrow")
    await app.run_reminders()
    told = await woman.expect("Your programme meeting is tomorrow")
    first_line = told.text.split("\n")[0]
    assert first_line == "🔔 A new message"
    spoilers = [e for e in told.raw.get("entities", []) if e["type"] == "spoiler"]
    units = told.text.encode("utf-16-le")  # entity offsets count UTF-16 code units
    hidden = "".join(units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le") for e in spoilers)
    assert "Your programme meeting is tomorrow" in hidden

    await woman.send("/settings")
    fresh = await woman.expect(
        "Settings", predicate=lambda m: m.has_button("🕶 Discreet notifications: on ✓") and m.event == "sent"
    )
    await woman.press("🕶 Discreet notifications: on ✓", fresh)
    await woman.expect("Settings", predicate=lambda m: m.has_button("🕶 Discreet notifications: off"))
    await _tell(app, woman.id, "Plain again")
    await app.run_reminders()
    plain = await woman.expect("Plain again")
    assert plain.text == "Plain again"


async def test_the_trail_keeps_48_hours(session) -> None:
    chat, now = 1_159_999_001, Clock().now
    await discreet.note(session, [(chat, 1, now - timedelta(hours=49)), (chat, 2, now - timedelta(hours=1))])
    await discreet.note(session, [(chat, 2, now - timedelta(hours=1))])  # twice: one row
    assert await discreet.recent(session, chat_id=chat, now=now) == [2]
    assert await discreet.prune(session, now=now) >= 1
    left = (await session.scalars(select(RecentMessage.message_id).where(RecentMessage.chat_id == chat))).all()
    assert left == [2]
    await discreet.clear(session, chat_id=chat)
    await session.commit()


async def test_the_bot_says_the_group_id(bot, fake) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root, level = logging.getLogger(), logging.getLogger().level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        admin = await at_menu(fake, user_id=ADMIN_ID)
        group = fake.supergroup("Кураторы", chat_id=-1_001_150_000_001)
        fake.push_update(
            {
                "my_chat_member": {
                    "chat": group.chat.chat_object(),
                    "from": admin.user_object,
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": fake.bot_user},
                    "new_chat_member": {"status": "member", "user": fake.bot_user},
                }
            }
        )
        told = await admin.expect("added to a group")
        assert str(group.id) in told.text and "CURATOR_CHAT_ID" in told.text
        member = group.member(user=admin)
        await member.send("/chatid")
        said = await group.expect("This chat's id")
        assert str(group.id) in said.text
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert f"added to group {group.id}" in stream.getvalue()
