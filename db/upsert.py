"""INSERT … ON CONFLICT on either backend, written once: PostgreSQL and SQLite spell the statement
the same but SQLAlchemy builds it from each dialect's own ``insert``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

    Insert = postgresql.Insert | sqlite.Insert


def is_postgres(bind: AsyncSession | AsyncConnection | AsyncEngine) -> bool:
    dialect = bind.get_bind().dialect if isinstance(bind, AsyncSession) else bind.dialect
    return dialect.name == "postgresql"


def insert(bind: AsyncSession | AsyncConnection | AsyncEngine, table: Any) -> Insert:
    """``insert(session, Model).values(…).on_conflict_do_nothing(…)`` / ``.on_conflict_do_update(…)``."""
    # Each dialect is imported on first use: the engine has already loaded the one in use, and the
    # other one is not loaded at all (PostgreSQL's takes 2 MiB in a bot that runs on SQLite).
    if is_postgres(bind):
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert  # noqa: PLC0415  (deferred: see above)

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # noqa: PLC0415  (deferred: see above)

    return sqlite_insert(table)
