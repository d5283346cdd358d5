"""Nothing unexpected breaks the bot: every odd input gets a short, kind, useful answer."""

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from tests.e2e.people import at_menu


@pytest.mark.parametrize(
    "action",
    [
        lambda u: u.send_sticker(),
        lambda u: u.send_photo(),
        lambda u: u.send_voice(),
        lambda u: u.send_video_note(),
        lambda u: u.send_document(),
        lambda u: u.send_location(53.35, 83.77),
        lambda u: u.send_contact("+70000000000"),
    ],
    ids=["sticker", "photo", "voice", "video_note", "document", "location", "contact"],
)
async def test_media_where_a_button_is_expected(bot, fake, action) -> None:
    user = await at_menu(fake)
    await action(user)
    reply = await user.expect("Please tap one of the buttons below")
    assert len(reply.text) < 250 and reply.has_button("💬 Write to a person")
    await user.expect_silence(0.3)  # one message per unexpected input
    await user.press("◀ Back to the screen", reply)
    await user.expect("What would you like", predicate=lambda m: m.has_button("Urgent help"))


async def test_text_inside_a_screen_of_buttons_brings_the_screen_back(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("What is the programme")
    await user.expect("What is a restorative programme")
    await user.send("а можно с кем-то поговорить?")
    reply = await user.expect("I understand buttons best")
    assert reply.has_button("💬 Write to a person") and reply.has_button("🤝 I want to take part in the programme")
    await user.expect_silence(0.3)  # one message, not two: the 1-a-second limit is not hit
    await user.press("◀ Back to the screen", reply)
    screen = await user.expect("What is a restorative programme", predicate=lambda m: m.event == "sent")
    assert screen.has_button("Next")
    await user.send("как попасть в программу?")
    reply = await user.expect("I understand buttons best")
    await user.press("💬 Write to a person", reply)
    await user.expect("Write here what is on your mind", predicate=lambda m: m.has_button("☰ Menu"))


async def test_ten_thousand_characters(bot, fake) -> None:
    user = await at_menu(fake)
    await user.send("слово " * 1700)
    reply = await user.expect("I understand buttons best")
    assert len(reply.text) < 300
    await user.press("☰ Menu", reply)
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))


async def test_unknown_command(bot, fake) -> None:
    user = await at_menu(fake)
    await user.send("/dance")
    reply = await user.expect("I do not know this command")
    await user.press("◀ Back to the screen", reply)
    await user.expect("What would you like", predicate=lambda m: m.event == "sent" and m.has_button("Help"))


async def test_staff_command_from_a_participant_is_refused_and_audited(bot, fake, session) -> None:
    user = await at_menu(fake)
    await user.send("/stats")
    await user.expect("only for the programme team")
    await user.send("/setrole 1 admin")
    await user.expect("only for the programme team")
    denied = (
        await session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.actor_id == user.id, AuditEvent.action == "denied")
        )
    ).all()
    assert sorted(denied) == ["setrole", "stats"]


async def test_button_from_an_old_message(bot, fake) -> None:
    user = await at_menu(fake)
    old_menu = user.last
    assert old_menu is not None
    await user.send("/start")  # a new menu; the old screen's dialog is gone
    await user.expect("What would you like", predicate=lambda m: m.event == "sent" and m.has_button("Help"))
    await user.forge_callback(old_menu.button_data["💬 What is the programme"], message=old_menu)
    answer = await user.expect_callback_answer()
    assert "out of date" in answer.get("text", "")
    await user.expect("What would you like", predicate=lambda m: m.event == "sent")


@pytest.mark.parametrize("data", ["hello", "x" * 64, "AAAAAA\x1d__next__", "\x1d"])
async def test_forged_callback(bot, fake, data: str) -> None:
    user = await at_menu(fake)
    await user.forge_callback(data)
    answer = await user.expect_callback_answer()
    assert "out of date" in answer.get("text", "")
    await user.expect("What would you like", predicate=lambda m: m.event == "sent")


async def test_another_persons_screen_cannot_be_driven(bot, fake) -> None:
    anna = await at_menu(fake)
    mallory = await at_menu(fake)
    assert anna.last is not None
    await mallory.forge_callback(anna.last.button_data["💬 What is the programme"])
    answer = await mallory.expect_callback_answer()
    assert "out of date" in answer.get("text", "")
    await anna.expect_silence(0.3)


async def test_group_chats_are_ignored(bot, fake) -> None:
    group_update = {
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100123, "type": "supergroup", "title": "x"},
            "from": {"id": 77, "is_bot": False, "first_name": "G"},
            "text": "hello",
        }
    }
    fake.push_update(group_update)
    user = await at_menu(fake)  # the bot is alive and did not answer the group
    assert all(c.params.get("chat_id") != -100123 for c in fake.calls_of("sendMessage"))
    assert user.last is not None


@pytest.mark.parametrize("text", ["привет\u00ad", "ок\u200d", "да\u2060\u2061"])
async def test_text_ending_in_invisible_characters_is_a_text(bot, fake, text: str) -> None:
    """aiogram_dialog would read them as the data of a reply-keyboard button (the bot makes none)."""
    user = await at_menu(fake)
    await user.send(text)
    await user.expect("I understand buttons best")


@pytest.mark.parametrize(
    "data",
    ["sv:99999999999999999999:0:1", "ci:9223372036854775808:d", "ag:²:y", "rt:١٢:5", "ci:1:zz", "rt:1:9"],
)
async def test_forged_numbers_in_buttons_are_refused_and_audited(bot, fake, session_factory, data: str) -> None:
    user = await at_menu(fake)
    await user.forge_callback(data)
    answer = await user.expect_callback_answer()
    assert "out of date" in answer.get("text", "")
    async with session_factory() as session:
        denied = await session.scalar(
            select(AuditEvent).where(AuditEvent.actor_id == user.id, AuditEvent.action == "denied")
        )
    assert denied is not None and denied.object_type == "callback"


async def test_an_edit_nobody_else_has_is_answered_and_crisis_words_come_first(bot, fake) -> None:
    user = await at_menu(fake)
    sent = await user.send("а можно с кем-то поговорить?")
    await user.expect("I understand buttons best")
    await user.edit(sent, "а можно с кем-то поговорить завтра?")
    reply = await user.expect("I only read new messages")
    await user.press("☰ Menu", reply)
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
    await user.edit(sent, "мне сейчас очень страшно, он меня бьёт")
    await user.expect("You are not alone")
    await user.expect("help", predicate=lambda m: m.has_button("◀ Back"))
