"""``dialogs.common.scope``: the middleware data, typed; the update's one session used in blocks
that end their transaction, so what a screen reads after a decision is the database as it is."""

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import users
from db.models import User
from dialogs.common.scope import Scope

_ids = itertools.count(530_000_000)
NOW = datetime(2026, 11, 1, 9, tzinfo=UTC)


def test_the_view_reads_what_the_middlewares_put() -> None:
    profile = users.Profile(
        user_id=1,
        role=None,
        chosen_locale=None,
        timezone=None,
        region=None,
        first_seen=NOW,
        blocked_bot=False,
        is_new=True,
    )
    after: list[object] = []
    s = Scope({"profile": profile, "after_update": after})
    assert s.profile is profile and s.speaker is profile and s.after_update is after
    assert s.broadcaster is None and s.user is None  # optional ones
    with pytest.raises(AssertionError):
        _ = Scope({}).speaker  # no person: a bug, said at once


async def test_a_block_ends_its_transaction_and_forgets_its_rows(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    uid = next(_ids)
    await users.touch(session, uid, now=NOW)
    s = Scope({"session": session})
    async with s.transaction() as tx:
        row = await tx.get(User, uid)
        assert row is not None and row.locale is None
    assert not session.in_transaction() and row not in session  # the connection is back in the pool
    async with session_factory() as other:  # a decision made elsewhere (SQLite: needs that connection)
        await other.execute(update(User).where(User.id == uid).values(locale="en"))
        await other.commit()
    async with s.transaction() as tx:
        again = await tx.get(User, uid)
        assert again is not None and again.locale == "en"  # read afresh, not the row the session kept


async def test_what_a_block_did_not_commit_is_dropped(session: AsyncSession) -> None:
    uid = next(_ids)
    await users.touch(session, uid, now=NOW)
    s = Scope({"session": session})
    with pytest.raises(RuntimeError):
        async with s.transaction() as tx:
            await tx.execute(update(User).where(User.id == uid).values(locale="en"))
            raise RuntimeError("refused halfway")
    async with s.transaction() as tx:
        await tx.execute(update(User).where(User.id == uid).values(timezone="Europe/Moscow"))  # not committed
    async with s.transaction() as tx:
        row = await tx.get(User, uid)
        assert row is not None and row.locale is None and row.timezone is None
