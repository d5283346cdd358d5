"""The bot as production runs it: ``python -m bot`` in its own process, and webhook mode."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import inspect

from db.engine import create_engine
from tests.conftest import CONTENT, FAST_PER_CHAT_INTERVAL, ROOT, TEST_KEY, fresh_database


async def _spawn(
    fake, database_url: str, tmp_path: Path, *args: str, log: Path | None = None, **extra: Any
) -> asyncio.subprocess.Process:
    """``python -m bot`` as production starts it. Its output is piped (read it with ``communicate``)
    or, with ``log``, appended to that file: a pipe nobody reads fills up and stops the bot."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": TEST_KEY,
        "CONTENT_DIR": str(CONTENT),
        "LOG_LEVEL": "INFO",
        "SEND_PER_CHAT_INTERVAL_SECONDS": str(FAST_PER_CHAT_INTERVAL),  # as make_settings does
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE if log is None else log.open("ab"),
        stderr=asyncio.subprocess.PIPE if log is None else asyncio.subprocess.STDOUT,
    )


async def _until(predicate, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


@pytest.mark.both_backends
async def test_python_m_bot_migrates_answers_and_stops_cleanly_on_sigterm(fake, backend, tmp_path) -> None:
    database_url = await fresh_database(backend, tmp_path)  # empty: the bot must migrate it itself
    proc = await _spawn(fake, database_url, tmp_path)
    try:
        await _until(lambda: fake.polling, timeout=120)
        polling_since = asyncio.get_running_loop().time()
        user = fake.user(first_name="Евдокия")
        await user.send("/start")
        await user.expect("Hello")
        await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
        # The broadcasts' job ticks every second: let it tick a few times (the log must not show it).
        # Not a wait for something to happen but the span the log is checked over.
        await asyncio.sleep(max(0.0, 3 - (asyncio.get_running_loop().time() - polling_since)))
        # An update in flight when SIGTERM arrives is finished before the process exits: the signal
        # comes while the fake holds its answer.
        fake.delay("sendMessage", 1.5)
        await user.send("/help")
        await _until(lambda: fake.held, timeout=60)
        proc.send_signal(signal.SIGTERM)
        await user.expect("How to use this bot")
        _, stderr = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "Traceback" not in log
    assert user.first_name not in log  # no names in the log
    # At INFO the log says what a person running the bot needs, not every tick of the scheduler.
    assert "Running job" not in log and "executed successfully" not in log, log
    assert "polling: started" in log and "stopped" in log
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    await engine.dispose()
    assert {"users", "audit_log", "fsm_state", "support_measures"} <= set(tables)


async def test_a_token_telegram_refuses_is_one_line_and_exit_code_2(fake, tmp_path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    wrong = f"{fake.bot_id}:not-the-token"
    proc = await _spawn(fake, database_url, tmp_path, BOT_TOKEN=wrong)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = stderr.decode().strip().splitlines()
    assert proc.returncode == 2, stderr.decode()
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0] and "401" in lines[0], lines
    assert wrong not in stderr.decode()  # the token is a secret
    assert [c.method for c in fake.calls] == ["getMe"]  # refused at the first call: nothing else tried


async def test_healthcheck_says_whether_the_database_answers(fake, tmp_path) -> None:
    good = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    proc = await _spawn(fake, good, tmp_path, "healthcheck")
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == "ok"
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad = f"postgresql+asyncpg://nobody:secret@127.0.0.1:{port}/none"
    proc = await _spawn(fake, bad, tmp_path, "healthcheck")
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1
    assert stderr.decode().startswith("unhealthy:") and "secret" not in stderr.decode()
    assert len(stderr.decode().strip().splitlines()) == 1


@pytest.mark.both_backends
async def test_migrate_command(fake, backend, tmp_path) -> None:
    database_url = await fresh_database(backend, tmp_path)
    proc = await _spawn(fake, database_url, tmp_path, "migrate")
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()
    assert "migrations applied" in stdout.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode(start_bot, fake) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    await start_bot(
        webhook_url=url,
        webhook_secret="s3cret-Token_1",
        webhook_listen_host="127.0.0.1",
        webhook_listen_port=port,
    )
    assert fake.webhook_url == url
    assert fake.calls_of("setWebhook")[-1].params["secret_token"] == "s3cret-Token_1"
    user = fake.user()
    await user.send("/start")
    await user.expect("Hello")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
    await user.press("Urgent help")
    await user.expect("If you or your children are in danger")
    async with aiohttp.ClientSession() as http:
        update = {
            "update_id": 999_999,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/start",
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "X"},
            },
        }
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        # Not JSON, JSON that is not an object, an object that is not an Update, an Update of no known
        # kind: 400, and nothing is handled.
        secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        handled = len(fake.calls)
        for body in (b"not json", b"[1, 2]", b'{"hello": 1}', b'{"update_id": 5}', b'{"update_id": "x", "message": 1}'):
            async with http.post(url, data=body, headers={**secret, "Content-Type": "application/json"}) as response:
                assert response.status == 400, body
        assert len(fake.calls) == handled
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
