"""A unit of work's failure path, written once: whatever goes wrong inside (an error, a cancelled
task), the transaction is rolled back and the error goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


@asynccontextmanager
async def rollback_on_error(
    session: AsyncSession | AsyncConnection, *, passing: tuple[type[BaseException], ...] = ()
) -> AsyncIterator[None]:
    """``async with rollback_on_error(session): …; await session.commit()``. Errors in ``passing``
    go on without a rollback (the block has already ended its transaction before raising them)."""
    try:
        yield
    except passing:
        raise
    except BaseException:
        await session.rollback()
        raise
