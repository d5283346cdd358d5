"""The stairway: every revision upgrades, downgrades and upgrades again, on both backends."""

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from db import migrate
from db.engine import create_engine
from db.models import Base
from tests.conftest import fresh_database


async def test_stairway(backend: str, tmp_path: Path) -> None:
    engine = create_engine(await fresh_database(backend, tmp_path))
    try:
        previous = "base"
        for revision in migrate.revisions():
            await migrate.upgrade(engine, revision)
            await migrate.downgrade(engine, previous)
            await migrate.upgrade(engine, revision)
            previous = revision
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            left = set(await conn.run_sync(lambda c: inspect(c).get_table_names())) - {"alembic_version"}
        assert left == set()
    finally:
        await engine.dispose()


async def test_head_is_checked_with_one_select_and_alembic_runs_only_when_behind(backend: str, tmp_path: Path) -> None:
    assert migrate.head_revision() == migrate.revisions()[-1]  # read from the files' text, as Alembic does
    engine = create_engine(await fresh_database(backend, tmp_path))
    try:
        assert not await migrate.at_head(engine)  # a new database: no alembic_version yet
        await migrate.upgrade(engine)
        assert await migrate.at_head(engine)
        await migrate.downgrade(engine, migrate.revisions()[-2])
        assert not await migrate.at_head(engine)
        await migrate.upgrade(engine)  # behind: Alembic applies what is missing
        assert await migrate.at_head(engine)
    finally:
        await engine.dispose()


async def test_audit_log_is_append_only(engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO audit_log (at, actor_id, action) VALUES (CURRENT_TIMESTAMP, 1, 'test_append_only')")
        )
    for statement in (
        "UPDATE audit_log SET action = 'changed' WHERE action = 'test_append_only'",
        "DELETE FROM audit_log WHERE action = 'test_append_only'",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_models_match_migrations(engine) -> None:
    """A model changed without a revision shows up here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def diff(conn):
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []
