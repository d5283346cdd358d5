"""The bot as production runs it: ``python -m bot`` in its own process, and webhook mode."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from sqlalchemy import inspect

from db.engine import create_engine
from tests.conftest import CONTENT, ROOT, TEST_KEY, fresh_database


async def _spawn(fake, database_url: str, tmp_path: Path, *args: str, **extra: str) -> asyncio.subprocess.Process:
    env = {
        **extra,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": TEST_KEY,
        "CONTENT_DIR": str(CONTENT),
        "LOG_LEVEL": "INFO",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _until(predicate, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_python_m_bot_migrates_answers_and_stops_cleanly_on_sigterm(fake, backend, tmp_path) -> None:
    database_url = await fresh_database(backend, tmp_path)  # empty: the bot must migrate it itself
    proc = await _spawn(fake, database_url, tmp_path)
    try:
        await _until(lambda: fake.polling, timeout=30)
        user = fake.user(first_name="Евдокия")
        await user.send("/start")
        await user.expect("Hello")
        await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
        # An update in flight when SIGTERM arrives is finished before the process exits.
        fake.delay("sendMessage", 1.5)
        await user.send("/help")
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        await user.expect("How to use this bot", timeout=10)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "Traceback" not in log
    assert user.first_name not in log  # no names in the log
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    await engine.dispose()
    assert {"users", "audit_log", "fsm_state", "support_measures"} <= set(tables)


async def test_migrate_command(fake, backend, tmp_path) -> None:
    database_url = await fresh_database(backend, tmp_path)
    proc = await _spawn(fake, database_url, tmp_path, "migrate")
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
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
