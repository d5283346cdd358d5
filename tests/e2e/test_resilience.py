"""State survives restarts; Telegram's failures are handled deliberately; blocking is noticed."""

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from tests.e2e.people import at_menu


async def _wait_for(predicate, timeout: float = 60.0) -> None:  # only matters when it never holds
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.mark.both_backends
async def test_dialog_continues_after_a_restart(start_bot, fake) -> None:
    first = await start_bot()
    user = await at_menu(fake)
    await user.press("What is the programme")
    await user.expect("What is a restorative programme")
    await user.press("Next")
    await user.expect("Only if you want it")
    await first.test_stop()
    await start_bot()  # a new process would see exactly this database
    await user.press("Next")  # on the message sent before the restart
    await user.expect("Nobody takes sides")
    await user.press("Back")
    await user.expect("Only if you want it")


async def test_blocking_and_unblocking_are_remembered(bot, fake, session: AsyncSession) -> None:
    user = await at_menu(fake)

    async def blocked() -> bool:
        session.expire_all()
        row = await session.get(User, user.id)
        return row is not None and row.blocked_bot

    await user.block()
    await _wait_for(blocked)
    await user.unblock()
    await _wait_for(lambda: _not(blocked))


async def _not(predicate) -> bool:
    return not await predicate()


async def test_403_while_answering_marks_the_person_unreachable(bot, fake, session: AsyncSession) -> None:
    user = fake.user()
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", times=None, chat_id=user.id)

    async def blocked() -> bool:
        session.expire_all()
        row = await session.get(User, user.id)
        return row is not None and row.blocked_bot

    await user.send("/start")
    await _wait_for(blocked)
    assert (
        len([c for c in fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(user.id)]) == 1
    )  # no retry


async def test_429_is_waited_out(bot, fake) -> None:
    user = fake.user()
    fake.fail("sendMessage", 429, retry_after=1, chat_id=user.id)
    await user.send("/start")
    await user.expect("Hello")
    attempts = [c for c in fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(user.id)]
    assert [c.ok for c in attempts[:2]] == [False, True]
    assert attempts[1].timestamp - attempts[0].timestamp >= 0.95


async def test_5xx_is_retried_with_backoff(bot, fake) -> None:
    user = fake.user()
    fake.fail("sendMessage", 502, "Bad Gateway", times=2, chat_id=user.id)
    await user.send("/start")
    await user.expect("Hello")
    attempts = [c for c in fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(user.id)]
    assert [c.ok for c in attempts[:3]] == [False, False, True]


@pytest.mark.both_backends
async def test_when_retries_run_out_her_update_is_handled_again(start_bot, fake) -> None:
    """Telegram fails her answer past the session's retries: no apology nobody would receive — the
    inbox handles her update again a moment later, and she gets the answer itself."""
    await start_bot(telegram_retry_attempts=2)
    user = fake.user()
    fake.fail("sendMessage", 500, "Internal Server Error", times=2, chat_id=user.id)
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"), timeout=30)
    attempts = [c for c in fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(user.id)]
    assert [c.ok for c in attempts][:3] == [False, False, True]  # two tries, then again from the inbox
    assert sum("Hello" in str(c.params.get("text")) and c.ok for c in attempts) == 1  # welcomed once
    await user.send("/help")
    await user.expect("How to use this bot")


async def test_a_failure_inside_a_handler_gets_an_apology(bot, fake) -> None:
    user = fake.user()
    fake.fail("sendMessage", 400, "Bad Request: message thread not found", times=1, chat_id=user.id)
    await user.send("/start")
    apology = await user.expect("something went wrong on our side")
    assert apology.reply_keyboard is not None  # the urgent-help key comes with it
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))


async def test_redis_storage_keeps_dialogs_across_a_restart(start_bot, fake, redis_url) -> None:
    """REDIS_URL moves dialog state to Redis; a restart loses nothing there either."""
    import redis.asyncio as aioredis
    from aiogram.fsm.storage.redis import RedisStorage

    first = await start_bot(redis_url=redis_url)
    assert isinstance(first.storage, RedisStorage)
    user = await at_menu(fake)
    await user.press("What is the programme")
    await user.expect("What is a restorative programme")
    await first.test_stop()
    await start_bot(redis_url=redis_url)
    await user.press("Next")
    await user.expect("Only if you want it")
    client = aioredis.from_url(redis_url)
    try:
        keys = await client.keys(f"fsm:*:{user.id}:*")
    finally:
        await client.aclose()
    assert any(b"aiogd:stack" in key for key in keys)


@pytest.mark.both_backends
async def test_shutdown_waits_for_updates_queued_behind_the_chats_lock(start_bot, fake) -> None:
    """Two quick messages from one person; the bot is stopped while the first is still answering.
    The second waits for the chat's lock; it must be answered before the bot lets go of the database."""
    app = await start_bot()
    user = await at_menu(fake)
    fake.delay("sendMessage", 1.0)
    await user.send("/help")
    await user.send("/privacy")

    async def both_in() -> bool:
        return app.inbox.busy == 2  # one being answered, one waiting behind it in her chat's queue

    await _wait_for(both_in, timeout=30)
    await app.test_stop()
    await user.expect("What we keep about you", timeout=0)  # already sent before stop() returned
