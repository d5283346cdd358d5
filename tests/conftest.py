"""Shared fixtures: both database backends, a migrated database, the fake Bot API, a running bot.

Which backends a database test runs on (docs/DEVELOPING.md "Tests"): a unit test (``tests/test_*.py``)
on both, SQLite and PostgreSQL; an end-to-end test (``tests/e2e/``) on SQLite only — its single pooled
connection is what catches a session held across an await — unless it is marked
``@pytest.mark.both_backends`` (transactions, claims, concurrency, migrations, forgetting, reminders,
the inbox). Telegram's pause between two sends to one person is 0.05 s here (``make_settings``); and no
test waits for real time when it waits for something: bounds are generous (``BOUND``) since they only
matter on failure. The PostgreSQL URL comes from ``TEST_POSTGRES_URL`` (``scripts/test.sh`` starts a
throw-away cluster and sets it); without it the PostgreSQL half is skipped, unless
``REQUIRE_POSTGRES=1`` (as in CI), where it fails.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from db.types import configure_encryption

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
TEST_KEY = Fernet.generate_key().decode()
ADMIN_ID = 900_000_001
_USER_IDS = itertools.count(10_000_000 + (os.getpid() % 1000) * 100_000)
# Update ids too: the inbox remembers every update_id it has handled, and the database outlives a test.
_UPDATE_IDS = itertools.count(1_000)

configure_encryption([TEST_KEY])


def _postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set (scripts/test.sh sets it)")
        pytest.skip("PostgreSQL half skipped: TEST_POSTGRES_URL is not set (use scripts/test.sh)")
    return url


async def fresh_database(backend: str, tmp_dir: Path) -> str:
    """An empty database of its own: a new SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_dir / f'{uuid.uuid4().hex}.sqlite3'}"
    base = make_url(_postgres_url())
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base.render_as_string(hide_password=False))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


BACKENDS = ("sqlite", "postgresql")
E2E_BACKEND = "sqlite"
E2E_DIR = ROOT / "tests" / "e2e"


def backends_of(path: Path, marked_both: bool) -> tuple[str, ...]:
    """The backends a database test at ``path`` runs on (the rule in the module's docstring)."""
    if marked_both or E2E_DIR not in path.parents:
        return BACKENDS
    return (E2E_BACKEND,)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker("both_backends") is not None
        params = backends_of(Path(str(metafunc.definition.path)), marked)
        metafunc.parametrize("backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _postgres_url()
    return str(request.param)


@pytest.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """One migrated database per backend for the whole run; tests keep apart by their own user ids."""
    url = await fresh_database(backend, tmp_path_factory.mktemp("db"))
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


# The pause between two sends to one person: production's default, and the tests' (see make_settings).
TELEGRAM_PER_CHAT_INTERVAL: float = Settings.model_fields["send_per_chat_interval_seconds"].default
FAST_PER_CHAT_INTERVAL = 0.05
# How long a test waits for something that should happen at once (a start, a stop) before it fails:
# generous, since it only matters when it never happens and a busy machine may take many seconds.
BOUND = 120


def make_settings(api_url: str, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": "123456:TEST-token",
        "telegram_api_url": api_url,
        "database_url": database_url,
        "encryption_key": TEST_KEY,
        "admin_ids": str(ADMIN_ID),
        "content_dir": str(CONTENT),
        "telegram_timeout": 5,
        # Telegram's pause between two sends to one person (1.1 s in production) would make a test that
        # sends her a few notices wait seconds for nothing; the tests of that very limit pass
        # send_per_chat_interval_seconds=TELEGRAM_PER_CHAT_INTERVAL themselves.
        "send_per_chat_interval_seconds": FAST_PER_CHAT_INTERVAL,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[Any]:
    from fake_bot_api import FakeTelegram

    async with FakeTelegram(token="123456:TEST-token") as server:
        # The database outlives one test: people of different tests must never share an id.
        server._user_ids = _USER_IDS
        server._next_update_id = next(_UPDATE_IDS) * 1_000_000
        yield server
        server.assert_no_internal_errors()


BotStarter = Callable[..., Awaitable[Any]]


@pytest.fixture
async def start_bot(fake: Any, database_url: str) -> AsyncIterator[BotStarter]:
    """Starts the bot in this process through the same ``build``/``serve`` as ``python -m bot``.

    Can be called again after ``stop`` to restart it on the same database; every bot still
    running at the end of the test is stopped.
    """
    from bot.app import build

    running: list[tuple[Any, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> Any:
        clock = overrides.pop("clock", None)
        # Values past a setting's production bounds, for a test's own pace (not validated).
        unchecked = overrides.pop("unchecked", {})
        settings = make_settings(fake.url, overrides.pop("database_url", database_url), **overrides)
        settings = settings.model_copy(update=unchecked)
        app = build(settings, **({"clock": clock} if clock else {}))
        task = asyncio.create_task(app.serve(handle_signals=False))
        ready = asyncio.create_task(app.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=BOUND, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # raises what broke start-up
        if ready not in done:
            raise AssertionError(f"the bot did not start within {BOUND} s")
        running.append((app, task))

        async def stop() -> None:
            await app.stop()
            await asyncio.wait_for(task, BOUND)
            running.remove((app, task))

        app.test_stop = stop  # type: ignore[attr-defined]  # a test-only handle on the running app
        return app

    yield start
    for app, task in list(running):
        await app.stop()
        await asyncio.wait_for(task, BOUND)


@pytest.fixture
async def bot(start_bot: BotStarter) -> Any:
    return await start_bot()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free port, when the machine has one (scripts/test.sh installs it)."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail("REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + BOUND  # only matters when it never starts
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
