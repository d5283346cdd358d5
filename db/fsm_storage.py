"""aiogram FSM storage in the application's database.

aiogram ships no SQL storage. This one writes every change with one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE``) on SQLite and PostgreSQL alike, so there is no
check-then-write race between two bot instances, and an interrupted dialog (aiogram_dialog keeps
its stacks here too) continues after a restart. The data column is encrypted: dialogs may hold
what a person typed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import parse
from db.models import FsmRecord
from db.types import Undecryptable

log = logging.getLogger(__name__)
KEY_MAX = 255  # FsmRecord.key is String(255)


class SqlStorage(BaseStorage):
    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._factory = session_factory
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # aiogram_dialog keeps several records per chat, told apart by "destiny".
        self._keys = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        values["updated_at"] = datetime.now(UTC)
        stmt = self._insert(FsmRecord).values(key=self._keys.build(key), user_id=key.user_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[FsmRecord.key], set_=values)
        async with self._factory() as session, session.begin():
            await session.execute(stmt)
            if None in values.values():
                # A record that holds nothing any more is removed rather than kept empty.
                await session.execute(
                    delete(FsmRecord).where(
                        FsmRecord.key == self._keys.build(key),
                        FsmRecord.state.is_(None),
                        FsmRecord.data.is_(None),
                    )
                )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(key, state=value)

    def _key(self, key: StorageKey) -> str | None:
        """The record's key, or None when it cannot name a record (an id out of 64-bit range, a NUL,
        a key longer than the column): such keys come from forged data, and nothing is stored there."""
        built = self._keys.build(key)
        ids = (key.chat_id, key.user_id, key.thread_id or 0)
        if len(built) > KEY_MAX or "\x00" in built or not all(parse.INT64_MIN <= i <= parse.INT64_MAX for i in ids):
            return None
        return built

    async def get_state(self, key: StorageKey) -> str | None:
        built = self._key(key)
        if built is None:
            return None
        async with self._factory() as session:
            return await session.scalar(select(FsmRecord.state).where(FsmRecord.key == built))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._upsert(key, data=dict(data) if data else None)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        built = self._key(key)
        if built is None:
            log.info("dialog state: a key that names no record was asked for; nothing there")
            return {}
        async with self._factory() as session:
            try:
                data = await session.scalar(select(FsmRecord.data).where(FsmRecord.key == built))
            except Undecryptable:
                # ENCRYPTION_KEY was replaced without keeping the old one: the dialog starts afresh
                # instead of failing for this person forever.
                log.warning("dialog state of one chat could not be decrypted; starting it afresh")
                return {}
        return dict(data) if data else {}

    async def forget_user(self, user_id: int) -> None:
        """Every record of her chats goes ("delete my data", "hide the chat")."""
        async with self._factory() as session, session.begin():
            await session.execute(delete(FsmRecord).where(FsmRecord.user_id == user_id))

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""


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
