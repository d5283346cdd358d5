"""INSERT … ON CONFLICT on either backend, written once: PostgreSQL and SQLite spell the statement
the same but SQLAlchemy builds it from each dialect's own ``insert``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

Insert = postgresql.Insert | sqlite.Insert


def is_postgres(bind: AsyncSession | AsyncConnection | AsyncEngine) -> bool:
    dialect = bind.get_bind().dialect if isinstance(bind, AsyncSession) else bind.dialect
    return dialect.name == "postgresql"


def insert(bind: AsyncSession | AsyncConnection | AsyncEngine, table: Any) -> Insert:
    """``insert(session, Model).values(…).on_conflict_do_nothing(…)`` / ``.on_conflict_do_update(…)``."""
    return postgresql.insert(table) if is_postgres(bind) else sqlite.insert(table)
