"""One answer per press, and no edit that would change nothing (bot/telegram_session.OneAnswerPerPress)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, EditMessageText, SendMessage
from aiogram.types import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, User

from bot.telegram_session import OneAnswerPerPress

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


async def test_a_press_is_answered_once() -> None:
    middleware, telegram = OneAnswerPerPress(), Telegram()
    assert await middleware(telegram, None, AnswerCallbackQuery(callback_query_id="q1", text="Thank you!"))  # type: ignore[arg-type]
    assert await middleware(telegram, None, AnswerCallbackQuery(callback_query_id="q1"))  # type: ignore[arg-type]
    await middleware(telegram, None, AnswerCallbackQuery(callback_query_id="q2"))  # type: ignore[arg-type]
    assert [c.callback_query_id for c in telegram.calls] == ["q1", "q2"]


async def test_a_failed_answer_may_be_tried_again() -> None:
    middleware = OneAnswerPerPress()
    failing = Telegram(error=TelegramBadRequest(method=None, message="query is too old"))  # type: ignore[arg-type]
    with pytest.raises(TelegramBadRequest):
        await middleware(failing, None, AnswerCallbackQuery(callback_query_id="q1"))  # type: ignore[arg-type]
    telegram = Telegram()
    await middleware(telegram, None, AnswerCallbackQuery(callback_query_id="q1"))  # type: ignore[arg-type]
    assert len(telegram.calls) == 1


async def test_an_unchanged_screen_is_not_sent() -> None:
    middleware = OneAnswerPerPress()
    message = sent(entities=[MessageEntity(type="bold", offset=7, length=4)])
    await middleware(Telegram(result=message), None, SendMessage(chat_id=5, text="Hello, <b>Anna</b>"))  # type: ignore[arg-type]
    telegram = Telegram(result=message)
    same = EditMessageText(chat_id=5, message_id=7, text="Hello, <strong>Anna</strong>", reply_markup=KEYBOARD)
    assert await middleware(telegram, None, same) is message  # type: ignore[arg-type]  # a stand-in for the request chain and the Bot
    markup_only = EditMessageReplyMarkup(chat_id=5, message_id=7, reply_markup=KEYBOARD)
    assert await middleware(telegram, None, markup_only) is message  # type: ignore[arg-type]  # the same stand-ins
    assert telegram.calls == []
    # A change of text, of formatting or of buttons goes out.
    for edit in (
        EditMessageText(chat_id=5, message_id=7, text="Hello, <b>Olga</b>", reply_markup=KEYBOARD),
        EditMessageText(chat_id=5, message_id=7, text="Hello, <i>Anna</i>", reply_markup=KEYBOARD),
        EditMessageText(chat_id=5, message_id=7, text="Hello, <b>Anna</b>"),
        EditMessageReplyMarkup(chat_id=5, message_id=7),
    ):
        await middleware(telegram, None, edit)  # type: ignore[arg-type]
    assert len(telegram.calls) == 4


async def test_not_modified_from_telegram_is_taken_as_done() -> None:
    middleware = OneAnswerPerPress()
    message = sent()
    await middleware(Telegram(result=message), None, SendMessage(chat_id=5, text="x"))  # type: ignore[arg-type]
    telegram = Telegram(error=TelegramBadRequest(method=None, message="Bad Request: message is not modified"))  # type: ignore[arg-type]
    edit = EditMessageText(chat_id=5, message_id=7, text="Hello, <u>Anna</u>", reply_markup=KEYBOARD)
    assert await middleware(telegram, None, edit) is message  # type: ignore[arg-type]
    # About a message it has not seen, the error goes back to the caller.
    with pytest.raises(TelegramBadRequest):
        await middleware(telegram, None, EditMessageText(chat_id=5, message_id=8, text="y"))  # type: ignore[arg-type]
