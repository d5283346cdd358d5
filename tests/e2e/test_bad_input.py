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
    assert len(reply.text) < 200
    await user.expect("What would you like", predicate=lambda m: m.has_button("Urgent help"))


async def test_text_inside_a_screen_of_buttons_brings_the_screen_back(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("What is the programme")
    await user.expect("What is a restorative programme")
    await user.send("а можно с кем-то поговорить?")
    await user.expect("I understand buttons best")
    screen = await user.expect("What is a restorative programme", predicate=lambda m: m.event == "sent")
    assert screen.has_button("Next")


async def test_ten_thousand_characters(bot, fake) -> None:
    user = await at_menu(fake)
    await user.send("слово " * 1700)
    reply = await user.expect("I understand buttons best")
    assert len(reply.text) < 300
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))


async def test_unknown_command(bot, fake) -> None:
    user = await at_menu(fake)
    await user.send("/dance")
    await user.expect("I do not know this command")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))


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
