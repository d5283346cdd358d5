"""aiogram FSM storage in the application's database.

aiogram ships no SQL storage. This one writes every change with one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE``) on SQLite and PostgreSQL alike, so there is no
check-then-write race between two bot instances, and an interrupted dialog (aiogram_dialog keeps
its stacks here too) continues after a restart. The data column is encrypted: dialogs may hold
what a person typed.

Every read and write goes through a cache in the process (write-through): a record is read from the
database once, a write that changes nothing is not made, and a record left holding nothing is
deleted with one statement. The database stays the truth, so a restart loses nothing; but the cache
is only correct while **one instance** serves a chat. Several instances behind one bot must use the
Redis storage (``REDIS_URL``), which keeps no copy in the process.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import upsert
from db.engine import one_statement_sessions
from db.models import FsmRecord
from db.types import Undecryptable

log = logging.getLogger(__name__)
KEY_MAX = 255  # FsmRecord.key is String(255)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the ids a BigInteger column holds


class _Unknown:
    """A column of a cached record that this process has not read (it wrote only the other one)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
# aiogram_dialog's records (its stacks and contexts) hold data only, never a state: clearing one
# needs no read to learn whether a state would be left behind.
_DIALOG_DESTINY = "aiogd:"
CACHE_KEYS = 20_000  # records kept in memory (a chat has a few); the least recently used go first


@dataclass(slots=True)
class _Record:
    state: str | None
    data: str | None  # the data as JSON text: compared to tell a change, decoded afresh on every read
    user_id: int | None


class SqlStorage(BaseStorage):
    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        *,
        cache_keys: int = CACHE_KEYS,
    ) -> None:
        self._factory = session_factory
        self._writes = one_statement_sessions(session_factory)  # each write is one statement
        self._engine = engine
        # aiogram_dialog keeps several records per chat, told apart by "destiny".
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        # Write-through cache: what this process last read or wrote for a key, the database stays
        # the truth (a restart reads it again). Correct only while one instance serves a chat.
        self._cache: OrderedDict[str, _Record] = OrderedDict()
        self._cache_keys = cache_keys
        self._epoch = 0  # moves on every forget, so a read that raced it does not bring her state back

    def _key(self, key: StorageKey) -> str | None:
        """The record's key, or None when it cannot name a record (an id out of 64-bit range, a NUL,
        a key longer than the column): such keys come from forged data, and nothing is stored there."""
        built = self._keys.build(key)
        ids = (key.chat_id, key.user_id, key.thread_id or 0)
        if len(built) > KEY_MAX or "\x00" in built or not all(INT64_MIN <= i <= INT64_MAX for i in ids):
            return None
        return built

    def _remember(self, built: str, record: _Record) -> None:
        self._cache[built] = record
        self._cache.move_to_end(built)
        while len(self._cache) > self._cache_keys:
            self._cache.popitem(last=False)

    async def _record(self, built: str, user_id: int | None) -> _Record:
        """The record from the cache, or read once from the database (both columns)."""
        record = self._cache.get(built)
        if record is not None and record.state is not UNKNOWN and record.data is not UNKNOWN:
            self._cache.move_to_end(built)
            return record
        epoch = self._epoch
        async with self._factory() as session:
            try:
                row = (
                    await session.execute(select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == built))
                ).first()
                state, data = (row.state, row.data) if row is not None else (None, None)
            except Undecryptable:
                # ENCRYPTION_KEY was replaced without keeping the old one: the dialog starts afresh
                # instead of failing for this person forever.
                log.warning("dialog state of one chat could not be decrypted; starting it afresh")
                state, data = await session.scalar(select(FsmRecord.state).where(FsmRecord.key == built)), None
        fresh = _Record(state, _dump(data) if data else None, user_id)
        current = self._cache.get(built)
        if current is not None:
            # Written while we read: what was written wins, the read fills only what is still unknown.
            if current.state is UNKNOWN:
                current.state = fresh.state
            if current.data is UNKNOWN:
                current.data = fresh.data
            return current
        if epoch == self._epoch:
            self._remember(built, fresh)
        return fresh

    async def _write(
        self, key: StorageKey, built: str, *, state: Any = UNKNOWN, data: Any = UNKNOWN, value: Any = None
    ) -> None:
        """Changes one column (``data`` as JSON text, ``value`` the same as a dict); writes only when
        it differs from what the record holds: one upsert, or one delete when the record is left
        holding nothing."""
        record = self._cache.get(built)
        dialog = (key.destiny or "").startswith(_DIALOG_DESTINY)
        if dialog:
            state = None  # aiogram_dialog keeps only data there: the state is known to be empty
        if (
            not dialog
            and (state is None or data is None)
            and (record is None or UNKNOWN in (record.state, record.data))
        ):
            # Clearing a column: whether the record then holds nothing depends on the other one.
            record = await self._record(built, key.user_id)
        new = _Record(
            state if state is not UNKNOWN else (record.state if record else UNKNOWN),
            data if data is not UNKNOWN else (record.data if record else UNKNOWN),
            key.user_id,
        )
        if record is not None and new.state == record.state and new.data == record.data:
            self._cache.move_to_end(built)
            return
        self._remember(built, new)
        try:
            async with self._writes() as session, session.begin():
                if new.state is None and new.data is None:
                    await session.execute(delete(FsmRecord).where(FsmRecord.key == built))
                else:
                    values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
                    if state is not UNKNOWN:
                        values["state"] = state
                    if data is not UNKNOWN:
                        values["data"] = value
                    stmt = upsert.insert(self._engine, FsmRecord).values(key=built, user_id=key.user_id, **values)
                    await session.execute(stmt.on_conflict_do_update(index_elements=[FsmRecord.key], set_=values))
        except BaseException:
            # The database may not hold what the cache says: the next read asks it again.
            self._cache.pop(built, None)
            raise

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        built = self._key(key)
        if built is None:
            return
        await self._write(key, built, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        built = self._key(key)
        if built is None:
            return None
        return (await self._record(built, key.user_id)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        built = self._key(key)
        if built is None:
            return
        value = dict(data) if data else None
        await self._write(key, built, data=_dump(value), value=value)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        built = self._key(key)
        if built is None:
            log.info("dialog state: a key that names no record was asked for; nothing there")
            return {}
        record = await self._record(built, key.user_id)
        return json.loads(record.data) if record.data else {}

    async def forget_user(self, user_id: int) -> None:
        """Every record of her chats goes ("delete my data", "hide the chat"), here and in the database."""
        self._epoch += 1
        for built in [k for k, r in self._cache.items() if r.user_id == user_id]:
            del self._cache[built]
        async with self._factory() as session, session.begin():
            await session.execute(delete(FsmRecord).where(FsmRecord.user_id == user_id))

    def forget_cached(self) -> None:
        """Drops what this process remembers (the database keeps it); for tests and for an operator
        who changed the table by hand."""
        self._epoch += 1
        self._cache.clear()

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""


def _dump(data: Any) -> str | None:
    return None if data is None else json.dumps(data, ensure_ascii=False, separators=(",", ":"))


async def forget_dialogs(storage: BaseStorage, user_id: int) -> None:
    """Removes the dialog state (aiogram FSM and aiogram_dialog stacks) of one person's chats, in the
    database or in Redis. Call it after the update has finished, or aiogram_dialog saves it back."""
    if isinstance(storage, SqlStorage):
        await storage.forget_user(user_id)
        return
    redis = getattr(storage, "redis", None)
    if redis is None:
        return
    keys = [key async for key in redis.scan_iter(match=f"fsm:*:{user_id}:{user_id}:*")]
    keys += [key async for key in redis.scan_iter(match=f"fsm:*:{user_id}:{user_id}")]
    if keys:
        await redis.delete(*keys)
