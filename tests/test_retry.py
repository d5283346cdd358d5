"""The one retry layer on the bot session."""

from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, SendMessage

from bot.jobs.telegram_session import RetryMiddleware

METHOD = SendMessage(chat_id=1, text="hi")


class Script:
    """make_request that fails as told, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self, bot: Any, method: Any) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "sent"


def make(**kw: Any) -> tuple[RetryMiddleware, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return RetryMiddleware(sleep=sleep, **kw), slept


async def test_429_waits_exactly_retry_after() -> None:
    mw, slept = make()
    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests: retry after 3", 3))
    assert await mw(script, None, METHOD) == "sent"  # type: ignore[arg-type]  # test doubles for make_request and the bot
    assert slept == [3.0] and script.calls == 2


async def test_5xx_and_network_back_off_growing() -> None:
    mw, slept = make(base_delay=1, max_delay=100)
    script = Script(
        TelegramServerError(METHOD, "Bad Gateway"),
        TelegramNetworkError(METHOD, "timeout"),
        TelegramServerError(METHOD, "Internal"),
    )
    assert await mw(script, None, METHOD) == "sent"  # type: ignore[arg-type]  # test doubles for make_request and the bot
    assert len(slept) == 3
    assert 0.8 <= slept[0] <= 1.2 and 1.6 <= slept[1] <= 2.4 and 3.2 <= slept[2] <= 4.8


async def test_bounded_attempts() -> None:
    mw, slept = make(max_attempts=3)
    script = Script(*[TelegramServerError(METHOD, "down")] * 5)
    with pytest.raises(TelegramServerError):
        await mw(script, None, METHOD)  # type: ignore[arg-type]  # test doubles for make_request and the bot
    assert script.calls == 3 and len(slept) == 2


async def test_absurd_retry_after_is_not_waited() -> None:
    mw, slept = make(max_retry_after=60)
    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests: retry after 3600", 3600))
    with pytest.raises(TelegramRetryAfter):
        await mw(script, None, METHOD)  # type: ignore[arg-type]  # test doubles for make_request and the bot
    assert slept == []


@pytest.mark.parametrize(
    "error",
    [
        TelegramBadRequest(METHOD, "Bad Request: chat not found"),
        TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"),
    ],
)
async def test_real_answers_are_not_retried(error: Exception) -> None:
    mw, slept = make()
    script = Script(error)
    with pytest.raises(type(error)):
        await mw(script, None, METHOD)  # type: ignore[arg-type]  # test doubles for make_request and the bot
    assert script.calls == 1 and slept == []


async def test_polling_is_left_to_the_dispatcher() -> None:
    mw, _slept = make()
    script = Script(TelegramServerError(GetUpdates(), "down"))
    with pytest.raises(TelegramServerError):
        await mw(script, None, GetUpdates())  # type: ignore[arg-type]  # test doubles for make_request and the bot
    assert script.calls == 1
