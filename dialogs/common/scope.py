"""What the middlewares put into an update's data, typed: ``scope(manager).app`` instead of
``manager.middleware_data["app"]``.

Who puts what (``bot/app.py`` registers them): the dispatcher's workflow data (``app``, ``trail``,
``relay``, ``broadcaster``), aiogram (``bot``, ``fsm_storage``, ``event_from_user``),
``bot.middlewares.DbSession`` (``session``, ``after_update``), ``WhoIsSpeaking`` (``profile``) and the
I18n middleware (``i18n``). Screens opened in the background (aiogram_dialog's ``BgManager``) pass
through the same middlewares, so they have all of it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import User
from aiogram.utils.i18n import I18n
from aiogram_dialog import DialogManager
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services.users import Profile

if TYPE_CHECKING:  # the Telegram-side workers: their types only, dialogs do not build on them
    from bot.jobs.broadcaster import Broadcaster
    from bot.jobs.relaying import Relay
    from bot.jobs.trail import MessageTrail


class Scope:
    """A typed view over one update's middleware data (nothing is copied)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    @property
    def app(self) -> AppContext:
        return self._data["app"]

    @property
    def session(self) -> AsyncSession:
        """The update's session (``DbSession``). Prefer ``transaction()``, which ends what it began."""
        return self._data["session"]

    @property
    def profile(self) -> Profile | None:
        """The speaker as read at the start of the update; ``None`` for a bot or an update without a user."""
        return self._data.get("profile")

    @property
    def speaker(self) -> Profile:
        """``profile`` where a person is sure to be speaking (every update a dialog handles)."""
        profile = self.profile
        assert profile is not None, "an update from a person has a profile"
        return profile

    @property
    def i18n(self) -> I18n:
        return self._data["i18n"]

    @property
    def bot(self) -> Bot:
        return self._data["bot"]

    @property
    def fsm_storage(self) -> BaseStorage:
        return self._data["fsm_storage"]

    @property
    def relay(self) -> Relay:
        return self._data["relay"]

    @property
    def trail(self) -> MessageTrail:
        return self._data["trail"]

    @property
    def broadcaster(self) -> Broadcaster | None:
        """Absent in a bot built without the broadcast worker (some tests)."""
        return self._data.get("broadcaster")

    @property
    def after_update(self) -> list[Callable[[], Awaitable[None]]]:
        """Jobs run once the update is done, its session closed and the chat's lock still held."""
        return self._data["after_update"]

    @property
    def user(self) -> User | None:
        return self._data.get("event_from_user")

    async def bot_username(self) -> str:
        """For t.me links (aiogram caches ``getMe``)."""
        me = await self.bot.me()
        assert me.username is not None, "a bot always has a username"
        return me.username

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The update's session for one piece of work (a getter's reads, a service's decision).

        The service that decides commits; at the end the transaction is ended all the same (what
        was not committed is dropped, as when each piece had a session of its own), the connection
        goes back to the pool before the screen is sent to Telegram (SQLite has one: the message
        trail and the workers need it too), and the rows it loaded are forgotten — the session keeps
        them after a commit (``expire_on_commit=False``), so the next read sees the database as it
        is now, not as this piece left it."""
        session = self.session
        try:
            yield session
        finally:
            await session.close()  # the session stays usable: the next piece begins a new transaction


def scope(manager: DialogManager) -> Scope:
    return Scope(manager.middleware_data)
