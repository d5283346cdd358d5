"""The fake Bot API on the wire: HTTP shapes, messages and their limits, updates, webhooks, faults."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from fake_bot_api import FakeTelegram, TelegramError
from fake_bot_api.tests.helpers import TOKEN, start_receiver, started_user, until

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
    poll = asyncio.create_task(bot.get_updates(timeout=60, request_timeout=120))
    await until(lambda: fake.polling)  # the request has arrived...
    await asyncio.sleep(0)
    assert not poll.done(), "getUpdates should hang while there is nothing to deliver"  # ...and hangs

    started = time.monotonic()
    await user.send("/start hello")
    updates = await asyncio.wait_for(poll, 60)
    assert time.monotonic() - started < 30  # woken by the update, not by the end of its 60 s
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
    first = asyncio.create_task(bot.get_updates(timeout=60, request_timeout=120))
    await until(lambda: fake.polling)
    second = asyncio.create_task(bot.get_updates(timeout=1, request_timeout=60))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 60)
    assert await asyncio.wait_for(second, 60) == []


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
        await until(lambda: len(received) >= 2)
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
        reply = await user.expect("echo: hello")
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
    fake.delay("sendMessage", 120)
    started = time.monotonic()
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(user.id, "slow", request_timeout=1)
    assert time.monotonic() - started < 60  # the client's 1 s, not the fake's 120 s
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
