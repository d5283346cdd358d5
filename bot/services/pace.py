"""Telegram's sending limits kept across every instance that shares the database.

Each instance paces its own sends (``bot.jobs.pacer``); these statements make the pace common. A row per
key holds the moment the next message may go, on the database's clock so that instances on several
hosts agree: ``*`` for the overall rate, and one per chat (named by its pseudonym, never its id) for
the one-a-second rule. Each statement is one atomic upsert, so two instances never take one moment:

- ``take``: for each chat asked, it is free now, so it is taken for its interval (0.0 is returned);
  or it is not, and nothing changes (the seconds until it is free are returned).
- ``book``: the next moments overall, ``gap`` apart, after the last one booked. A little slack lets
  a send the event loop made late be caught up, so the average rate stays exact without a burst.
- ``hold``: Telegram answered 429: the key (or everything) waits ``seconds``.

Each function is one statement, atomic on its own: they take a connection (best in autocommit, so
a send costs one round trip, not a transaction's three) and commit what they did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, cast, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db import upsert
from db.models import SendPace
from db.transaction import rollback_on_error

ALL = "*"
KEEP_SECONDS = 300.0  # a chat's row is purged this long after its moment passed


def _now(conn: AsyncConnection) -> ColumnElement[float]:
    """The database's clock in seconds since the epoch (PostgreSQL: the moment of the statement)."""
    if upsert.is_postgres(conn):
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    return (func.julianday("now") - 2440587.5) * 86400.0


def _greatest(conn: AsyncConnection, a: Any, b: Any) -> ColumnElement[float]:
    name = "greatest" if upsert.is_postgres(conn) else "max"
    return getattr(func, name)(a, b)


async def take(conn: AsyncConnection, asks: dict[str, float]) -> dict[str, float]:
    """For each chat key and its interval: 0.0 when it was free now (it is taken for that interval),
    otherwise the seconds until it is free (nothing taken). One statement for all of them."""
    if not asks:
        return {}
    async with rollback_on_error(conn):
        now = _now(conn)
        stmt = upsert.insert(conn, SendPace).values(
            [{"key": key, "next_at": now + interval} for key, interval in asks.items()]
        )
        taken_stmt = stmt.on_conflict_do_update(
            index_elements=[SendPace.key],
            set_={"next_at": stmt.excluded.next_at},
            where=SendPace.next_at <= now,
        ).returning(SendPace.key)
        taken = set((await conn.execute(taken_stmt)).scalars())
        busy: dict[str, float] = dict.fromkeys(taken, 0.0)
        others = [key for key in asks if key not in taken]
        if others:
            rows = await conn.execute(select(SendPace.key, SendPace.next_at - now).where(SendPace.key.in_(others)))
            busy.update({key: max(0.001, float(wait)) for key, wait in rows.all()})
        await conn.commit()
    return {key: busy.get(key, 0.001) for key in asks}


async def book(conn: AsyncConnection, gap: float, slack: float = 0.0, key: str = ALL, count: int = 1) -> float:
    """Books the next ``count`` moments overall, ``gap`` apart, and returns the seconds to wait for
    the first of them (0.0: now)."""
    async with rollback_on_error(conn):
        now = _now(conn)
        span = gap * count
        stmt = upsert.insert(conn, SendPace).values(key=key, next_at=now + span)
        booked = stmt.on_conflict_do_update(
            index_elements=[SendPace.key],
            set_={"next_at": _greatest(conn, SendPace.next_at, now - slack) + span},
        ).returning(SendPace.next_at - span - now)
        wait = (await conn.execute(booked)).scalar_one()
        await conn.commit()
    return max(0.0, float(wait))


async def hold(conn: AsyncConnection, key: str, seconds: float) -> None:
    """Nothing goes to ``key`` (``ALL``: to anyone) for ``seconds`` from now."""
    async with rollback_on_error(conn):
        now = _now(conn)
        stmt = upsert.insert(conn, SendPace).values(key=key, next_at=now + seconds)
        stmt = stmt.on_conflict_do_update(
            index_elements=[SendPace.key],
            set_={"next_at": _greatest(conn, SendPace.next_at, now + seconds)},
        )
        await conn.execute(stmt)
        await conn.commit()


async def purge(conn: AsyncConnection, keep: str = ALL) -> int:
    """Drops the rows of chats whose moment passed a while ago (not ``keep``'s); returns how many."""
    async with rollback_on_error(conn):
        result = await conn.execute(
            delete(SendPace).where(SendPace.key != keep, SendPace.next_at < _now(conn) - literal(KEEP_SECONDS))
        )
        await conn.commit()
    return int(getattr(result, "rowcount", 0) or 0)
