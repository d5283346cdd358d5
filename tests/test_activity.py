"""The log's line a minute (bot/jobs/activity.py): counts of updates and Bot API calls, none when idle."""

import logging
from typing import Any

import pytest
from aiogram.types import TelegramObject, Update

from bot.jobs.activity import Activity


async def _ok(event: TelegramObject, data: dict[str, Any]) -> str:
    return "done"


async def _broken(event: TelegramObject, data: dict[str, Any]) -> str:
    raise RuntimeError("boom")


async def test_counts_are_reported_once_and_start_again(caplog: pytest.LogCaptureFixture) -> None:
    activity = Activity()
    assert activity.report() is None  # idle: no line at all
    assert await activity.count_update(_ok, Update(update_id=1), {}) == "done"
    with pytest.raises(RuntimeError):
        await activity.count_update(_broken, Update(update_id=1), {})
    with caplog.at_level(logging.INFO, logger="bot.jobs.activity"):
        line = activity.report()
    assert line == "last minute: 2 update(s) handled (1 failed), 0 Bot API call(s) (0 failed)"
    assert [r.getMessage() for r in caplog.records] == [line]
    assert activity.report() is None  # counted afresh


async def test_bot_api_calls_are_counted_but_not_long_polls(fake) -> None:
    activity = Activity()
    bot = fake.make_bot()
    bot.session.middleware(activity.requests)
    try:
        user = fake.user()
        await user.send("/start")
        await bot.get_updates(timeout=0)
        await bot.send_message(user.id, "hello")
        with pytest.raises(Exception):  # noqa: B017  # any Bot API error is counted as failed
            await bot.send_message(123, "nobody there")
    finally:
        await bot.session.close()
    assert (activity.calls, activity.call_errors) == (2, 1)
