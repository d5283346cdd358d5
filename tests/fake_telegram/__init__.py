"""Fake Telegram Bot API server + "person" client for end-to-end tests of the bot.

async with FakeTelegram(token="123456:TEST-token", bot_username="vmeste_test_bot") as fake:
    bot = fake.make_bot()          # or AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    user = fake.user(first_name="Anna", language_code="ru")
    await user.send("/start")
    await user.expect("Welcome")
"""

from .server import ApiCall, ChatEvent, FakeTelegram, MessageRecord, TelegramError, UploadedFile, api_method
from .user import BotMessage, FakeUser

__all__ = [
    "ApiCall",
    "BotMessage",
    "ChatEvent",
    "FakeTelegram",
    "FakeUser",
    "MessageRecord",
    "TelegramError",
    "UploadedFile",
    "api_method",
]
