"""Engine and session factory for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
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
            connect_args={"timeout": 30, "async_creator_fn": _connect_sqlite},
            pool_size=1,
            max_overflow=0,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


class _SqliteConnection(aiosqlite.Connection):
    """aiosqlite hands every call to its thread and back: five round trips for one upsert (make a
    cursor, execute, close the cursor, commit, and the pool's rollback on return). The calls that
    never wait for the disk or a lock run here instead: making and closing a cursor, and a commit or
    rollback with no transaction open (the pool's reset after a commit). What may wait (statements,
    fetching rows, a real commit) still goes to the thread, so the event loop never blocks on SQLite.
    The connection is made with ``check_same_thread=False``; its calls stay one after another, as
    SQLAlchemy awaits each before the next."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        owner = getattr(fn, "__self__", None)
        name = getattr(fn, "__name__", "")
        if (isinstance(owner, sqlite3.Cursor) and name == "close") or (
            isinstance(owner, sqlite3.Connection)
            and (name == "cursor" or (name in ("commit", "rollback") and not owner.in_transaction))
        ):
            if not self._running or not self._connection:
                raise ValueError("Connection closed")
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)


def _connect_sqlite(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """What ``aiosqlite.connect`` does, with the connection above (SQLAlchemy awaits it)."""
    kwargs["check_same_thread"] = False
    connection = _SqliteConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable against crashes, one fsync per checkpoint
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # "Delete my data": deleted rows are overwritten with zeros, not left readable in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
