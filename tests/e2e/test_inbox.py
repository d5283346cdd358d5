"""The durable inbox (issue 11): nothing she sends is lost to a crash or a database outage, the same
update never acts twice, and crisis words go before whatever else of hers is waiting."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.services import inbox
from tests.conftest import ROOT, fresh_database
from tests.e2e.people import at_menu
from tests.e2e.test_process import _spawn, _until

# docs/DEVELOPING.md "Tests": which tests run on both — all but the webhook's check of what it is
# sent, which refuses before the database is asked.
both = pytest.mark.both_backends

PG_SCRIPT = ROOT / "scripts" / "pg.sh"


@both
async def test_kill_9_right_after_the_acknowledgement_loses_nothing(fake, backend, tmp_path) -> None:
    """The process dies while her update is being handled, after Telegram was told it arrived."""
    database_url = await fresh_database(backend, tmp_path)
    proc = await _spawn(fake, database_url, tmp_path, log=tmp_path / "bot.log", INBOX_LEASE_SECONDS="2")
    try:
        await _until(lambda: fake.polling, timeout=60)
        user = fake.user(first_name="Вера")
        await user.send("/start")
        await user.expect("What would you like", predicate=lambda m: m.has_button("Help"), timeout=30)
        fake.delay("sendMessage", 600)  # her answer hangs in Telegram...
        update_id = fake._next_update_id
        await user.send("/help")
        # ...while the bot acknowledges her update with its next getUpdates:
        await _until(lambda: all(u["update_id"] != update_id for u in fake.pending_updates), timeout=30)
        proc.kill()
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    fake.clear_faults()
    proc = await _spawn(fake, database_url, tmp_path, log=tmp_path / "bot.log", INBOX_LEASE_SECONDS="2")
    try:
        await user.expect("How to use this bot", timeout=60)
        # Handled once: another start finds it done.
        await user.send("/privacy")
        await user.expect("What we keep about you", timeout=30)
        assert sum("How to use this bot" in m.text for m in user.messages) == 1
    finally:
        proc.kill()
        await proc.wait()


@both
async def test_the_same_update_twice_has_one_effect(start_bot, fake) -> None:
    """Telegram may send an update again (a crash before the offset moved): it is handled once."""
    app = await start_bot()
    user = await at_menu(fake)
    update = {
        "update_id": fake._next_update_id,
        "message": {
            "message_id": 10_001,
            "date": 0,
            "text": "/help",
            "chat": {"id": user.id, "type": "private"},
            "from": user.user_object,
        },
    }
    fake.push_update(update)
    await user.expect("How to use this bot")
    fake.push_update(update)
    await user.send("/privacy")
    await user.expect("What we keep about you")
    assert sum("How to use this bot" in m.text for m in user.messages) == 1
    for _ in range(1200):  # the answer goes out a moment before the update is marked done (60 s at most)
        async with app.context.db() as session:
            if await inbox.pending(session) == 0:
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("an update was left undone in the inbox")


@both
async def test_crisis_words_go_before_what_else_of_hers_is_waiting(start_bot, fake) -> None:
    await start_bot()
    user = await at_menu(fake)
    fake.delay("sendMessage", 1.0, times=None)  # every answer is slow: her messages queue up
    await user.send("/help")
    await user.send("/privacy")
    await user.send("/help")
    await user.send("хочу умереть")
    await user.expect("If you or your children are in danger", timeout=30)
    fake.clear_faults()
    await user.expect("How to use this bot", timeout=30)
    texts = [m.text for m in user.messages]
    crisis = next(i for i, t in enumerate(texts) if "If you or your children are in danger" in t)
    # The first /help was already being answered; the two updates waiting behind it came after.
    assert sum("How to use this bot" in t for t in texts[:crisis]) <= 1
    assert not any("What we keep about you" in t for t in texts[:crisis])


async def test_more_updates_than_room_are_claimed_as_soon_as_room_is_made(start_bot, fake, monkeypatch) -> None:
    """Updates that came while the instance had no room wait in the database; the done mark that
    makes room wakes the claimer (before, they waited for its next look or lease renewal: 10 to 20 s
    with the default settings, an hour here)."""
    monkeypatch.setattr("bot.inbox.IDLE_CLAIM_SECONDS", 3600.0)
    app = await start_bot(unchecked={"inbox_lease_seconds": 3 * 3600})  # leases renewed once an hour
    people = [await at_menu(fake) for _ in range(6)]
    app.inbox._concurrency = 2  # room for two at a time: the other four are stored for later
    fake.delay("sendMessage", 0.3, times=6)  # the first answers are slow, so the others pile up
    for person in people:
        await person.send("/help")
    for person in people:
        await person.expect("How to use this bot", timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(action: str, port: int, data: Path) -> str:
    env = {**os.environ, "TEST_PGPORT": str(port), "TEST_PGDATA": str(data)}
    done = subprocess.run(["bash", str(PG_SCRIPT), action], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@both
async def test_a_database_outage_is_answered_and_then_caught_up(start_bot, fake, backend) -> None:
    """PostgreSQL stops while people write: each gets a kind answer at once, nothing is acknowledged,
    and when the database is back every message is handled."""
    if backend != "postgresql":
        pytest.skip("an outage of the database server: the PostgreSQL half")
    if shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("runuser is needed to run a private PostgreSQL as root")
    port = _free_port()
    data = Path(f"/tmp/vmeste-outage-{uuid.uuid4().hex[:8]}")
    url = await asyncio.to_thread(_pg, "start", port, data)
    try:
        app = await start_bot(database_url=url)
        anna = await at_menu(fake)
        # Her /start is answered a moment before its handler ends (the dialog state is saved after):
        # the outage begins once nothing is being handled, or that update would be the one it meets.
        await _until(lambda: app.inbox.busy == 0, timeout=30)
        await asyncio.to_thread(_pg, "stop", port, data)
        await anna.send("/help")
        nina = fake.user(first_name="Нина")
        await nina.send("/start")
        for person in (anna, nina):
            answer = await person.expect("technical pause", timeout=30)
            assert "112" in answer.text  # the nationwide lines come from the content files
        assert fake.pending_updates  # nothing acknowledged while nothing could be stored
        await asyncio.to_thread(_pg, "start", port, data)
        await anna.expect("How to use this bot", timeout=60)
        await nina.expect("What would you like", timeout=60)
        assert sum("technical pause" in m.text for m in anna.messages) == 1  # told once, not each retry
        await app.test_stop()
    finally:
        await asyncio.to_thread(_pg, "stop", port, data)
        shutil.rmtree(data, ignore_errors=True)


async def test_webhook_refuses_what_is_not_an_update(start_bot, fake) -> None:
    port = _free_port()
    await start_bot(
        webhook_url=f"http://127.0.0.1:{port}/tg/hook",
        webhook_secret="s3cret-Token_2",
        webhook_listen_host="127.0.0.1",
        webhook_listen_port=port,
    )
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_2", "Content-Type": "application/json"}
    bodies: list[Any] = [
        b"{not json",
        b"[1, 2]",
        b'{"update_id": "x"}',
        b'{"message": {}}',
        b'{"update_id": 5, "message": 7}',
    ]
    async with aiohttp.ClientSession() as http:
        for body in bodies:
            async with http.post(f"http://127.0.0.1:{port}/tg/hook", data=body, headers=headers) as resp:
                assert resp.status == 400, body
        async with http.post(f"http://127.0.0.1:{port}/tg/hook", data=b"{}", headers={}) as resp:
            assert resp.status == 401
    user = fake.user()
    await user.send("/start")
    await user.expect("Hello")


@both
async def test_a_502_storm_then_a_429_flood_loses_no_answer(start_bot, fake) -> None:
    """Telegram answers 502 to every send for longer than the session retries, then 429: what people
    sent meanwhile is answered once Telegram is back, not dropped with the failed handler."""
    await start_bot(telegram_retry_attempts=2)
    people = [fake.user() for _ in range(4)]
    fake.fail("sendMessage", 502, times=None)
    for person in people:
        await person.send("/start")
    await _until(lambda: sum(not c.ok for c in fake.calls_of("sendMessage")) >= 2 * len(people), timeout=60)
    fake.clear_faults()
    fake.fail("sendMessage", 429, retry_after=1, times=3)
    for person in people:
        await person.expect("What would you like", timeout=60)
