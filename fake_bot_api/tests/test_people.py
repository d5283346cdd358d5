"""The person client: blocking, presses and callback answers, media, flows with a real dispatcher."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, html
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    Message,
    ReplyKeyboardMarkup,
)

from fake_bot_api import BotMessage, FakeTelegram
from fake_bot_api.tests.helpers import TOKEN, started_user

# ------------------------------------------------------------------ person client


async def test_blocked_user_gets_403_and_my_chat_member(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    await bot.get_updates(offset=-1, timeout=0)  # forget the /start
    user.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "are you there?")
    updates = await bot.get_updates(offset=-1, timeout=0, allowed_updates=["message", "my_chat_member"])
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    with pytest.raises(AssertionError, match="has blocked the bot"):
        await user.send("hi")
    user.unblock()
    assert (await bot.send_message(user.id, "welcome back")).text == "welcome back"


async def test_callback_answers_are_validated(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    await bot.send_message(
        user.id,
        "Choose",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Help me", callback_data="h")]]),
    )
    query_id = await user.press("help")
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id and query.data == "h"
    assert isinstance(query.message, Message)
    assert query.message is not None and query.message.text == "Choose"

    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="Done", show_alert=True)
    assert (await user.expect_callback_answer()) == {
        "callback_query_id": query_id,
        "text": "Done",
        "show_alert": True,
    }
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query_id)
    forged = await user.forge_callback("admin:delete_all")
    fake.callback_answer_timeout = 0.0  # make it "older than 15 s"
    await asyncio.sleep(0.01)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(forged)


async def test_press_missing_label_fails_helpfully(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake, first_name="Anna")
    await bot.send_message(
        user.id,
        "Main menu",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="About", callback_data="about")],
                [InlineKeyboardButton(text="Channel", url="https://t.me/example")],
            ]
        ),
    )
    with pytest.raises(AssertionError) as info:
        await user.press("Crisis help")
    text = str(info.value)
    assert "no inline button matching 'Crisis help'" in text
    assert "[About]" in text and "[Channel]" in text and "Main menu" in text
    with pytest.raises(AssertionError, match="is a URL button"):
        await user.press("channel")


async def test_expect_timeout_explains_what_the_bot_did(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    await bot.send_message(user.id, "Something else entirely")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(user.id, "<b>oops", parse_mode="HTML")
    with pytest.raises(AssertionError) as info:
        await user.expect("Welcome", timeout=0)  # everything the bot did is already there
    text = str(info.value)
    assert "did not send or edit a message containing 'Welcome'" in text
    assert "Something else entirely" in text
    assert "API ERROR sendMessage -> 400" in text
    assert "nobody is long-polling getUpdates" in text


async def test_reply_keyboard_and_user_media(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    await bot.send_message(
        user.id,
        "Pick one",
        reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Yes"), KeyboardButton(text="No")]]),
    )
    msg = await user.expect("pick")
    assert msg.reply_keyboard == [["Yes", "No"]] and msg.buttons == []
    assert user.reply_keyboard == [["Yes", "No"]]
    with pytest.raises(AssertionError, match="no reply keyboard button matching 'maybe'"):
        await user.press_reply("maybe")
    await user.press_reply("no")
    await user.send_photo(caption="look")
    await user.send_voice()
    await user.send_location(55.75, 37.61)
    mid = await user.send("typo")
    await user.edit(mid, "fixed")
    updates = await bot.get_updates(timeout=0)
    kinds = [next(k for k, v in u.model_dump(exclude_none=True).items() if k != "update_id") for u in updates]
    assert kinds == ["message"] * 6 + ["edited_message"]
    assert updates[1].message is not None and updates[1].message.text == "No"
    photo_msg = updates[2].message
    assert photo_msg is not None and photo_msg.photo and photo_msg.caption == "look"
    assert updates[-1].edited_message is not None and updates[-1].edited_message.text == "fixed"
    # message ids are shared per chat between the user and the bot
    assert [u.message.message_id for u in updates[:6] if u.message] == [1, 3, 4, 5, 6, 7]


async def test_person_flow_with_real_dispatcher(fake: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="🆘 Crisis help", callback_data="crisis")],
                [InlineKeyboardButton(text="Website", url="https://example.org")],
            ]
        )
        await message.answer(
            f"Welcome, <b>{html.quote(message.from_user.first_name)}</b>!",
            parse_mode="HTML",
            reply_markup=keyboard,
        )

    @dp.callback_query(F.data == "crisis")
    async def crisis(callback: CallbackQuery) -> None:
        await callback.answer("Opening…")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Crisis line: 8-800-000-00-00")

    polling_bot = fake.make_bot()
    task = asyncio.create_task(dp.start_polling(polling_bot, handle_signals=False, polling_timeout=2))
    try:
        user = fake.user(first_name="Anna <&>", language_code="ru")
        await user.send("/start")
        msg = await user.expect("Welcome")
        assert isinstance(msg, BotMessage)
        assert msg.text == "Welcome, Anna <&>!"
        await user.press("Crisis help")
        assert (await user.expect_callback_answer())["text"] == "Opening…"
        edited = await user.expect("8-800")
        assert edited.event == "edited" and edited.message_id == msg.message_id and edited.buttons == []
        await user.expect_silence(0.3)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)


async def test_raw_multipart_with_direct_file_field(fake: FakeTelegram) -> None:
    user = await started_user(fake)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    form.add_field("caption", "Отчёт за <b>май</b>")
    form.add_field("parse_mode", "HTML")
    form.add_field("reply_markup", json.dumps({"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}))
    form.add_field("document", b"%PDF-1.4 fake", filename="may.pdf", content_type="application/pdf")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.url}/bot{TOKEN}/sendDocument", data=form) as resp:
            body = await resp.json()
    assert resp.status == 200, body
    result = body["result"]
    assert result["caption"] == "Отчёт за май"
    assert result["caption_entities"] == [{"type": "bold", "offset": 9, "length": 3}]
    assert result["document"]["file_name"] == "may.pdf" and result["document"]["mime_type"] == "application/pdf"
    assert user.last is not None and user.last.document == ("may.pdf", b"%PDF-1.4 fake")
    assert user.last.button_data == {"OK": "ok"}


async def test_misc_methods_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    anna = await started_user(fake, first_name="Анна", username="anna_k")
    bob = await started_user(fake, first_name="Bob")

    assert await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    assert [c.command for c in await bot.get_my_commands(language_code="ru")] == ["start"]
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []

    assert await bot.set_chat_menu_button(chat_id=anna.id, menu_button=MenuButtonCommands())
    chat = await bot.get_chat("@anna_k")
    assert chat.id == anna.id and chat.type == "private" and chat.first_name == "Анна"

    assert await bot.send_chat_action(anna.id, "typing")
    assert anna.events[-1].kind == "chat_action"

    copied = await bot.copy_message(bob.id, anna.id, 1)  # Anna's own "/start"
    forwarded = await bot.forward_message(bob.id, anna.id, 1)
    assert forwarded.forward_origin is not None and forwarded.forward_origin.type == "user"
    assert [m.text for m in bob.messages] == ["/start", "/start"]
    assert bob.messages[0].message_id == copied.message_id

    first = await bot.send_message(anna.id, "one")
    second = await bot.send_message(anna.id, "two")
    assert await bot.delete_messages(anna.id, [first.message_id, second.message_id, 999])
    assert anna.messages == []

    assert await bot.close() is True
    assert await bot.log_out() is True


async def test_late_answer_to_an_older_press_is_not_mistaken_for_the_latest(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    await bot.send_message(
        user.id,
        "Menu",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="A", callback_data="a")],
                [InlineKeyboardButton(text="B", callback_data="b")],
            ]
        ),
    )
    first = await user.press("A")
    second = await user.press("B")
    assert first != second and user.last_query_id == second
    assert await bot.answer_callback_query(first)  # the slow answer to the older press arrives late
    assert await bot.answer_callback_query(second, text="B chosen")
    assert (await user.expect_callback_answer())["text"] == "B chosen"
