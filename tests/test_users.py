import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import users
from db.models import AuditEvent, Role, User
from db.types import pseudonym
from tests.factories import NOW

_ids = itertools.count(500_000_000)


def new_id() -> int:
    return next(_ids)


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        ("en", "ru", "en"),
        (None, "en-GB", "en"),
        (None, "ru", "ru"),
        (None, "de", "ru"),
        (None, None, "ru"),
        ("xx", "en", "en"),
    ],
)
def test_locale_resolution(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert users.resolve_locale(chosen, telegram, "ru") == expected


async def test_first_visit_then_return(session: AsyncSession) -> None:
    uid, t0 = new_id(), datetime(2026, 11, 1, 9, tzinfo=UTC)
    first = await users.touch(session, uid, now=t0)
    assert first.is_new and first.role is None and first.first_seen == t0
    again = await users.touch(session, uid, now=t0 + timedelta(minutes=1))
    assert not again.is_new
    row = await session.get(User, uid)
    assert row is not None and row.last_seen == t0  # within the resolution: no write
    await users.touch(session, uid, now=t0 + timedelta(hours=1))
    await session.refresh(row)
    assert row.last_seen == t0 + timedelta(hours=1)


async def test_writing_again_clears_blocked(session: AsyncSession) -> None:
    uid = new_id()
    await users.touch(session, uid)
    await users.set_blocked(session, uid, True, now=NOW)
    profile = await users.get_profile(session, uid)
    assert profile is not None and profile.blocked_bot
    await users.touch(session, uid, wrote=False)  # her "blocked" notice itself says nothing new
    profile = await users.get_profile(session, uid)
    assert profile is not None and profile.blocked_bot
    await users.touch(session, uid)
    profile = await users.get_profile(session, uid)
    assert profile is not None and not profile.blocked_bot
    actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == uid))).all()
    assert actions == ["bot_blocked", "bot_unblocked"]


async def test_admins_bootstrap_and_roles(session: AsyncSession) -> None:
    admin, other = new_id(), new_id()
    await users.bootstrap_admins(session, [admin])
    await users.bootstrap_admins(session, [admin])  # idempotent
    actor = await users.get_profile(session, admin)
    assert actor is not None and actor.role is Role.ADMIN
    await users.set_role(session, actor=actor, target_id=other, role=Role.CURATOR, now=NOW)
    profile = await users.get_profile(session, other)
    assert profile is not None and profile.role is Role.CURATOR
    with pytest.raises(users.NotAllowed):
        await users.set_role(session, actor=actor, target_id=admin, role=None, now=NOW)
    curator = await users.get_profile(session, other)
    assert curator is not None
    with pytest.raises(users.NotAllowed):
        await users.set_role(session, actor=curator, target_id=other, role=Role.ADMIN, now=NOW)
    actions = (
        await session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id.in_([str(admin), str(other)])).order_by(AuditEvent.id)
        )
    ).all()
    assert actions == ["role_granted", "role_set", "denied"]


async def test_region_and_locale(session: AsyncSession) -> None:
    from pathlib import Path

    from bot.services import catalog

    await catalog.sync_from_files(session, Path(__file__).resolve().parent.parent / "content" / "regions")
    uid = new_id()
    await users.touch(session, uid)
    await users.set_locale(session, uid, "en")
    region = await users.set_region(session, uid, "altai_krai")
    assert region is not None and region.timezone == "Asia/Barnaul"
    profile = await users.get_profile(session, uid)
    assert profile is not None and (profile.chosen_locale, profile.region, profile.timezone) == (
        "en",
        "altai_krai",
        "Asia/Barnaul",
    )
    with pytest.raises(users.UnknownRegion):
        await users.set_region(session, uid, "atlantis")
    with pytest.raises(ValueError):
        await users.set_locale(session, uid, "de")
    await users.set_region(session, uid, None)
    profile = await users.get_profile(session, uid)
    assert profile is not None and profile.region == "federal"


async def test_forget_deletes_the_person(session: AsyncSession) -> None:
    uid = new_id()
    await users.touch(session, uid)
    alias = await users.forget(session, uid)
    assert alias == pseudonym(uid) and alias < 0
    assert await users.get_profile(session, uid) is None
    assert await session.scalar(select(AuditEvent).where(AuditEvent.actor_id == uid)) is None
    event = await session.scalar(select(AuditEvent).where(AuditEvent.actor_id == alias))
    assert event is not None and event.action == "data_deleted"


async def test_two_first_visits_at_once(session_factory) -> None:
    import asyncio

    uid = new_id()

    async def visit():
        async with session_factory() as s:
            return await users.touch(s, uid)

    profiles = await asyncio.gather(*(visit() for _ in range(5)))
    assert sum(p.is_new for p in profiles) == 1


async def test_first_updates_of_one_person_at_once_do_not_collide(session_factory) -> None:
    """Two first updates racing for her row (two instances, or retries after an outage): one creates
    it, the other finds it; no IntegrityError on either backend."""
    import asyncio

    uid, now = new_id(), datetime(2026, 11, 1, 9, tzinfo=UTC)

    async def first_visit() -> users.Profile:
        async with session_factory() as s:
            return await users.touch(s, uid, now=now)

    profiles = await asyncio.gather(*(first_visit() for _ in range(4)))
    assert sum(p.is_new for p in profiles) == 1
    async with session_factory() as s:
        row, created = await users.ensure(s, uid, now=now)
        assert not created and row.first_seen == now
        target = new_id()
        admin = dataclasses.replace(profiles[0], user_id=new_id(), role=Role.ADMIN)
        await users.set_role(s, actor=admin, target_id=target, role=Role.CURATOR, now=NOW)
        assert (await s.get(User, target)) is not None


async def _statements_during(session: AsyncSession, call) -> list[str]:
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args) -> None:
        seen.append(statement.split()[0].upper())

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        await call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


async def test_profile_is_cached_until_her_row_changes(session: AsyncSession, session_factory) -> None:
    uid, t0 = new_id(), datetime(2026, 11, 1, 9, tzinfo=UTC)
    await users.touch(session, uid, now=t0)
    await users.touch(session, uid, now=t0)  # read once more after her first visit, then kept
    assert await _statements_during(session, lambda: users.touch(session, uid, now=t0 + timedelta(minutes=1))) == []
    # A change through any session of the process (a setting, a role) is seen at the next update.
    async with session_factory() as other:
        await users.set_locale(other, uid, "en")
    profile = await users.touch(session, uid, now=t0 + timedelta(minutes=2))
    assert profile.chosen_locale == "en"
    async with session_factory() as other:
        await users.set_blocked(other, uid, True, now=NOW)
    assert (await users.touch(session, uid, now=t0 + timedelta(minutes=3), wrote=False)).blocked_bot
    assert not (await users.touch(session, uid, now=t0 + timedelta(minutes=3))).blocked_bot
    # last_seen still moves every few minutes.
    await users.touch(session, uid, now=t0 + timedelta(hours=1))
    row = await session.get(User, uid, populate_existing=True)
    assert row is not None and row.last_seen == t0 + timedelta(hours=1)
    await session.commit()


async def test_a_speaker_not_in_memory_is_read_outside_the_update_session(session: AsyncSession) -> None:
    """Her row read (or made) in a statement of its own, with no transaction of the update's session
    (on PostgreSQL its BEGIN and COMMIT were two more round trips); the session only for a write."""
    uid = new_id()
    begun: list[object] = []
    event.listen(session.sync_session, "after_begin", lambda *_args: begun.append(1))
    first = await users.touch(session, uid, now=NOW)
    users.profiles(session).clear()
    again = await users.touch(session, uid, now=NOW + timedelta(minutes=1))
    assert first.is_new and not again.is_new and again.first_seen == NOW
    assert begun == []
    await users.touch(session, uid, now=NOW + timedelta(hours=1))  # last_seen to write: in the session
    assert begun == [1]
    row = await session.get(User, uid, populate_existing=True)
    assert row is not None and row.last_seen == NOW + timedelta(hours=1)
    await session.commit()


async def test_profile_cache_forgets_with_her(session: AsyncSession) -> None:
    uid = new_id()
    await users.touch(session, uid)
    await users.touch(session, uid)
    await users.forget(session, uid)  # bulk statements on the table: everyone is read again
    again = await users.touch(session, uid)
    assert again.is_new


async def test_role_change_reaches_the_cached_profile(session: AsyncSession, session_factory) -> None:
    admin, target = new_id(), new_id()
    await users.bootstrap_admins(session, [admin])
    await users.touch(session, target)
    assert (await users.touch(session, target)).role is None
    actor = await users.get_profile(session, admin)
    await session.commit()
    assert actor is not None
    async with session_factory() as other:
        await users.set_role(other, actor=actor, target_id=target, role=Role.CURATOR, now=NOW)
    assert (await users.touch(session, target)).role is Role.CURATOR
    async with session_factory() as other:  # the database is shared: no extra curator in others' pickers
        await users.set_role(other, actor=actor, target_id=target, role=None, now=NOW)
    assert (await users.touch(session, target)).role is None


async def test_get_profile_is_served_from_the_cache_and_sees_changes(session: AsyncSession, session_factory) -> None:
    uid = new_id()
    await users.touch(session, uid)
    await users.get_profile(session, uid)
    assert await _statements_during(session, lambda: users.get_profile(session, uid)) == []
    await session.commit()
    async with session_factory() as other:
        await users.set_discreet(other, uid, True)
    profile = await users.get_profile(session, uid)
    assert profile is not None and profile.discreet
    # A change waiting in this very session is what this session sees.
    row = await session.get(User, uid)
    assert row is not None
    row.locale = "en"
    profile = await users.get_profile(session, uid)
    assert profile is not None and profile.chosen_locale == "en"
    await session.rollback()
    profile = await users.get_profile(session, uid)
    assert profile is not None and profile.chosen_locale is None
    await session.commit()


async def test_no_profile_cache_with_several_instances(session: AsyncSession) -> None:
    """With REDIS_URL (several instances) the process keeps no copy: every update reads her row."""
    from db import cache

    uid = new_id()
    await users.touch(session, uid)
    await users.touch(session, uid)
    cache.configure(enabled=False)
    try:
        assert await _statements_during(session, lambda: users.touch(session, uid)) != []
        assert await _statements_during(session, lambda: users.get_profile(session, uid)) != []
        await session.commit()
    finally:
        cache.configure(enabled=True)
