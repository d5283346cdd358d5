"""The SQLite connection of ``db.engine``: aiosqlite's, with fewer trips to its thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite


class SqliteConnection(aiosqlite.Connection):
    """aiosqlite hands every call to its thread and back: five round trips for one upsert (make a
    cursor, execute, close the cursor, commit, and the pool's rollback on return), each waiting its
    turn in a busy event loop while the one connection stays checked out. The calls that never wait
    for a lock run here instead: making and closing a cursor, a commit or rollback with no
    transaction open (the pool's reset after a commit), and, in WAL mode, a commit (a writer holds
    its lock already and readers never block it) and fetching the rows of a statement that has run
    (its snapshot is taken). Statements still go to the thread: one may wait for another
    connection's write lock, and waiting in the event loop could wait for that very loop. An upsert
    is one round trip, a read one. The connection is made with ``check_same_thread=False``; its calls
    stay one after another, as SQLAlchemy awaits each before the next."""

    wal = False  # set by db.engine's _sqlite_pragmas once the journal mode is known

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        owner = getattr(fn, "__self__", None)
        name = getattr(fn, "__name__", "")
        if isinstance(owner, sqlite3.Cursor):
            inline = name == "close" or (self.wal and name in ("fetchone", "fetchmany", "fetchall"))
        elif isinstance(owner, sqlite3.Connection):
            inline = (
                name == "cursor"
                or (name in ("commit", "rollback") and not owner.in_transaction)
                or (name == "commit" and self.wal)
            )
        else:
            inline = False
        if not inline:
            return await super()._execute(fn, *args, **kwargs)
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def connect_sqlite(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """What ``aiosqlite.connect`` does, with the connection above (SQLAlchemy awaits it)."""
    kwargs["check_same_thread"] = False
    connection = SqliteConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection
