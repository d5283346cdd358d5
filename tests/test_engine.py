"""The engine's shortcuts keep their promises: an idle PostgreSQL connection that died is replaced
before use (instead of pool_pre_ping on every checkout), SQLite's quick calls skip aiosqlite's thread."""

from pathlib import Path

import aiosqlite
from sqlalchemy import event, text

from db import engine as engines
from db.engine import create_engine, create_session_factory, one_statement_sessions
from tests.conftest import fresh_database


async def test_a_connection_killed_while_idle_is_replaced_before_use(tmp_path: Path, monkeypatch) -> None:
    url = await fresh_database("postgresql", tmp_path)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        other = create_engine(url)
        async with other.connect() as conn:  # the server ends it, as a restart would
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await other.dispose()
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)  # it has been idle long enough
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 3600.0)  # back a moment ago: not pinged
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_one_statement_sessions_autocommit_on_postgresql_only(backend: str, tmp_path: Path) -> None:
    engine = create_engine(await fresh_database(backend, tmp_path))
    try:
        factory = create_session_factory(engine)
        writes = one_statement_sessions(factory)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with writes() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            # closed without a commit: in autocommit the statement was its own transaction
        async with factory() as session:
            kept = await session.scalar(text("SELECT count(*) FROM t"))
        if backend == "postgresql":
            assert kept == 1
        else:
            assert writes is factory and kept == 0
    finally:
        await engine.dispose()


async def test_run_alone_uses_no_transaction_of_the_session_unless_it_has_one(backend: str, tmp_path: Path) -> None:
    """Outside a transaction the statement runs (and commits) on a connection of its own, and the
    session begins nothing; inside one it runs there and the session is committed."""
    engine = create_engine(await fresh_database(backend, tmp_path))
    try:
        factory = create_session_factory(engine)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with factory() as session:
            begun: list[object] = []
            event.listen(session.sync_session, "after_begin", lambda *_args: begun.append(1))
            assert await engines.run_alone(session, text("INSERT INTO t VALUES (1) RETURNING x")) == [(1,)]
            assert begun == [] and not session.in_transaction()
            await session.execute(text("INSERT INTO t VALUES (2)"))
            assert [tuple(r) for r in await engines.run_alone(session, text("SELECT count(*) FROM t"))] == [(2,)]
            assert begun == [1] and not session.in_transaction()  # committed, with what it held
        async with factory() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 2
        assert engines.one_statement_engine(engine) is engines.one_statement_engine(engine)
    finally:
        await engine.dispose()


async def test_open_pool_makes_the_pools_connections_at_once(backend: str, tmp_path: Path) -> None:
    """PostgreSQL: the pool's connections are made together (then wait in the pool), so the first
    burst of updates does not make them one by one. SQLite: nothing to make. An unreachable server
    leaves them to be made on demand, without an error."""
    engine = create_engine(await fresh_database(backend, tmp_path))
    try:
        await engines.open_pool(engine)
        if backend == "postgresql":
            assert engine.pool.checkedin() == engine.pool.size() == 10  # type: ignore[attr-defined]
        else:
            assert engine.pool.checkedin() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
    away = create_engine("postgresql+asyncpg://nobody:secret@127.0.0.1:9/none")
    try:
        await engines.open_pool(away)
        assert away.pool.checkedin() == 0  # type: ignore[attr-defined]
    finally:
        await away.dispose()


async def test_sqlite_runs_statements_in_its_thread_and_the_rest_in_place(tmp_path: Path, monkeypatch) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/e.sqlite3")
    handed: list[str] = []
    original = aiosqlite.Connection._execute

    async def noted(self, fn, *args, **kwargs):
        handed.append(fn.__name__)
        return await original(self, fn, *args, **kwargs)

    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", noted)
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t"))).scalars().all() == [1]
        assert handed == ["execute", "execute"]  # a write and a read: one trip to the thread each
    finally:
        await engine.dispose()
