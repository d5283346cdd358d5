"""One answer per press, and no edit that would change nothing (bot/telegram_session.OneAnswerPerPress)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, EditMessageText, SendMessage
from aiogram.types import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, User

from bot.jobs.telegram_session import OneAnswerPerPress

BOT = User(id=1, is_bot=True, first_name="Bot")
KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Next", callback_data="a\x1dnext")]])


def sent(text: str = "Hello, Anna", markup: InlineKeyboardMarkup | None = KEYBOARD, **extra: Any) -> Message:
    return Message(
        message_id=7,
        date=datetime.fromtimestamp(0, UTC),
        chat=Chat(id=5, type="private"),
        from_user=BOT,
        text=text,
        reply_markup=markup,
        **extra,
    )


class Telegram:
    """make_request that records the calls and answers like Telegram."""

    def __init__(self, result: Any = True, error: Exception | None = None) -> None:
        self.calls: list[Any] = []
        self.result = result
        self.error = error

    async def __call__(self, bot: Any, method: Any) -> Any:
        self.calls.append(method)
        if self.error is not None:
            raise self.error
        return self.result


async def through(middleware: OneAnswerPerPress, telegram: Telegram, method: Any) -> Any:
    """The middleware called with the test's stand-ins for the request chain and the Bot (it uses neither
    beyond passing them on), typed loosely once here rather than at every call."""
    call: Any = middleware
    return await call(telegram, None, method)


async def test_a_press_is_answered_once() -> None:
    middleware, telegram = OneAnswerPerPress(), Telegram()
    assert await through(middleware, telegram, AnswerCallbackQuery(callback_query_id="q1", text="Thank you!"))
    assert await through(middleware, telegram, AnswerCallbackQuery(callback_query_id="q1"))
    await through(middleware, telegram, AnswerCallbackQuery(callback_query_id="q2"))
    assert [c.callback_query_id for c in telegram.calls] == ["q1", "q2"]


async def test_a_failed_answer_may_be_tried_again() -> None:
    middleware = OneAnswerPerPress()
    failing = Telegram(
        error=TelegramBadRequest(method=AnswerCallbackQuery(callback_query_id="q1"), message="query is too old")
    )
    with pytest.raises(TelegramBadRequest):
        await through(middleware, failing, AnswerCallbackQuery(callback_query_id="q1"))
    telegram = Telegram()
    await through(middleware, telegram, AnswerCallbackQuery(callback_query_id="q1"))
    assert len(telegram.calls) == 1


async def test_an_unchanged_screen_is_not_sent() -> None:
    middleware = OneAnswerPerPress()
    message = sent(entities=[MessageEntity(type="bold", offset=7, length=4)])
    await through(middleware, Telegram(result=message), SendMessage(chat_id=5, text="Hello, <b>Anna</b>"))
    telegram = Telegram(result=message)
    same = EditMessageText(chat_id=5, message_id=7, text="Hello, <strong>Anna</strong>", reply_markup=KEYBOARD)
    assert await through(middleware, telegram, same) == message
    markup_only = EditMessageReplyMarkup(chat_id=5, message_id=7, reply_markup=KEYBOARD)
    assert await through(middleware, telegram, markup_only) == message
    assert telegram.calls == []
    # A change of text, of formatting or of buttons goes out.
    for edit in (
        EditMessageText(chat_id=5, message_id=7, text="Hello, <b>Olga</b>", reply_markup=KEYBOARD),
        EditMessageText(chat_id=5, message_id=7, text="Hello, <i>Anna</i>", reply_markup=KEYBOARD),
        EditMessageText(chat_id=5, message_id=7, text="Hello, <b>Anna</b>"),
        EditMessageReplyMarkup(chat_id=5, message_id=7),
    ):
        await through(middleware, telegram, edit)
    assert len(telegram.calls) == 4


async def test_not_modified_from_telegram_is_taken_as_done() -> None:
    middleware = OneAnswerPerPress()
    message = sent()
    await through(middleware, Telegram(result=message), SendMessage(chat_id=5, text="x"))
    telegram = Telegram(
        error=TelegramBadRequest(
            method=EditMessageText(chat_id=5, message_id=7, text="Hello, <u>Anna</u>"),
            message="Bad Request: message is not modified",
        )
    )
    edit = EditMessageText(chat_id=5, message_id=7, text="Hello, <u>Anna</u>", reply_markup=KEYBOARD)
    assert await through(middleware, telegram, edit) == message
    # About a message it has not seen, the error goes back to the caller.
    with pytest.raises(TelegramBadRequest):
        await through(middleware, telegram, EditMessageText(chat_id=5, message_id=8, text="y"))


async def test_a_kept_message_comes_back_equal_and_bound_to_the_bot() -> None:
    """Kept as JSON and what the comparison needs (a Message object is some 15 KiB), read back as
    Telegram sent it, for the Bot that asked, only when the edit is not sent."""
    middleware = OneAnswerPerPress()
    message = sent(entities=[MessageEntity(type="bold", offset=7, length=4)])
    await through(middleware, Telegram(result=message), SendMessage(chat_id=5, text="Hello, <b>Anna</b>"))
    bot = Bot("42:TEST")
    call: Any = middleware
    same = EditMessageText(chat_id=5, message_id=7, text="Hello, <b>Anna</b>", reply_markup=KEYBOARD)
    back = await call(Telegram(), bot, same)
    assert back.model_dump() == message.model_dump()  # == would compare the Bot too: this one had none
    assert back.model_fields_set == message.model_fields_set
    assert back.bot is bot
    assert all(isinstance(kept.raw, bytes) for kept in middleware._messages.values())
    await bot.session.close()
