"""aiogram FSM storage in the application's database.

aiogram ships no SQL storage. This one writes every change with one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE``) on SQLite and PostgreSQL alike, so there is no
check-then-write race between two bot instances, and an interrupted dialog (aiogram_dialog keeps
its stacks here too) continues after a restart. The data column is encrypted: dialogs may hold
what a person typed.

Every read and write goes through a cache in the process: a person's records are read from the
database once, all together (one statement, on a connection of its own), a write that changes
nothing is not made, and a record left holding nothing is deleted. Writes are
made **behind** the update, in batches (one statement for all the records changed meanwhile, by a
task of the storage's own), and the durable inbox waits for them (``flush``) before it marks an
update done: a crash loses no dialog state that a finished update made, and an update whose state
was not written is handled again. The cache is only correct while **one instance** serves a chat.
Several instances behind one bot must use the Redis storage (``REDIS_URL``), which keeps no copy in
the process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import upsert
from db.engine import one_statement_engine
from db.errors import database_unreachable
from db.models import FsmRecord
from db.types import Undecryptable

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # between two tries to write what waits while the database is away
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
USER_RECORDS = 64  # read together for one person at most; one with more has hers read one by one


@dataclass(slots=True)
class _Record:
    state: str | None
    data: str | None  # the data as JSON text: compared to tell a change, decoded afresh on every read
    user_id: int | None


@dataclass(slots=True)
class _Pending:
    """What is still to be written for one record: the columns written (UNKNOWN: not touched), the
    data as JSON text (never the dict it came as: aiogram_dialog goes on changing that one in place,
    and the batch must write what was saved, not what the dict became). Both None: the record goes."""

    user_id: int | None
    state: Any = UNKNOWN
    data: Any = UNKNOWN

    def onto(self, record: _Record | _Pending) -> None:
        """The columns this change touches, over what ``record`` holds."""
        if self.state is not UNKNOWN:
            record.state = self.state
        if self.data is not UNKNOWN:
            record.data = self.data

    @property
    def deletes(self) -> bool:
        return self.state is None and self.data is None


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
        self._engine = engine
        # A batch is written on a connection of its own (no ORM session: the upsert is the most
        # frequent statement of all, a session's bookkeeping cost more than the statement).
        self._writer = one_statement_engine(engine)
        self._reader = self._writer  # reads too: one statement each, no session, no transaction
        self._upserts = _Upserts(engine)
        self._pending: dict[str, _Pending] = {}  # written to the cache, not yet to the database
        self._writing: dict[str, _Pending] = {}  # the batch on its way there
        self._flushing = asyncio.Lock()  # one batch at a time; forget_user waits for it too
        self._flusher: asyncio.Task[None] | None = None
        # aiogram_dialog keeps several records per chat, told apart by "destiny".
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        # Write-through cache: what this process last read or wrote for a key, the database stays
        # the truth (a restart reads it again). Correct only while one instance serves a chat.
        self._cache: OrderedDict[str, _Record] = OrderedDict()
        self._cache_keys = cache_keys
        self._epoch = 0  # moves on every forget, so a read that raced it does not bring her state back
        # The people all of whose records are in the cache (read together): a key of theirs that is not
        # there has no record. One of theirs leaving the cache takes them off.
        self._whole: set[int | None] = set()

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
            # The least recently used goes, unless it waits to be written: the cache is then the
            # only place that holds it, and a read from the database could miss it.
            for candidate, record in self._cache.items():
                if candidate not in self._pending and candidate not in self._writing:
                    self._whole.discard(record.user_id)
                    del self._cache[candidate]
                    break
            else:
                break  # every record waits to be written; the bound holds again once they are

    async def _record(self, built: str, user_id: int | None) -> _Record:
        """The record from the cache, or read from the database (both columns) with every other
        record of hers: a chat has several (aiogram's own and aiogram_dialog's stack and contexts),
        and one read then answers them all, the records she does not have included."""
        record = self._cache.get(built)
        if record is not None and record.state is not UNKNOWN and record.data is not UNKNOWN:
            self._cache.move_to_end(built)
            return record
        if record is None and user_id is not None and user_id in self._whole:
            # Every record of hers in the database is in the cache, and this one is not: it was never written.
            fresh = _Record(None, None, user_id)
            self._remember(built, fresh)
            return fresh
        epoch = self._epoch
        rows: list[tuple[str, str | None, Any]] | None = None
        if user_id is not None:
            try:
                async with self._reader.connect() as conn:
                    found = (await conn.execute(_BY_USER, {"user_id": user_id, "most": USER_RECORDS + 1})).all()
                rows = [(row.key, row.state, row.data) for row in found]
            except Undecryptable:
                rows = None  # one of her records cannot be read: each is read alone below
        whole = rows is not None and len(rows) <= USER_RECORDS
        if rows is None or not whole:
            rows = [*(rows or []), (built, *await self._read_one(built))]
        elif built not in {key for key, _, _ in rows}:
            rows.append((built, None, None))  # she has records, not this one
        if whole and epoch == self._epoch:
            self._whole.add(user_id)  # before her records go in: one pushed out of the cache takes it back
        asked: _Record | None = None
        for key, state, data in rows:
            kept = self._settle(key, _Record(state, _dump(data) if data else None, user_id), epoch)
            if key == built:
                asked = kept
        assert asked is not None
        return asked

    async def _read_one(self, built: str) -> tuple[str | None, Any]:
        async with self._reader.connect() as conn:
            try:
                row = (await conn.execute(_BY_KEY, {"key": built})).first()
                return (row.state, row.data) if row is not None else (None, None)
            except Undecryptable:
                # ENCRYPTION_KEY was replaced without keeping the old one: the dialog starts afresh
                # instead of failing for this person forever.
                log.warning("dialog state of one chat could not be decrypted; starting it afresh")
                return await conn.scalar(select(_TABLE.c.state).where(_TABLE.c.key == built)), None

    def _settle(self, built: str, fresh: _Record, epoch: int) -> _Record:
        """A record as read, under what this process wrote since (which wins); kept unless a forget
        came in between."""
        for waiting in (self._writing.get(built), self._pending.get(built)):
            if waiting is not None:  # written here and maybe not yet there (after forget_cached)
                waiting.onto(fresh)
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

    async def _write(self, key: StorageKey, built: str, *, state: Any = UNKNOWN, data: Any = UNKNOWN) -> None:
        """Changes one column (``data`` as JSON text) when it differs from what the record holds: in
        the cache now, in the database with the next batch (an upsert, or a delete when the record is
        left holding nothing)."""
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
        if new.state is None and new.data is None:
            change = _Pending(key.user_id, None, None)
        else:
            change = _Pending(key.user_id, state, data)
        pending = self._pending.get(built)
        if pending is None:
            self._pending[built] = change
        else:
            change.onto(pending)
        self._remember(built, new)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_behind(), name="dialog-state")

    async def flush(self) -> None:
        """Writes every change made so far, and returns once they are in the database. Raises only
        when the database cannot be reached (the changes then wait for the next try); a batch the
        database refuses otherwise is logged and dropped, its records read afresh next time."""
        async with self._flushing:  # a batch on its way is waited for; then what waits goes, once
            # (not until nothing waits: under load that never comes, and the inbox would wait forever)
            if self._pending:
                batch, self._pending = self._pending, {}
                self._writing = batch
                try:
                    await self._write_batch(batch)
                except Exception as exc:
                    if database_unreachable(exc):
                        for built, change in batch.items():  # back in line, under what came since
                            later = self._pending.get(built)
                            if later is not None:
                                later.onto(change)
                            self._pending[built] = change
                        raise
                    log.error("dialog state: %d record(s) not written: %s", len(batch), type(exc).__name__)
                    for built, change in batch.items():
                        if built not in self._pending:
                            self._cache.pop(built, None)
                            self._whole.discard(change.user_id)
                finally:
                    self._writing = {}

    async def _flush_behind(self) -> None:
        while self._pending:
            try:
                await self.flush()
            except Exception as exc:
                log.warning(
                    "dialog state: the database is away, %d record(s) wait: %s", len(self._pending), type(exc).__name__
                )
                await asyncio.sleep(RETRY_SECONDS)

    async def _write_batch(self, batch: Mapping[str, _Pending]) -> None:
        """One statement for the records that go, one for each kind of upsert (state, data, both)."""
        now = datetime.now(UTC)
        gone: list[dict[str, Any]] = []
        upserts: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
        for built, change in batch.items():
            if change.deletes:
                gone.append({"key": built})
                continue
            params: dict[str, Any] = {"key": built, "user_id": change.user_id, "updated_at": now}
            if change.state is not UNKNOWN:
                params["state"] = change.state
            if change.data is not UNKNOWN:
                params["data"] = None if change.data is None else json.loads(change.data)
            upserts.setdefault((change.state is not UNKNOWN, change.data is not UNKNOWN), []).append(params)
        async with self._writer.connect() as conn:
            if gone:
                await conn.execute(_DELETE, gone)
            for (state, data), rows in upserts.items():
                await conn.execute(self._upserts.of(state, data), rows)
            await conn.commit()

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
        await self._write(key, built, data=_dump(dict(data)) if data else None)

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
        async with self._flushing:  # a batch being written cannot bring a record of hers back
            for built in [k for k, p in self._pending.items() if p.user_id == user_id]:
                del self._pending[built]
            for built in [k for k, r in self._cache.items() if r.user_id == user_id]:
                del self._cache[built]
            self._whole.discard(user_id)
            async with self._factory() as session, session.begin():
                await session.execute(delete(FsmRecord).where(FsmRecord.user_id == user_id))

    def forget_cached(self) -> None:
        """Drops what this process remembers (the database keeps it); for tests and for an operator
        who changed the table by hand."""
        self._epoch += 1
        self._cache.clear()
        self._whole.clear()

    async def close(self) -> None:
        """Writes what waits (the Dispatcher calls this at shutdown, after the last update). The
        engine belongs to the application, which disposes of it."""
        try:
            await self.flush()
        except Exception as exc:
            log.warning(
                "dialog state: %d record(s) not written at shutdown: %s", len(self._pending), type(exc).__name__
            )
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)


_TABLE = cast(Table, FsmRecord.__table__)
_DELETE = delete(_TABLE).where(_TABLE.c.key == bindparam("key"))
_BY_KEY = select(_TABLE.c.state, _TABLE.c.data).where(_TABLE.c.key == bindparam("key"))
_BY_USER = (
    select(_TABLE.c.key, _TABLE.c.state, _TABLE.c.data)
    .where(_TABLE.c.user_id == bindparam("user_id"))
    .limit(bindparam("most"))
)


class _Upserts:
    """The three upserts (the state, the data, or both), each built once: a statement built anew on
    every write costs its construction and its cache key, more than running it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._built: dict[tuple[bool, bool], Any] = {}

    def of(self, state: bool, data: bool) -> Any:
        stmt = self._built.get((state, data))
        if stmt is None:
            columns = ["updated_at", *(["state"] if state else []), *(["data"] if data else [])]
            insert = upsert.insert(self._engine, _TABLE)
            stmt = insert.values({name: bindparam(name) for name in ["key", "user_id", *columns]})
            stmt = stmt.on_conflict_do_update(
                index_elements=[_TABLE.c.key], set_={name: stmt.excluded[name] for name in columns}
            )
            self._built[(state, data)] = stmt
        return stmt


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
