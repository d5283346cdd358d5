"""Read-through caches of rarely changed tables (the regions, the support catalog), kept per engine.

Any change to a watched table made through a session of this process empties the cache: an ORM
flush that adds, changes or deletes one of its rows, or a bulk UPDATE/DELETE/INSERT statement on it;
once at the flush and again at the commit or rollback, so a read that raced the change is not kept
(``put`` takes the version seen before the read). A change made by another process is not seen:
like the dialog state cache, this is correct while one instance serves the bot. Several instances
must set ``REDIS_URL``: the application then turns these caches off (``configure``) and keeps dialog
state in Redis.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

ENABLED = True


def configure(*, enabled: bool) -> None:
    """In-process caches (this module's and the speaker's profile in ``bot.services.users``) on or off."""
    global ENABLED
    ENABLED = enabled
    for cache in _all:
        cache.clear()


class TableCache:
    """``models``: any change to their rows empties the cache. ``gone``: only a row of theirs deleted
    does (a deletion that the database carries on to a watched table, ``ON DELETE SET NULL``; a new
    row or a changed one there cannot change what the cache holds)."""

    def __init__(self, *models: type[Any], gone: tuple[type[Any], ...] = ()) -> None:
        self._models = models
        self._gone = gone
        self._tables = frozenset(m.__tablename__ for m in models)
        self._gone_tables = frozenset(m.__tablename__ for m in gone)
        self._stores: weakref.WeakKeyDictionary[Engine, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
        self.version = 0
        _all.append(self)

    def _store(self, session: AsyncSession) -> dict[Hashable, Any]:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        store = self._stores.get(engine)
        if store is None:
            store = self._stores[engine] = {}
        return store

    def get(self, session: AsyncSession, key: Hashable) -> Any:
        """The cached value, or None."""
        return self._store(session).get(key) if ENABLED else None

    def put(self, session: AsyncSession, key: Hashable, value: Any, version: int) -> None:
        if ENABLED and version == self.version:
            store = self._store(session)
            if len(store) > 10_000:
                store.clear()
            store[key] = value

    def clear(self) -> None:
        self.version += 1
        for store in list(self._stores.values()):
            store.clear()

    def _touched_by(self, session: Session) -> bool:
        return any(isinstance(obj, self._models) for obj in (*session.new, *session.dirty, *session.deleted)) or (
            bool(self._gone) and any(isinstance(obj, self._gone) for obj in session.deleted)
        )

    def _watches(self, table: str | None, *, delete: bool) -> bool:
        return table in self._tables or (delete and table in self._gone_tables)


_all: list[TableCache] = []


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    for cache in _all:
        if cache._touched_by(session):
            cache.clear()
            session.info.setdefault("caches_changed", set()).add(id(cache))


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    for cache in _all:
        if cache._watches(name, delete=state.is_delete):
            cache.clear()
            state.session.info.setdefault("caches_changed", set()).add(id(cache))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _settled(session: Session, *_args: Any) -> None:
    changed = session.info.pop("caches_changed", None)
    if changed:
        for cache in _all:
            if id(cache) in changed:
                cache.clear()
