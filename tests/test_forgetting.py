"""Forgetting: every column that may hold a Telegram id has a fate; the audit log lets exactly the
pseudonymisation through; pseudonyms are keyed, stable and never a Telegram id."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import BigInteger, select, text
from sqlalchemy.exc import DBAPIError

from bot.services import audit, discreet, forgetting, reminders, users
from db import types
from db.models import AuditEvent, Base, RecentMessage, Reminder, Role
from tests.conftest import TEST_KEY
from tests.factories import NOW, Ids

_ids = Ids(1_150_000_000, __name__)


def test_every_column_that_may_hold_a_person_has_a_fate() -> None:
    """A new table with a user or chat id fails here until PLAN says what becomes of it."""
    planned = set(forgetting.PLAN)
    columns = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, BigInteger) and not (column.primary_key and column.autoincrement is True)
    }
    # A BigInteger primary key that is a row counter (autoincrement) names nobody.
    counters = {
        (t.name, c.name)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, BigInteger) and c.primary_key and len(t.primary_key.columns) == 1 and c.name == "id"
    }
    assert columns - counters - planned == set()
    assert {key for key in planned if key[0] not in Base.metadata.tables} == set()


def test_pseudonyms_are_keyed_stable_and_never_a_telegram_id() -> None:
    uid = _ids.new()
    first = types.pseudonym(uid)
    assert first == types.pseudonym(uid) and first < 0 and first >= -(2**60)
    assert types.pseudonym(uid + 1) != first
    types.configure_pseudonyms("another key")
    try:
        assert types.pseudonym(uid) != first  # without the key, nobody can recompute it
    finally:
        types.configure_pseudonyms(TEST_KEY)


async def test_the_audit_log_lets_only_pseudonymisation_through(engine) -> None:
    uid = _ids.new()
    tag = "t15_" + uuid.uuid4().hex[:8]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO audit_log (at, actor_id, action, object_type, object_id) "
                f"VALUES (CURRENT_TIMESTAMP, {uid}, '{tag}', 'user', '{uid}')"
            )
        )
    alias = types.pseudonym(uid)
    refused = (
        f"UPDATE audit_log SET action = 'changed' WHERE action = '{tag}'",
        f"UPDATE audit_log SET actor_id = {uid + 1} WHERE action = '{tag}'",  # to another person
        f"UPDATE audit_log SET actor_id = {alias}, action = 'x' WHERE action = '{tag}'",
        f"UPDATE audit_log SET object_type = 'case' WHERE action = '{tag}'",
        f"UPDATE audit_log SET details = '{{}}' WHERE action = '{tag}'",
        f"DELETE FROM audit_log WHERE action = '{tag}'",
    )
    for statement in refused:
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE audit_log SET actor_id = {alias}, object_id = '{alias}' WHERE action = '{tag}'")
        )
    # Once a pseudonym, always that pseudonym.
    for statement in (
        f"UPDATE audit_log SET actor_id = {alias - 1} WHERE action = '{tag}'",
        f"UPDATE audit_log SET actor_id = {uid} WHERE action = '{tag}'",
        f"UPDATE audit_log SET object_id = '{uid}' WHERE action = '{tag}'",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_forget_applies_the_plan(session) -> None:
    woman, admin = await _ids.person(session, Role.WOMAN), await _ids.person(session, Role.ADMIN)
    await users.set_role(session, actor=admin, target_id=woman.user_id, role=Role.RELATIVE, now=NOW)
    audit.record(session, actor_id=woman.user_id, action="t15_seen", now=NOW)
    await reminders.add(
        session, kind="notice", recipient_id=woman.user_id, due_at=NOW + timedelta(hours=1), now=NOW, payload={"n": 1}
    )
    await reminders.add(
        session, kind="notice", recipient_id=admin.user_id, due_at=NOW, now=NOW, payload={"about": woman.user_id}
    )
    await session.commit()
    await discreet.note(session, [(woman.user_id, 7, NOW)])

    alias = await forgetting.forget(session, user_id=woman.user_id, now=NOW)

    session.expire_all()
    assert await users.get_profile(session, woman.user_id) is None
    events = (await session.scalars(select(AuditEvent).where(AuditEvent.actor_id == alias))).all()
    assert {e.action for e in events} == {"t15_seen", "data_deleted"}
    role_set = await session.scalar(
        select(AuditEvent).where(AuditEvent.actor_id == admin.user_id, AuditEvent.action == "role_set")
    )
    assert role_set is not None and role_set.object_id == str(alias)  # who she was, pseudonymised
    assert await session.scalar(select(Reminder.id).where(Reminder.recipient_id == woman.user_id)) is None
    mentioning = (await session.scalars(select(Reminder.payload).where(Reminder.recipient_id == admin.user_id))).all()
    assert {"about": woman.user_id} not in mentioning
    assert await session.scalar(select(RecentMessage.message_id).where(RecentMessage.chat_id == woman.user_id)) is None
    await session.commit()
