"""Fixtures of the fake Bot API's own tests: a started server and an aiogram Bot wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from fake_bot_api import FakeTelegram
from fake_bot_api.tests.helpers import TOKEN


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
