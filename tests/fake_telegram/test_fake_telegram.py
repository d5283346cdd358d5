"""Proves the fake Bot API server is indistinguishable enough for a real aiogram Bot."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, html
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ChatMemberAdministrator,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    MessageOriginUser,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from . import BotMessage, FakeTelegram, FakeUser, TelegramError

TOKEN = "123456:TEST-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="vmeste_test_bot") as server:
        yield server
        server.assert_no_internal_errors()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    the_bot = Bot(token=TOKEN, session=session)
    yield the_bot
    await session.close()


async def started_user(fake: FakeTelegram, **kwargs) -> FakeUser:
    """A person who already wrote /start (so the bot may message them)."""
    user = fake.user(**kwargs)
    await user.send("/start")
    return user


async def start_receiver(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook"


# --------------------------------------------------------------------------- basics


async def test_get_me_through_real_bot(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot is True
    assert me.username == "vmeste_test_bot"
    assert fake.calls_of("getMe")[0].ok


async def test_raw_http_shapes_auth_and_unknown_method(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.url}/bot{TOKEN}/GETME") as resp:  # case-insensitive name
            assert resp.status == 200
            body = await resp.json()
            assert body["ok"] is True and body["result"]["username"] == "vmeste_test_bot"
        async with http.post(f"{fake.url}/bot999:wrong/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{fake.url}/bot{TOKEN}/sendTelepathy") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

    wrong = Bot(token="999:wrong", session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()


async def test_raw_json_and_urlencoded_bodies(fake: FakeTelegram) -> None:
    user = await started_user(fake, first_name="Olga")
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{fake.url}/bot{TOKEN}/sendMessage",
            json={
                "chat_id": user.id,
                "text": "<i>json</i> body",
                "parse_mode": "HTML",
                "reply_markup": markup,
            },
        ) as resp:
            body = await resp.json()
            assert resp.status == 200 and body["ok"] is True
            assert body["result"]["text"] == "json body"
            assert body["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 4}]
            assert body["result"]["reply_markup"] == markup
        async with http.post(
            f"{fake.url}/bot{TOKEN}/sendMessage",
            data={"chat_id": str(user.id), "text": "form body", "reply_markup": json.dumps(markup)},
        ) as resp:
            body = await resp.json()
            assert body["result"]["reply_markup"] == markup
        async with http.post(
            f"{fake.url}/bot{TOKEN}/sendMessage", data={"chat_id": str(user.id), "text": "   "}
        ) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message text is empty",
            }
    assert [m.text for m in user.messages] == ["json body", "form body"]
    assert user.messages[0].button_data == {"Yes": "yes"}


# ----------------------------------------------------------------------- messages


async def test_send_message_with_html_and_inline_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake, first_name="Anna", language_code="ru")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="🆘 Crisis help", callback_data="crisis")],
            [InlineKeyboardButton(text="Website", url="https://example.org/help")],
        ]
    )
    sent = await bot.send_message(
        user.id,
        "Welcome, <b>Anna</b> &amp; family! <tg-spoiler>secret</tg-spoiler>",
        parse_mode="HTML",
        reply_markup=keyboard,
    )
    assert sent.chat.id == user.id and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.is_bot and sent.from_user.username == "vmeste_test_bot"
    assert sent.text == "Welcome, Anna & family! secret"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 9, 4), ("spoiler", 24, 6)]
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump(exclude_none=True) == keyboard.model_dump(exclude_none=True)
    # the user's /start was message 1, so the shared per-chat counter gives the bot message 2
    assert sent.message_id == 2

    msg = await user.expect("welcome")
    assert msg.text == "Welcome, Anna & family! secret"
    assert msg.raw_text is not None and msg.raw_text.startswith("Welcome, <b>Anna</b>")
    assert msg.parse_mode == "HTML"
    assert msg.buttons == [["🆘 Crisis help"], ["Website"]]
    assert msg.button_data == {"🆘 Crisis help": "crisis"}
    assert msg.url_buttons == {"Website": "https://example.org/help"}
    assert msg.has_button("crisis") and not msg.has_button("donate")


async def test_bad_html_and_unknown_chat_are_rejected(fake: FakeTelegram, bot: Bot) -> None:
    stranger = fake.user(first_name="Never", language_code="en")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(stranger.id, "hi")

    user = await started_user(fake)
    with pytest.raises(TelegramBadRequest, match='can\'t parse entities: Unsupported start tag "br"'):
        await bot.send_message(user.id, "line<br>line", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Can\'t find end tag corresponding to start tag "b"'):
        await bot.send_message(user.id, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(user.id, "Tom & Jerry", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Character '!' is reserved"):
        await bot.send_message(user.id, "Hello!", parse_mode="MarkdownV2")
    assert user.messages == []
    errors = [c.error.description for c in fake.calls_of("sendMessage") if c.error]
    assert len(errors) == 5


async def test_text_length_limits_in_utf16(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "a" * 4097)
    ok = await bot.send_message(user.id, "a" * 4096)
    assert len(ok.text or "") == 4096
    # markup does not count ...
    tagged = await bot.send_message(user.id, "<b>" + "b" * 4096 + "</b>", parse_mode="HTML")
    assert tagged.text == "b" * 4096
    # ... but UTF-16 code units do: each emoji is two units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "😀" * 2049)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(user.id, BufferedInputFile(b"\xff\xd8jpeg", "p.jpg"), caption="c" * 1025)


async def test_callback_data_limit_and_button_validation(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)

    def kb(**button) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", **button)]])

    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "t", reply_markup=kb(callback_data="я" * 32 + "z"))  # 65 bytes
    ok = await bot.send_message(user.id, "t", reply_markup=kb(callback_data="я" * 32))  # 64 bytes
    assert ok.reply_markup is not None
    with pytest.raises(TelegramBadRequest, match="BUTTON_URL_INVALID"):
        await bot.send_message(user.id, "t", reply_markup=kb(url="javascript:alert(1)"))
    with pytest.raises(TelegramBadRequest, match="can't parse inline keyboard button"):
        await bot.send_message(user.id, "t", reply_markup=kb(callback_data="a", url="https://x.org"))
    assert len(user.messages) == 1


async def test_edit_message_text_not_modified_and_edit_events(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    sent = await bot.send_message(user.id, "Step 1")
    assert (await user.expect("Step 1")).event == "sent"

    with pytest.raises(TelegramBadRequest, match="message is not modified") as info:
        await bot.edit_message_text(text="Step 1", chat_id=user.id, message_id=sent.message_id)
    assert "exactly the same as a current content" in info.value.message

    edited = await bot.edit_message_text(text="Step 2", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    seen = await user.expect("Step 2")
    assert seen.event == "edited" and seen.edited == 1 and seen.message_id == sent.message_id

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=user.id, message_id=999)
    photo = await bot.send_photo(user.id, BufferedInputFile(b"\xff\xd8jpeg", "p.jpg"), caption="pic")
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text(text="x", chat_id=user.id, message_id=photo.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id)


async def test_delete_message_twice(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    sent = await bot.send_message(user.id, "temporary")
    assert await bot.delete_message(user.id, sent.message_id) is True
    gone = await user.expect_deleted(sent.message_id)
    assert gone.deleted and gone.text == "temporary"
    assert user.messages == [] and user.last is None
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


async def test_send_document_multipart_upload_is_stored(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    payload = "name;phone\nАнна;+7900\n".encode()
    sent = await bot.send_document(
        user.id, BufferedInputFile(payload, filename="report.csv"), caption="<b>Report</b>", parse_mode="HTML"
    )
    assert sent.document is not None and sent.document.file_name == "report.csv"
    assert sent.document.file_size == len(payload)
    assert sent.caption == "Report"

    msg = await user.expect("report")
    assert msg.kind == "document"
    assert msg.document == ("report.csv", payload)
    call = fake.calls_of("sendDocument")[0]
    assert "UploadedFile('report.csv'" in str(call.params["document"])

    # the file can be fetched back like from api.telegram.org (getFile + /file/bot<token>/<path>)
    tg_file = await bot.get_file(sent.document.file_id)
    assert tg_file.file_path
    downloaded = await bot.download_file(tg_file.file_path)
    assert downloaded is not None and downloaded.read() == payload

    # re-sending by file_id works without an upload
    again = await bot.send_document(user.id, sent.document.file_id)
    assert again.document is not None and again.document.file_unique_id == sent.document.file_unique_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(user.id, "no-such-file-id")


# ----------------------------------------------------------------------- updates


async def test_long_polling_returns_promptly_and_confirms_by_offset(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(first_name="Anna")
    poll = asyncio.create_task(bot.get_updates(timeout=10, request_timeout=20))
    await asyncio.sleep(0.3)
    assert not poll.done(), "getUpdates should hang while there is nothing to deliver"
    assert fake.polling

    started = time.monotonic()
    await user.send("/start hello")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 1.5
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start hello"
    assert message.from_user is not None and message.from_user.id == user.id >= 10_000_000
    assert message.entities is not None and message.entities[0].type == "bot_command"
    assert (message.entities[0].offset, message.entities[0].length) == (0, 6)

    # not confirmed yet -> delivered again; confirmed by offset -> gone
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []


async def test_second_poller_terminates_the_first(fake: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5, request_timeout=10))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=1, request_timeout=10))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 3)
    assert await asyncio.wait_for(second, 3) == []


async def test_webhook_delivers_with_secret_header_and_retries(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[dict, str | None]] = []
    statuses = [500, 200]  # first delivery fails, the retry succeeds

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    runner, url = await start_receiver(hook)
    try:
        assert await bot.set_webhook(url, secret_token="s3cret_token", drop_pending_updates=True)
        with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates(timeout=0)

        user = fake.user(first_name="Ira")
        await user.send("ping")
        for _ in range(100):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(received) == 2, received
        (first, secret1), (second, secret2) = received
        assert secret1 == secret2 == "s3cret_token"
        assert first == second and first["message"]["text"] == "ping"
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert info.last_error_message and "500" in info.last_error_message

        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


async def test_webhook_reply_with_method_in_response_body(fake: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")

    webhook_bot = fake.make_bot()
    app = web.Application()
    SimpleRequestHandler(dp, webhook_bot, handle_in_background=False, secret_token="abc").register(app, "/hook")
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await webhook_bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", secret_token="abc")
        user = fake.user(first_name="Vera")
        await user.send("hello")
        reply = await user.expect("echo: hello", timeout=5)
        assert reply.text == "echo: hello"
    finally:
        await webhook_bot.delete_webhook()
        await runner.cleanup()
        await webhook_bot.session.close()


# ------------------------------------------------------------------ fault injection


async def test_injected_429_and_5xx(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    fake.fail("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(user.id, "hi")
    assert info.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in info.value.message

    fake.fail("sendMessage", error_code=502, description="Bad Gateway", chat_id=user.id)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(user.id, "hi")
    assert (await bot.send_message(user.id, "finally")).text == "finally"
    assert [c.error.error_code if c.error else 200 for c in fake.calls_of("sendMessage")] == [429, 502, 200]

    async with aiohttp.ClientSession() as http:
        fake.fail(None, error_code=429, retry_after=3)
        async with http.post(f"{fake.url}/bot{TOKEN}/getMe") as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            }


async def test_delay_makes_client_time_out(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    fake.delay("sendMessage", 5)
    started = time.monotonic()
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(user.id, "slow", request_timeout=1)
    assert time.monotonic() - started < 3
    assert (await bot.send_message(user.id, "fast")).text == "fast"


async def test_rate_limit_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    user = await started_user(fake)
    fake.rate_limit(per_chat_per_second=2, global_per_second=30)
    await bot.send_message(user.id, "1")
    await bot.send_message(user.id, "2")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(user.id, "3")
    assert info.value.retry_after == 1
    assert [m.text for m in user.messages] == ["1", "2"]


async def test_handler_crash_becomes_telegram_shaped_500(fake: FakeTelegram, bot: Bot) -> None:
    def broken(params: dict) -> None:
        raise ZeroDivisionError("boom")

    fake.register_method("getMe", broken)
    with pytest.raises(TelegramServerError, match="ZeroDivisionError"):
        await bot.get_me()
    assert len(fake.internal_errors) == 1 and "boom" in fake.internal_errors[0]
    fake.internal_errors.clear()  # the fixture asserts there were none


async def test_custom_method_can_be_added(fake: FakeTelegram, bot: Bot) -> None:
    def send_dice(params: dict) -> dict:
        raise TelegramError(400, "Bad Request: dice are disabled in tests")

    with pytest.raises(TelegramNotFound):
        await bot.send_dice(1)
    fake.register_method("sendDice", send_dice)
    with pytest.raises(TelegramBadRequest, match="dice are disabled"):
        await bot.send_dice(1)


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
        await user.expect("Welcome", timeout=0.3)
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
    from aiogram.types import BotCommand, MenuButtonCommands

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
    assert (await user.expect_callback_answer(timeout=1))["text"] == "B chosen"


# ------------------------------------------------------------------ supergroup with forum topics


async def test_forum_topic_lifecycle_and_bot_rights(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы", forum=True)
    assert group.id < 0 and str(group.id).startswith("-100")
    member = await bot.get_chat_member(group.id, fake.bot_id)
    assert isinstance(member, ChatMemberAdministrator)
    assert member.status == "administrator" and member.can_manage_topics is True
    chat = await bot.get_chat(group.id)
    assert chat.type == "supergroup" and chat.is_forum is True and chat.title == "Кураторы"

    topic = await bot.create_forum_topic(group.id, "Анна · 10000001", icon_color=16766590)
    assert topic.name == "Анна · 10000001" and topic.icon_color == 16766590
    tid = topic.message_thread_id
    assert group.topics[tid].name == "Анна · 10000001" and group.topics[tid].closed is False
    assert group.topic("Анна").message_thread_id == tid
    # The creation service message is in the group's history, but the bot gets no update about
    # its own action; expect() ignores service messages.
    (root,) = group.records(tid)
    assert root.kind == "forum_topic_created" and root.message_id == tid
    assert root.data["forum_topic_created"] == {"name": "Анна · 10000001", "icon_color": 16766590}
    assert fake.pending_updates == []
    assert [m.kind for m in group.messages(tid, everyone=True)] == ["forum_topic_created"]
    assert group.messages(tid) == []
    await group.expect_silence(0.05)

    other = await bot.create_forum_topic(group.id, "Борис")
    assert other.icon_color in (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_TOO_LONG"):
        await bot.create_forum_topic(group.id, "x" * 129)
    user = await started_user(fake)
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(user.id, "nope")
    plain = fake.supergroup(title="Plain", forum=False)
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain.id, "nope")

    assert await bot.edit_forum_topic(group.id, tid, name="Анна (закрыто)") is True
    assert group.topics[tid].name == "Анна (закрыто)"
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(group.id, tid, name="Анна (закрыто)")
    assert await bot.close_forum_topic(group.id, tid) is True
    assert group.topics[tid].closed is True
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(group.id, tid)
    # the bot is an admin: it may still post in a closed topic
    await bot.send_message(group.id, "closed but writable", message_thread_id=tid)
    assert await bot.reopen_forum_topic(group.id, tid) is True
    assert group.topics[tid].closed is False
    kinds = [r.kind for r in group.records(tid)]
    assert kinds == ["forum_topic_created", "forum_topic_edited", "forum_topic_closed", "text", "forum_topic_reopened"]

    assert await bot.delete_forum_topic(group.id, tid) is True
    assert tid not in group.topics and group.records(tid) == []
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "gone", message_thread_id=tid)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.close_forum_topic(group.id, tid)


async def test_bot_sends_into_topics_with_thread_and_reply_fields(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы")
    t1 = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id
    t2 = (await bot.create_forum_topic(group.id, "Борис")).message_thread_id

    sent = await bot.send_message(group.id, "<b>Новое</b> сообщение", parse_mode="HTML", message_thread_id=t1)
    assert sent.chat.type == "supergroup" and sent.chat.is_forum is True
    assert sent.message_thread_id == t1 and sent.is_topic_message is True
    assert sent.reply_to_message is not None and sent.reply_to_message.message_id == t1
    assert sent.reply_to_message.forum_topic_created is not None
    assert sent.reply_to_message.forum_topic_created.name == "Анна"
    msg = await group.expect("новое", thread_id=t1)
    assert msg.message_thread_id == t1 and msg.is_topic_message and msg.reply_to_message_id == t1
    assert msg.entities == [{"type": "bold", "offset": 0, "length": 5}]

    # an explicit reply is kept; without message_thread_id a reply lands in the target's topic
    reply = await bot.send_message(group.id, "ответ", reply_to_message_id=sent.message_id)
    assert reply.reply_to_message is not None
    assert reply.message_thread_id == t1 and reply.reply_to_message.message_id == sent.message_id
    got = await group.expect("ответ")
    assert got.reply_to_message_id == sent.message_id and got.message_thread_id == t1

    photo = await bot.send_photo(
        group.id, BufferedInputFile(b"\xff\xd8jpeg", "p.jpg"), caption="фото", message_thread_id=t2
    )
    assert photo.message_thread_id == t2
    loc = await bot.send_location(group.id, 55.75, 37.61, message_thread_id=t2)
    assert loc.location is not None and loc.message_thread_id == t2
    general = await bot.send_message(group.id, "в General")
    assert general.message_thread_id is None and general.is_topic_message is None
    assert [m.text for m in group.messages(t2)] == ["фото", ""]
    assert [m.kind for m in group.messages()] == ["text", "text", "photo", "location", "text"]

    edited = await bot.edit_message_text(
        "<b>Новое</b> (изм.)", chat_id=group.id, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.message_thread_id == t1
    got = await group.expect("(изм.)", thread_id=t1)
    assert got.event == "edited"
    await bot.edit_message_caption(chat_id=group.id, message_id=photo.message_id, caption="фото 2")
    assert (await group.expect("фото 2", thread_id=t2)).event == "edited"
    assert await bot.delete_message(group.id, loc.message_id) is True
    assert (await group.expect_deleted(loc.message_id)).kind == "location"

    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "x", message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "x", message_thread_id=1)  # General has no thread id
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_sticker(group.id, BufferedInputFile(b"RIFFwebp", "s.webp"), message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_chat_action(group.id, "typing", message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(group.id, "x", message_thread_id=t1, reply_parameters=ReplyParameters(message_id=9999))
    ok = await bot.send_message(
        group.id,
        "без ответа",
        message_thread_id=t1,
        reply_parameters=ReplyParameters(message_id=9999, allow_sending_without_reply=True),
    )
    assert ok.reply_to_message is not None
    assert ok.message_thread_id == t1 and ok.reply_to_message.message_id == t1
    await group.expect("без ответа", thread_id=t1)
    await group.expect_silence(0.1, thread_id=t2)


async def test_group_members_post_real_updates(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы")
    tid = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id
    bot_msg = await bot.send_message(group.id, "Анна: привет", message_thread_id=tid)
    user = await started_user(fake, first_name="Ольга")
    curator = group.member(user=user, admin=True)
    assert curator.id == user.id and curator.is_admin
    stranger = group.member(first_name="Пётр")
    assert stranger.id not in fake.users
    pending = await bot.get_updates(timeout=0)  # confirm (forget) the /start
    await bot.get_updates(offset=pending[-1].update_id + 1, timeout=0)

    m1 = await curator.send(
        "Здравствуйте, /help", thread_id=tid, entities=[{"type": "bold", "offset": 0, "length": 12}]
    )
    m2 = await curator.send("ответ на бота", reply_to=bot_msg.message_id)
    m3 = await stranger.send_photo("фото", thread_id=tid)
    m4 = await stranger.send_sticker(thread_id=tid)
    m5 = await stranger.send("в General")
    await curator.edit(m1, "Здравствуйте (исправлено)")
    updates = await bot.get_updates(timeout=0)
    msgs = [u.message for u in updates if u.message]
    assert [m.message_id for m in msgs] == [m1, m2, m3, m4, m5]
    first = msgs[0]
    assert first.chat.id == group.id and first.chat.type == "supergroup" and first.chat.is_forum is True
    assert first.from_user is not None and first.reply_to_message is not None and first.entities is not None
    assert first.from_user.id == user.id and first.from_user.first_name == "Ольга"
    assert first.message_thread_id == tid and first.is_topic_message is True
    assert first.reply_to_message.message_id == tid and first.reply_to_message.forum_topic_created is not None
    assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 12), ("bot_command", 14, 5)]
    assert msgs[1].reply_to_message is not None and msgs[1].reply_to_message.from_user is not None
    assert msgs[1].message_thread_id == tid and msgs[1].reply_to_message.message_id == bot_msg.message_id
    assert msgs[1].reply_to_message.from_user.is_bot is True
    assert msgs[2].photo and msgs[2].caption == "фото" and msgs[2].message_thread_id == tid
    assert msgs[3].sticker is not None and msgs[3].is_topic_message is True
    assert msgs[4].message_thread_id is None and msgs[4].is_topic_message is None
    assert msgs[4].reply_to_message is None
    (edit,) = [u.edited_message for u in updates if u.edited_message]
    assert edit.message_id == m1 and edit.text == "Здравствуйте (исправлено)" and edit.edit_date
    assert edit.message_thread_id == tid

    # the same person is still a private-chat user of the bot
    await user.send("лично")
    priv = (await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0))[-1].message
    assert priv is not None and priv.from_user is not None
    assert priv.chat.type == "private" and priv.from_user.id == curator.id

    with pytest.raises(AssertionError, match="no topic 999"):
        await curator.send("x", thread_id=999)
    await bot.close_forum_topic(group.id, tid)
    with pytest.raises(AssertionError, match="closed"):
        await stranger.send("x", thread_id=tid)
    await curator.send("админ может", thread_id=tid)
    member_info = await bot.get_chat_member(group.id, stranger.id)
    assert member_info.status == "member"


async def test_copy_message_between_private_chat_and_topic_for_each_kind(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы")
    user = await started_user(fake, first_name="Анна")
    tid = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id
    curator = group.member(first_name="Ольга")

    # participant -> topic
    sources = {
        "text": await user.send("see https://example.org please"),
        "photo": await user.send_photo("моё фото"),
        "voice": await user.send_voice(),
        "document": await user.send_document("справка", filename="a.pdf"),
        "video_note": await user.send_video_note(),
        "sticker": await user.send_sticker(),
        "location": await user.send_location(55.75, 37.61),
    }
    for kind, mid in sources.items():
        copied = await bot.copy_message(group.id, user.id, mid, message_thread_id=tid)
        assert copied.message_id > tid
        got = await group.expect(thread_id=tid)
        assert got.kind == kind and got.message_id == copied.message_id
        assert got.message_thread_id == tid and got.reply_to_message_id == tid
        src = user.chat.messages[mid].data
        for key in ("text", "entities", "caption", kind):
            if key in src:
                assert got.raw[key] == src[key], (kind, key)
        assert got.raw["from"]["id"] == fake.bot_id and "forward_origin" not in got.raw

    # curator in the topic -> participant
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    replies = {
        "text": await curator.send("Привет, держитесь", thread_id=tid, entities=bold),
        "photo": await curator.send_photo("схема", thread_id=tid),
        "voice": await curator.send_voice(thread_id=tid),
        "document": await curator.send_document("памятка", thread_id=tid, filename="memo.pdf"),
        "video_note": await curator.send_video_note(thread_id=tid),
        "sticker": await curator.send_sticker(thread_id=tid),
        "location": await curator.send_location(59.93, 30.31, thread_id=tid),
    }
    for kind, mid in replies.items():
        copied = await bot.copy_message(user.id, group.id, mid)
        got = await user.expect()
        assert got.kind == kind and got.message_id == copied.message_id, kind
        assert got.message_thread_id is None and "is_topic_message" not in got.raw
        assert got.raw["chat"]["type"] == "private"
    text_copy = user.chat.messages[max(user.chat.messages) - 6]
    assert text_copy.data["text"] == "Привет, держитесь" and text_copy.data["entities"] == bold

    # caption override on copy; forwarding keeps the origin
    await bot.copy_message(user.id, group.id, replies["photo"], caption="<i>новая</i>", parse_mode="HTML")
    got = await user.expect("новая")
    assert got.kind == "photo" and got.entities == [{"type": "italic", "offset": 0, "length": 5}]
    fwd = await bot.forward_message(group.id, user.id, sources["text"], message_thread_id=tid)
    assert isinstance(fwd.forward_origin, MessageOriginUser)
    assert fwd.message_thread_id == tid and fwd.forward_origin.sender_user.id == user.id

    # service messages can't be copied or forwarded; missing ones are not found
    with pytest.raises(TelegramBadRequest, match="message can't be copied"):
        await bot.copy_message(user.id, group.id, tid)
    with pytest.raises(TelegramBadRequest, match="message can't be forwarded"):
        await bot.forward_message(user.id, group.id, tid)
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(user.id, group.id, 99_999)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.copy_message(group.id, user.id, sources["text"], message_thread_id=777)


async def test_group_rate_limit_20_per_minute_sliding_window(fake: FakeTelegram, bot: Bot) -> None:
    assert fake.group_limit_per_minute == 20 and fake.group_window_seconds == 60
    group = fake.supergroup(title="Кураторы")
    user = await started_user(fake)
    tid = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id  # not a "message"
    for i in range(20):
        await bot.send_message(group.id, f"m{i}", message_thread_id=tid)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.copy_message(group.id, user.id, 1, message_thread_id=tid)
    assert 1 <= info.value.retry_after <= 60
    assert f"Too Many Requests: retry after {info.value.retry_after}" in info.value.message
    await bot.send_message(user.id, "private chats are not affected")
    await bot.edit_message_text("edits are not sends", chat_id=group.id, message_id=tid + 1)

    fast = fake.supergroup(title="Быстрая")
    fake.group_limit_per_minute = 3
    fake.group_window_seconds = 1.5
    started = time.monotonic()
    for i in range(3):
        await bot.send_message(fast.id, f"f{i}")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.url}/bot{TOKEN}/sendMessage", json={"chat_id": fast.id, "text": "4"}) as resp:
            assert resp.status == 429
            body = await resp.json()
            retry_after = body["parameters"]["retry_after"]
            assert body["error_code"] == 429 and retry_after in (1, 2)
            assert body["description"] == f"Too Many Requests: retry after {retry_after}"
    with pytest.raises(TelegramRetryAfter):
        await bot.send_photo(fast.id, BufferedInputFile(b"jpg", "p.jpg"))
    await asyncio.sleep(max(0.0, 1.55 - (time.monotonic() - started)))
    assert (await bot.send_message(fast.id, "after the window")).text == "after the window"
    assert [m.text for m in fast.messages()] == ["f0", "f1", "f2", "after the window"]

    fake.group_limit_per_minute = None
    for i in range(10):
        await bot.send_message(fast.id, f"unlimited {i}")


async def test_relay_flow_with_real_dispatcher(fake: FakeTelegram) -> None:
    group = fake.supergroup(title="Кураторы", forum=True)
    topics: dict[int, int] = {}  # user id -> thread id
    owners: dict[int, int] = {}  # thread id -> user id
    dp = Dispatcher()

    @dp.message(F.chat.type == "private")
    async def from_participant(message: Message, bot: Bot) -> None:
        assert message.from_user is not None
        uid = message.from_user.id
        if uid not in topics:
            topic = await bot.create_forum_topic(group.id, f"{message.from_user.first_name} · {uid}")
            topics[uid], owners[topic.message_thread_id] = topic.message_thread_id, uid
        await message.copy_to(group.id, message_thread_id=topics[uid])

    @dp.message(F.chat.id == group.id, F.is_topic_message)
    async def from_curator(message: Message, bot: Bot) -> None:
        uid = owners.get(message.message_thread_id or 0)
        if uid is not None:
            await message.copy_to(uid)

    polling_bot = fake.make_bot()
    task = asyncio.create_task(dp.start_polling(polling_bot, handle_signals=False, polling_timeout=2))
    try:
        anna = fake.user(first_name="Анна")
        await anna.send("Мне тяжело")
        relayed = await group.expect("Мне тяжело")
        tid = relayed.message_thread_id
        assert tid is not None and group.topics[tid].name.startswith("Анна")
        await anna.send_voice()
        assert (await group.expect(thread_id=tid)).kind == "voice"

        curator = group.member(first_name="Ольга", admin=True)
        await curator.send("Мы рядом", thread_id=tid)
        assert (await anna.expect("Мы рядом")).chat_id == anna.id
        await curator.send_photo("вот", thread_id=tid)
        assert (await anna.expect("вот")).kind == "photo"
        await anna.expect_silence(0.2)
        await group.expect_silence(0.1)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)
