"""Telling a database that is away from a query that is wrong."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

_NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error", "has no column")


def database_unreachable(exc: BaseException) -> bool:
    """True for failures that say the database cannot be reached now (and may be again soon)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError):
                # SQLite says "operational" for a wrong query too: that is a bug, not an outage.
                return not any(word in str(current.orig).lower() for word in _NOT_AN_OUTAGE)
        if isinstance(current, sa_exc.TimeoutError | ConnectionError | OSError):
            return True
        if type(current).__module__.startswith("asyncpg") and "Connect" in type(current).__name__:
            return True
        current = current.__cause__ or current.__context__
    return False
