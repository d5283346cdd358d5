"""Dialog state in the database: survives a new storage object, upserts atomically, encrypted at rest;
the process's cache stays coherent with the database and saves statements; writes are made behind,
in batches, and ``flush`` (which the inbox awaits before it marks an update done) puts them there."""

import asyncio
import itertools

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import users
from db import types
from db.fsm_storage import SqlStorage, forget_dialogs
from db.models import FsmRecord

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
    await first.close()  # what the Dispatcher does at shutdown: what waits is written
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
    await storage.flush()
    await storage.set_data(key(uid), {})
    await storage.flush()
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
    storage = SqlStorage(engine, session_factory)
    await storage.set_data(key(uid), {"note": "муж пьёт"})
    await storage.flush()
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
        await storage.flush()
    finally:
        types.configure_encryption([TEST_KEY])
    storage = SqlStorage(engine, session_factory)  # a key is replaced with a restart
    assert await storage.get_data(key(uid)) == {}
    await storage.set_data(key(uid), {"screen": "new"})
    assert await storage.get_data(key(uid)) == {"screen": "new"}
    await storage.flush()
    assert await SqlStorage(engine, session_factory).get_data(key(uid)) == {"screen": "new"}


class Counter:
    """Counts the statements the storage sends to the database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def __enter__(self) -> "Counter":
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:
        if "fsm_state" in statement:
            self.statements.append(statement.split()[0].upper())


async def _db_row(session: AsyncSession, uid: int, destiny: str = "default") -> tuple | None:
    session.expire_all()
    row = (
        await session.execute(
            select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == f"fsm:1:{uid}:{uid}:{destiny}")
        )
    ).first()
    await session.commit()
    return tuple(row) if row else None


async def test_cache_writes_through_and_reads_once(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    with Counter(engine) as seen:
        await storage.set_state(key(uid), Form.asking)
        await storage.set_data(key(uid), {"n": 1})
        assert seen.statements == []  # written behind, not while the update waits
        await storage.flush()
        # Both changes of the record went in one statement, and a restart (a new storage) finds them.
        assert seen.statements == ["INSERT"]
        assert await _db_row(session, uid) == ("Form:asking", {"n": 1})
        seen.statements.clear()
        for _ in range(3):
            assert await storage.get_state(key(uid)) == "Form:asking"
            assert await storage.get_data(key(uid)) == {"n": 1}
        await storage.set_data(key(uid), {"n": 1})  # nothing changed: nothing written
        await storage.set_state(key(uid), "Form:asking")
        assert seen.statements == []
        await storage.set_data(key(uid), {"n": 2})
        await storage.flush()
        assert seen.statements == ["INSERT"]  # one upsert
    assert await _db_row(session, uid) == ("Form:asking", {"n": 2})
    assert await SqlStorage(engine, session_factory).get_data(key(uid)) == {"n": 2}


async def test_cache_hands_out_copies(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    """aiogram_dialog changes the dicts it read in place; the cache must not change with them, or the
    next save would look like no change and never reach the database."""
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    await storage.set_data(key(uid), {"dialog_data": {"page": 1}})
    data = await storage.get_data(key(uid))
    data["dialog_data"]["page"] = 2
    assert await storage.get_data(key(uid)) == {"dialog_data": {"page": 1}}
    await storage.set_data(key(uid), data)
    await storage.flush()
    assert await SqlStorage(engine, session_factory).get_data(key(uid)) == {"dialog_data": {"page": 2}}


async def test_what_is_written_behind_is_what_was_saved_not_what_the_dict_became(
    engine: AsyncEngine, session_factory: async_sessionmaker
) -> None:
    """aiogram_dialog saves its stack, then pushes a new intent onto the same dict before the batch
    goes: the database must get the stack as saved (a kill -9 then finds a coherent stack)."""
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    stack = {"intents": ["a"]}
    await storage.set_data(key(uid, "aiogd:stack:"), stack)
    stack["intents"].append("b")  # in memory only, never saved
    await storage.flush()
    assert await SqlStorage(engine, session_factory).get_data(key(uid, "aiogd:stack:")) == {"intents": ["a"]}


async def test_clearing_is_one_delete(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    await storage.set_state(key(uid), Form.asking)
    await storage.set_data(key(uid), {"a": 1})
    await storage.flush()
    with Counter(engine) as seen:
        await storage.set_data(key(uid), {})
        await storage.flush()
        assert seen.statements == ["INSERT"]  # the state stays
        await storage.set_state(key(uid), None)
        await storage.flush()
        assert seen.statements == ["INSERT", "DELETE"]  # left holding nothing: deleted, no upsert
    assert await _db_row(session, uid) is None
    assert await storage.get_state(key(uid)) is None
    assert await SqlStorage(engine, session_factory).get_data(key(uid)) == {}


async def test_a_restart_reads_the_database(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    """What another storage (a previous run of the process) wrote is read from the database."""
    uid = next(_ids)
    before = SqlStorage(engine, session_factory)
    await before.set_data(key(uid, "aiogd:stack:"), {"intents": ["a"]})
    await before.flush()
    after = SqlStorage(engine, session_factory)
    assert await after.get_data(key(uid, "aiogd:stack:")) == {"intents": ["a"]}
    await before.set_data(key(uid, "aiogd:stack:"), {"intents": ["a", "b"]})
    await before.flush()
    after.forget_cached()  # as after a restart
    assert await after.get_data(key(uid, "aiogd:stack:")) == {"intents": ["a", "b"]}


async def test_a_write_the_database_missed_waits_and_is_written_when_it_is_back(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    """The database away: her screen goes on from the cache, ``flush`` says so (the inbox then does
    not mark the update done), and once it is back the change is written, a later one over it."""
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    await storage.set_data(key(uid), {"n": 1})
    await storage.flush()

    def broken() -> None:
        raise ConnectionError("database away")

    class Away:
        connect = staticmethod(broken)

    writer = storage._writer
    storage._writer = Away()  # type: ignore[assignment]
    await storage.set_data(key(uid), {"n": 2})
    with pytest.raises(ConnectionError):
        await storage.flush()
    assert await storage.get_data(key(uid)) == {"n": 2}
    await storage.set_state(key(uid), Form.asking)  # made while the first change waits
    storage._writer = writer
    await storage.flush()
    assert await _db_row(session, uid) == ("Form:asking", {"n": 2})


async def test_a_batch_the_database_refuses_is_dropped_and_read_afresh(
    engine: AsyncEngine, session_factory: async_sessionmaker
) -> None:
    """Not an outage (a bug, a value the column refuses): logged, not retried forever, and the cache
    no longer claims what the database does not hold."""
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory)
    await storage.set_data(key(uid), {"n": 1})
    await storage.flush()

    async def refuse(_batch: object) -> None:
        raise ValueError("refused")

    storage._write_batch = refuse  # type: ignore[method-assign,assignment]
    await storage.set_data(key(uid), {"n": 2})
    await storage.flush()  # does not raise: the inbox may mark the update done
    del storage._write_batch
    assert await storage.get_data(key(uid)) == {"n": 1}  # what the database holds


async def test_many_changes_are_written_in_few_statements(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    """aiogram_dialog's records, as twenty people tapping at once change them."""
    uids = [next(_ids) for _ in range(20)]
    storage = SqlStorage(engine, session_factory)
    for uid in uids:
        await storage.set_data(key(uid, "aiogd:context:"), {"n": uid})
    await storage.flush()
    with Counter(engine) as seen:
        for uid in uids[:10]:
            await storage.set_data(key(uid, "aiogd:context:"), {})  # these go
        for uid in uids[10:]:
            await storage.set_data(key(uid, "aiogd:context:"), {"n": -uid})
        await storage.flush()
    assert sorted(seen.statements) == ["DELETE", "INSERT"]  # one of each for twenty records
    assert await _db_row(session, uids[0], "aiogd:context:") is None
    assert await _db_row(session, uids[-1], "aiogd:context:") == (None, {"n": -uids[-1]})


async def test_forgetting_removes_her_state_everywhere(
    engine: AsyncEngine, session_factory: async_sessionmaker, session: AsyncSession
) -> None:
    uid, other = next(_ids), next(_ids)
    storage = SqlStorage(engine, session_factory)
    for who in (uid, other):
        await storage.set_state(key(who), Form.asking)
        await storage.set_data(key(who, "aiogd:stack:"), {"intents": ["x"]})
    # "Delete my data": the service deletes her rows, then the dialog state goes after the update.
    await users.forget(session, uid)
    await forget_dialogs(storage, uid)
    await storage.flush()  # nothing of hers was left waiting to be written back
    assert await storage.get_state(key(uid)) is None
    assert await storage.get_data(key(uid, "aiogd:stack:")) == {}
    count = await session.scalar(text("SELECT count(*) FROM fsm_state WHERE user_id = :u"), {"u": uid})
    await session.commit()
    assert count == 0
    assert await storage.get_state(key(other)) == "Form:asking"  # nobody else's
    assert await SqlStorage(engine, session_factory).get_data(key(other, "aiogd:stack:")) == {"intents": ["x"]}


async def test_the_cache_is_bounded(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    uid = next(_ids)
    storage = SqlStorage(engine, session_factory, cache_keys=2)
    for n in range(4):
        await storage.set_data(key(uid, f"d{n}"), {"n": n})
    assert len(storage._cache) == 4  # none is dropped while it waits to be written: only here is it
    assert await storage.get_data(key(uid, "d0")) == {"n": 0}
    await storage.flush()
    await storage.set_data(key(uid, "d4"), {"n": 4})
    await storage.flush()
    assert len(storage._cache) == 2  # written: the bound holds again
    for n in range(5):  # the ones dropped from memory are read back from the database
        assert await storage.get_data(key(uid, f"d{n}")) == {"n": n}


async def test_one_read_answers_every_record_of_hers(engine: AsyncEngine, session_factory: async_sessionmaker) -> None:
    """Her records (aiogram's own, aiogram_dialog's stack and contexts) come in one read, and a record
    she does not have costs no statement: a person new to the process is read once, not once a key."""
    uid, other, newcomer = next(_ids), next(_ids), next(_ids)
    before = SqlStorage(engine, session_factory)
    await before.set_state(key(uid), Form.asking)
    await before.set_data(key(uid, "aiogd:stack:"), {"intents": ["a"]})
    await before.set_data(key(other), {"n": 1})
    await before.flush()
    storage = SqlStorage(engine, session_factory)
    with Counter(engine) as seen:
        assert await storage.get_state(key(uid)) == "Form:asking"
        assert await storage.get_data(key(uid, "aiogd:stack:")) == {"intents": ["a"]}
        assert await storage.get_data(key(uid, "aiogd:context:x")) == {}
        assert await storage.get_state(key(uid, "aiogd:context:x")) is None
        assert seen.statements == ["SELECT"]
        seen.statements.clear()
        assert await storage.get_state(key(newcomer)) is None
        assert await storage.get_data(key(newcomer, "aiogd:stack:")) == {}
        assert seen.statements == ["SELECT"]
    assert await storage.get_data(key(other)) == {"n": 1}  # nobody else's came with hers


async def test_a_person_with_many_records_is_read_one_by_one(
    engine: AsyncEngine, session_factory: async_sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``USER_RECORDS`` her read is cut short: what it brought is kept, the rest is read key by
    key, and a record missing from a cut read is never taken for one she does not have."""
    import db.fsm_storage

    monkeypatch.setattr(db.fsm_storage, "USER_RECORDS", 2)
    uid = next(_ids)
    before = SqlStorage(engine, session_factory)
    for n in range(5):
        await before.set_data(key(uid, f"d{n}"), {"n": n})
    await before.flush()
    storage = SqlStorage(engine, session_factory)
    for n in range(5):
        assert await storage.get_data(key(uid, f"d{n}")) == {"n": n}
    assert await storage.get_data(key(uid, "none")) == {}
    assert uid not in storage._whole
