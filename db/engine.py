"""Engine and session factory for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, Row, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Deferred: only a SQLite deployment imports its driver (aiosqlite).
        from db.sqlite_connection import connect_sqlite  # noqa: PLC0415

        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer. With one connection, waiting happens in asyncio's fair queue instead
        # of SQLite's busy handler, which sleeps in growing steps (p95 575 -> 350 ms in bench/).
        # The price: code must never hold a session open while it awaits another one, which the
        # services respect by ending every transaction before Telegram is called.
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30, "async_creator_fn": connect_sqlite},
            pool_size=1,
            max_overflow=0,
            # An executemany with RETURNING (the inbox's store) is sent as INSERT … VALUES with one
            # row per update, a page at a time. Each page size is another prepared statement, kept
            # in the connection's cache of 128: with pages of up to 1 000 rows (the default) a
            # getUpdates batch of n updates made a statement of its own for each n, some 2 KiB a
            # row (100-200 KiB each; 5 MiB of the cache after the bench's 100-person load). Pages
            # of 16 rows make at most 16 of them. Measured after that load: VmRSS 3.4 MiB less,
            # CPU per update unchanged.
            insertmanyvalues_page_size=16,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: on asyncpg it costs three round trips (BEGIN, a ping, ROLLBACK) on every
    # checkout, more than the statement it protects. A connection that sat idle is pinged instead.
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=10)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


async def open_pool(engine: AsyncEngine) -> None:
    """Makes the pool's connections (PostgreSQL) at once and puts them back: the first burst of
    updates after a start then finds them ready, instead of making them one by one while people wait
    (a connection is a handshake and a few queries; 10 people at once: their first answers 60-72 →
    41-62 ms, bench/throughput.py). A connection that cannot be made is left to be made on demand."""
    if engine.dialect.name != "postgresql":
        return  # SQLite: one connection, made at start-up
    size = getattr(engine.pool, "size", None)
    wanted = size() if callable(size) else 0
    opened = await asyncio.gather(*(engine.connect() for _ in range(wanted)), return_exceptions=True)
    for conn in opened:
        if isinstance(conn, AsyncConnection):
            await conn.close()


# A connection back in the pool for less than this is taken to be alive: under load they come back
# every few milliseconds. One idle for longer (the server may have restarted meanwhile) is pinged
# at checkout, and a dead one replaced before anyone uses it, as pool_pre_ping would.
IDLE_PING_SECONDS = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get("checked_in")
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return  # connected just now, or back in the pool a moment ago
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("the connection did not answer a ping") from exc  # the pool connects anew


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    mode = cursor.fetchone()
    driver: Any = getattr(dbapi_connection, "_connection", None)
    if hasattr(driver, "wal"):  # db.sqlite_connection's: commits and fetches in place only in WAL mode
        driver.wal = bool(mode) and str(mode[0]).lower() == "wal"  # an in-memory database stays "memory"
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable against crashes, one fsync per checkpoint
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # "Delete my data": deleted rows are overwritten with zeros, not left readable in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def one_statement_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine for writes of one statement each (or one executemany). On PostgreSQL in autocommit:
    the statement is its own transaction, one round trip instead of three (no BEGIN, no COMMIT). On
    SQLite the engine itself (there a transaction costs no round trip)."""
    if engine.dialect.name != "postgresql":
        return engine
    autocommit = _autocommit.get(engine.sync_engine)
    if autocommit is None:
        autocommit = _autocommit[engine.sync_engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return autocommit


_autocommit: weakref.WeakKeyDictionary[Engine, AsyncEngine] = weakref.WeakKeyDictionary()


async def run_alone(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """One statement as a transaction of its own, and its rows: on a connection of its own when the
    session holds none (``one_statement_engine``: on PostgreSQL one round trip where the session's
    BEGIN, statement and COMMIT are three, and no ORM bookkeeping), else in the session, which is
    then committed."""
    if session.in_transaction():
        rows = (await session.execute(statement, params)).all()
        await session.commit()
        return rows
    bind = session.bind
    assert isinstance(bind, AsyncEngine)
    async with one_statement_engine(bind).connect() as conn:
        rows = (await conn.execute(statement, params)).all()
        await conn.commit()
    return rows


def one_statement_sessions(factory: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``one_statement_engine`` (the message trail's writes); on SQLite the factory itself."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
        return factory
    return async_sessionmaker(one_statement_engine(bind), expire_on_commit=False)
