"""What the fake Bot API's own tests share: the token, a person who wrote /start, a webhook receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from fake_bot_api import FakeTelegram, FakeUser

TOKEN = "123456:TEST-token"


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


async def until(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    """Waits for ``predicate`` to hold; the bound is generous since it only matters when it never does."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout:g}s"
        await asyncio.sleep(0.01)
