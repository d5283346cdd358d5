"""Apply Alembic migrations from inside the running application (and from tests).

At start-up the database is usually at head already: that is checked with one ``SELECT`` against the
head revision read from the migration files' text, and Alembic (with Mako and every migration
module) is imported only when there is something to apply.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every instance of the bot.
_PG_MIGRATION_LOCK = 7_345_019
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def alembic_config(url: str | None = None) -> Config:
    # Deferred: Alembic and Mako cost start-up time and memory, and are needed only to migrate.
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(connection: Connection, revision: str, downgrade: bool) -> None:
    # Deferred: see alembic_config.
    from alembic import command  # noqa: PLC0415

    if connection.dialect.name == "postgresql":
        # Two instances starting together must not both run the same revision.
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    if downgrade:
        command.downgrade(cfg, revision)
    else:
        command.upgrade(cfg, revision)


@cache
def head_revision() -> str | None:
    """The one head revision, read from the migration files' text (``revision = "…"``,
    ``down_revision = …``); None when that is not one clear head (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None or down is None:
            return None
        revisions.add(found.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def at_head(engine: AsyncEngine) -> bool:
    """True when the database's ``alembic_version`` names the head revision (one statement)."""
    head = head_revision()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except (OperationalError, ProgrammingError):  # no such table yet: a new database
        return False
    return list(current) == [head]


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    if revision == "head" and await at_head(engine):
        return
    async with engine.begin() as conn:
        await conn.run_sync(_run, revision, False)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, revision, True)


def revisions() -> list[str]:
    """Revision ids from the first to head."""
    # Deferred: see alembic_config.
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]
