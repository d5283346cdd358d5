"""What tests call: people and groups, faults and delays, updates pushed by hand, inspection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from .constants import (
    SERVICE_KINDS,
)
from .core import FakeCore
from .group import FakeGroup
from .records import (
    ApiCall,
    ChatState,
    GroupState,
    MessageRecord,
    Params,
    TelegramError,
    _clean,
    _Delay,
    _Fault,
)
from .user import FakeUser

if TYPE_CHECKING:  # the whole server is built on this module: for annotations only
    from .server import FakeTelegram


class Control(FakeCore):
    """What tests call: people and groups, faults and delays, updates pushed by hand, inspection."""

    def _whole(self) -> FakeTelegram:
        """This server as the whole ``FakeTelegram`` (the only class ever built from these parts)."""
        return cast("FakeTelegram", self)

    # ------------------------------------------------------------- public helpers

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def register_method(self, name: str, handler: Callable[[Params], Any]) -> None:
        """Add/replace a Bot API method: ``handler(params) -> result`` (sync or async).

        Raise :class:`TelegramError` (or use :func:`bad_request`) for error responses.
        """
        self._methods[name.lower()] = (name, handler)

    def user(
        self,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        is_premium: bool | None = None,
    ) -> FakeUser:
        """Create a person with a private chat with the bot (chat id == user id)."""
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self.chats:
                user_id = next(self._user_ids)
        if user_id in self.chats or user_id == self.bot_id:
            raise ValueError(f"user id {user_id} is already taken")
        obj = _clean(
            {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
                "is_premium": is_premium,
            }
        )
        chat = ChatState(obj)
        self.chats[user_id] = chat
        person = FakeUser(self._whole(), chat)
        self.users[user_id] = person
        return person

    def supergroup(
        self,
        title: str = "Test group",
        *,
        forum: bool = True,
        chat_id: int | None = None,
        username: str | None = None,
    ) -> FakeGroup:
        """Create a supergroup (a forum with topics by default) where the bot is an administrator
        with ``can_manage_topics``; returns a :class:`~.group.FakeGroup`."""
        if chat_id is None:
            chat_id = next(self._group_ids)
            while chat_id in self.chats:
                chat_id = next(self._group_ids)
        if chat_id >= 0 or chat_id in self.chats:
            raise ValueError(f"group chat id {chat_id} is taken or not negative")
        state = GroupState(chat_id, title, forum=forum, username=username)
        self.chats[chat_id] = state
        group = FakeGroup(self._whole(), state)
        self.groups[chat_id] = group
        return group

    def _new_person(self, first_name: str, *, user_id: int | None = None, **extra: Any) -> dict[str, Any]:
        """A Telegram ``User`` object for someone without a private chat with the bot."""
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self.chats:
                user_id = next(self._user_ids)
        return _clean({"id": user_id, "is_bot": False, "first_name": first_name, **extra})

    def calls_of(self, method: str) -> list[ApiCall]:
        m = method.lower()
        return [c for c in self.calls if c.method.lower() == m]

    def fail(
        self,
        method: str | None,
        error_code: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (None = any) fail (``times=None``: forever)."""
        parameters: dict[str, Any] | None = None
        if error_code == 429:
            retry_after = 1 if retry_after is None else int(retry_after)
            description = description or f"Too Many Requests: retry after {retry_after}"
        if retry_after is not None:
            parameters = {"retry_after": int(retry_after)}
        err = TelegramError(error_code, description, parameters)
        self._faults.append(
            _Fault(method.lower() if method else None, err, times, None if chat_id is None else str(chat_id))
        )

    def delay(self, method: str | None, seconds: float, times: int | None = 1) -> None:
        """Make the next ``times`` calls of ``method`` hang for ``seconds`` before being processed."""
        self._delays.append(_Delay(method.lower() if method else None, float(seconds), times))

    def clear_faults(self) -> None:
        self._faults.clear()
        self._delays.clear()

    def rate_limit(self, per_chat_per_second: int | None = 1, global_per_second: int | None = 30) -> None:
        """Return 429 for sending methods above these rates (``None, None`` disables)."""
        self._rate = (per_chat_per_second, global_per_second)
        self._global_send_times.clear()
        for chat in self.chats.values():
            chat.send_times.clear()

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned when missing); returns its update_id."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        self.pushed[int(update["update_id"])] = update
        self._updates.append(update)
        self._update_signal.set()
        if self._poller is not None:
            self._poller.wake.set()
        return int(update["update_id"])

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    @property
    def webhook_url(self) -> str | None:
        return self._webhook["url"] if self._webhook else None

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is in flight."""
        return self._poller is not None

    def chat(self, chat_id: int) -> ChatState:
        return self.chats[chat_id]

    def sent_messages(self, chat_id: int | None = None) -> list[MessageRecord]:
        chats = [self.chats[chat_id]] if chat_id is not None else list(self.chats.values())
        return [
            m
            for c in chats
            for m in sorted(c.messages.values(), key=lambda r: r.message_id)
            if m.from_bot and m.kind not in SERVICE_KINDS
        ]

    def assert_no_internal_errors(self) -> None:
        if self.internal_errors:
            raise AssertionError("fake Telegram server had internal errors:\n" + "\n".join(self.internal_errors))
