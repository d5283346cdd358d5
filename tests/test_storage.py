"""Dialog state in the database: survives a new storage object, upserts atomically, encrypted at rest."""

import asyncio
import itertools

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import types
from db.fsm_storage import SqlStorage

_ids = itertools.count(600_000_000)


class Form(StatesGroup):
    asking = State()


def key(uid: int, destiny: str = "default") -> StorageKey:
    return StorageKey(bot_id=1, chat_id=uid, user_id=uid, destiny=destiny)


async def test_state_and_data_survive_a_new_storage(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    uid = next(_ids)
    first = SqlStorage(engine, session_factory)
    await first.set_state(key(uid), Form.asking)
    await first.set_data(key(uid), {"question": "Можно ли прийти с ребёнком?", "n": 1})
    second = SqlStorage(engine, session_factory)  # as after a restart
    assert await second.get_state(key(uid)) == "Form:asking"
    assert await second.get_data(key(uid)) == {"question": "Можно ли прийти с ребёнком?", "n": 1}
    assert await second.get_data(key(uid, "aiogd:stack:")) == {}  # destinies are kept apart
    assert await second.update_data(key(uid), {"n": 2}) == {"question": "Можно ли прийти с ребёнком?", "n": 2}


async def test_empty_record_is_removed(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    await storage.set_data(key(uid), {"a": 1})
    await storage.set_data(key(uid), {})
    count = await session.scalar(text("SELECT count(*) FROM fsm_state WHERE user_id = :u"), {"u": uid})
    assert count == 0


async def test_concurrent_writers_never_collide(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    """Two instances writing the same new key at once: an upsert, not check-then-insert."""
    uid = next(_ids)
    storages = [SqlStorage(engine, session_factory) for _ in range(2)]
    await asyncio.gather(*(s.set_data(key(uid), {"writer": i}) for i in range(10) for s in storages))
    assert (await storages[0].get_data(key(uid)))["writer"] in range(10)


async def test_data_is_encrypted_at_rest(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    uid = next(_ids)
    await SqlStorage(engine, session_factory).set_data(key(uid), {"note": "муж пьёт"})
    raw = await session.scalar(text("SELECT data FROM fsm_state WHERE user_id = :u"), {"u": uid})
    assert raw and "муж" not in raw and raw.startswith("gAAAA")


def test_key_rotation_and_wrong_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    try:
        types.configure_encryption([old])
        token = types.encrypt("секрет")
        types.configure_encryption([new, old])  # the new key encrypts, the old one still reads
        assert types.decrypt(token) == "секрет"
        assert Fernet(new.encode()).decrypt(types.encrypt("x").encode()) == b"x"
        types.configure_encryption([new])
        with pytest.raises(types.Undecryptable):
            types.decrypt(token)
    finally:
        from tests.conftest import TEST_KEY

        types.configure_encryption([TEST_KEY])


async def test_state_under_a_lost_key_starts_afresh(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    from tests.conftest import TEST_KEY

    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    try:
        types.configure_encryption([Fernet.generate_key().decode()])
        await storage.set_data(key(uid), {"screen": "old"})
    finally:
        types.configure_encryption([TEST_KEY])
    assert await storage.get_data(key(uid)) == {}
    await storage.set_data(key(uid), {"screen": "new"})
    assert await storage.get_data(key(uid)) == {"screen": "new"}
