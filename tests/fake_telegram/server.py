"""A fake Telegram Bot API server speaking the real HTTP/JSON wire format.

The bot under test talks to it over real HTTP (``aiohttp``), exactly as it would talk
to ``https://api.telegram.org``; tests drive "people" through :class:`FakeUser`
(see ``user.py``) and inspect what the bot did through :attr:`FakeTelegram.calls`
and the per-chat event log.

Adding a Bot API method is one function::

    @api_method("sendDice")
    async def _send_dice(self, p: Params) -> dict: ...

or at runtime: ``fake.register_method("sendDice", handler)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import logging
import math
import re
import secrets
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
from aiohttp import web

from .formatting import (
    ParseError,
    UnsupportedParseMode,
    detect_entities,
    normalize_parse_mode,
    parse_formatted,
    utf16_len,
)

if TYPE_CHECKING:
    from .group import FakeGroup
    from .user import FakeUser

__all__ = [
    "ApiCall",
    "ChatEvent",
    "ChatState",
    "FakeTelegram",
    "GroupState",
    "MessageRecord",
    "OkResult",
    "TelegramError",
    "TopicState",
    "UploadedFile",
    "api_method",
]

log = logging.getLogger("fake_telegram")

Params = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200

# Fields that clients send JSON-serialized inside form-data / urlencoded bodies.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "menu_button",
        "message_ids",
        "media",
        "explanation_entities",
        "options",
        "results",
        "permissions",
        "reaction",
        "rights",
        "prices",
        "suggested_post_parameters",
    }
)

ALL_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Telegram's default when allowed_updates is empty / never given.
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendSticker",
        "sendVideo",
        "sendAudio",
        "sendAnimation",
        "sendVideoNote",
        "sendLocation",
        "sendContact",
        "copyMessage",
        "forwardMessage",
    }
)

# Service messages (kinds of MessageRecord): never copyable / forwardable.
SERVICE_KINDS = frozenset({"forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened"})

# Allowed ForumTopic icon colours (RGB), per createForumTopic's documentation.
TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
MAX_TOPIC_NAME = 128
THREAD_NOT_FOUND = "message thread not found"

# The rights a bot administrator has in a fake supergroup (ChatMemberAdministrator fields).
BOT_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
    "can_send_welcome_messages": False,  # required by current aiogram's ChatMemberAdministrator
}

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_URL_RE = re.compile(r"^(?:https?://[^\s/?#]+[^\s]*|tg://[^\s]+)$", re.IGNORECASE)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

MSG_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


# =============================================================================== basics


class TelegramError(Exception):
    """An error response of the Bot API (also what handlers raise)."""

    def __init__(self, error_code: int, description: str | None = None, parameters: dict[str, Any] | None = None):
        self.error_code = int(error_code)
        self.description = description or DEFAULT_DESCRIPTIONS.get(self.error_code, "Unknown error")
        self.parameters = parameters or None
        super().__init__(f"{self.error_code}: {self.description}")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def __repr__(self) -> str:
        return f"TelegramError({self.error_code}, {self.description!r})"


def bad_request(detail: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {detail}")


@dataclass
class OkResult:
    """Handlers may return this to add Telegram's optional ``description`` to an ok response."""

    result: Any
    description: str | None = None


class ApiCall(NamedTuple):
    """One request the bot made: ``method, params, timestamp, outcome``."""

    method: str
    params: dict[str, Any]
    timestamp: float
    outcome: Any  # the JSON result, or a TelegramError

    @property
    def ok(self) -> bool:
        return not isinstance(self.outcome, TelegramError)

    @property
    def result(self) -> Any:
        return None if isinstance(self.outcome, TelegramError) else self.outcome

    @property
    def error(self) -> TelegramError | None:
        return self.outcome if isinstance(self.outcome, TelegramError) else None


@dataclass
class UploadedFile:
    """A file the client uploaded in a multipart/form-data request."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {len(self.content)} bytes)"


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    filename: str | None = None
    mime_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the Telegram object(s) describing it

    @property
    def file_path(self) -> str:
        ext = {"photo": "jpg", "voice": "oga", "sticker": "webp", "video_note": "mp4", "video": "mp4"}.get(self.kind)
        if self.filename and "." in self.filename:
            ext = self.filename.rsplit(".", 1)[1]
        return f"{self.kind}s/file_{self.file_unique_id}.{ext or 'bin'}"


@dataclass
class MessageRecord:
    """Server-side state of one message in a chat (bot's or user's)."""

    chat_id: int
    message_id: int
    from_bot: bool
    data: dict[str, Any]  # the Message object as Telegram returns it (kept up to date)
    kind: str  # text, photo, document, voice, sticker, video_note, location, contact, ...
    text: str | None = None  # plain text (or caption)
    raw_text: str | None = None  # text as sent, with markup
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None  # inline keyboard only
    reply_keyboard: dict[str, Any] | None = None  # reply keyboard / remove / force_reply sent with it
    document: tuple[str, bytes] | None = None
    edited: int = 0
    deleted: bool = False
    created: float = field(default_factory=time.time)

    def snapshot(self) -> MessageRecord:
        return copy.deepcopy(self)


@dataclass
class ChatEvent:
    """Something the bot did in a chat."""

    kind: str  # "sent" | "edited" | "deleted" | "callback_answer" | "chat_action" | "api_error"
    message: MessageRecord | None = None  # snapshot at the time of the event
    params: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)


@dataclass
class CallbackQueryRecord:
    id: str
    chat_id: int
    user_id: int
    message_id: int | None
    data: str | None
    created: float  # time.monotonic()
    answered: bool = False
    answer: dict[str, Any] | None = None


class ChatState:
    """A private chat between the bot and one person."""

    def __init__(self, user: dict[str, Any]):
        self.id: int = user["id"]
        self.user = user
        self.next_message_id = 1
        self.messages: dict[int, MessageRecord] = {}
        self.reply_keyboard: dict[str, Any] | None = None  # current ReplyKeyboardMarkup shown
        self.blocked = False
        self.started = False  # has the person ever written to the bot?
        self.events: list[ChatEvent] = []
        self.menu_button: dict[str, Any] | None = None
        self.chat_instance = str(secrets.randbelow(2**62) - 2**61)
        self.version = 0
        self._waiters: list[asyncio.Future[None]] = []
        self.send_times: deque[float] = deque()

    def chat_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": self.id, "first_name": self.user["first_name"]}
        for key in ("last_name", "username"):
            if self.user.get(key):
                obj[key] = self.user[key]
        obj["type"] = "private"
        return obj

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def add_event(self, event: ChatEvent) -> None:
        self.events.append(event)
        self.notify()

    def notify(self) -> None:
        self.version += 1
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_change(self, since_version: int, timeout: float) -> None:
        """Wait (bounded) until something happens in the chat after ``since_version``."""
        if self.version != since_version or timeout <= 0:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)

    def bot_messages(self) -> list[MessageRecord]:
        return [m for m in sorted(self.messages.values(), key=lambda r: r.message_id) if m.from_bot and not m.deleted]


@dataclass
class TopicState:
    """A forum topic of a :class:`GroupState` (``message_thread_id`` == id of its creation message)."""

    message_thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    created_message_id: int = 0

    def forum_topic(self) -> dict[str, Any]:
        """The ``ForumTopic`` object Telegram returns."""
        return _clean(
            {
                "message_thread_id": self.message_thread_id,
                "name": self.name,
                "icon_color": self.icon_color,
                "icon_custom_emoji_id": self.icon_custom_emoji_id,
            }
        )


class GroupState(ChatState):
    """A supergroup (optionally a forum with topics); the bot is an administrator in it.

    Shares the message/event machinery of :class:`ChatState`: bot sends/edits/deletes are
    events, member posts only bump ``version``. ``user`` is unused (empty dict).
    """

    def __init__(self, chat_id: int, title: str, *, forum: bool, username: str | None = None):
        super().__init__({"id": chat_id, "first_name": title})
        self.user = {}
        self.title = title
        self.username = username
        self.is_forum = forum
        self.started = True  # the bot is a member: it may always write here
        # Message #1 of a real supergroup is its creation service message, and thread id 1 is the
        # "General" topic, which Bot API does not accept as message_thread_id.
        self.next_message_id = 2
        self.topics: dict[int, TopicState] = {}
        self.deleted_topics: set[int] = set()
        self.members: dict[int, dict[str, Any]] = {}  # user id -> User object
        self.admins: set[int] = set()
        self.group_send_times: deque[float] = deque()  # for the per-group per-minute limit

    def chat_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.username:
            obj["username"] = self.username
        obj["type"] = "supergroup"
        if self.is_forum:
            obj["is_forum"] = True
        return obj

    def thread_of(self, rec: MessageRecord) -> int | None:
        tid = rec.data.get("message_thread_id")
        return int(tid) if tid is not None and rec.data.get("is_topic_message") else None

    def topic_root(self, thread_id: int) -> dict[str, Any] | None:
        """The forum_topic_created service message of a topic (as reply_to_message)."""
        topic = self.topics.get(thread_id)
        rec = self.messages.get(topic.created_message_id) if topic else None
        if rec is None:
            return None
        return {k: v for k, v in rec.data.items() if k != "reply_to_message"}

    def bot_messages(self) -> list[MessageRecord]:
        return [m for m in super().bot_messages() if m.kind not in SERVICE_KINDS]


@dataclass
class _Fault:
    method: str | None  # lower-cased; None = any method
    error: TelegramError
    times: int | None
    chat_id: str | None


@dataclass
class _Delay:
    method: str | None
    seconds: float
    times: int | None


class _Poller:
    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.superseded = False


def api_method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a FakeTelegram method as the handler of Bot API method ``name``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__api_method__ = name  # type: ignore[attr-defined]  # a marker on the function
        return fn

    return deco


# ---------------------------------------------------------------- param helpers


def _as_int(p: Params, key: str, *, default: int | None = None, required: bool = False) -> int | None:
    value = p.get(key)
    if value is None or value == "":
        if required:
            raise bad_request(f"{key} is empty")
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None


def _as_bool(p: Params, key: str, default: bool = False) -> bool:
    value = p.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def _as_str(p: Params, key: str) -> str | None:
    value = p.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return repr(value)
    return value


def _clean(obj: Any) -> Any:
    """Drop None values recursively (Telegram never returns nulls)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


_FILE_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "video_note": "DQACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
}

# method -> (message field, default mime type)
MEDIA_METHODS: dict[str, tuple[str, str]] = {
    "sendPhoto": ("photo", "image/jpeg"),
    "sendDocument": ("document", "application/octet-stream"),
    "sendVoice": ("voice", "audio/ogg"),
    "sendSticker": ("sticker", "image/webp"),
    "sendVideo": ("video", "video/mp4"),
    "sendAudio": ("audio", "audio/mpeg"),
    "sendAnimation": ("animation", "video/mp4"),
    "sendVideoNote": ("video_note", "video/mp4"),
}


# ==================================================================== the server


class FakeTelegram:
    """In-memory fake of the Telegram Bot API, served over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "vmeste_test_bot",
        bot_first_name: str = "Vmeste Test Bot",
        *,
        strict_html_entities: bool = True,
        callback_answer_timeout: float = 15.0,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        try:
            self.bot_id = int(token.split(":", 1)[0])
        except ValueError:
            raise ValueError(f"token must look like '<bot id>:<secret>', got {token!r}") from None
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html_entities = strict_html_entities
        self.callback_answer_timeout = callback_answer_timeout
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.host = host
        self.port = port

        self.calls: list[ApiCall] = []
        self.internal_errors: list[str] = []
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, FakeGroup] = {}
        # Telegram: "your bot will not be able to send more than 20 messages per minute to the
        # same group" (core.telegram.org/bots/faq). Enforced per group over a sliding window of
        # ``group_window_seconds`` of real time; ``None`` disables it.
        self.group_limit_per_minute: int | None = 20
        self.group_window_seconds: float = 60.0
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "default"}
        self.bot_texts: dict[tuple[str, str], str] = {}  # (kind, language_code) -> name/description
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.pushed: dict[int, dict[str, Any]] = {}  # every update ever queued, by update_id

        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._update_signal = asyncio.Event()
        self._poller: _Poller | None = None
        self._webhook: dict[str, Any] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._rate: tuple[int | None, int | None] = (None, None)
        self._global_send_times: deque[float] = deque()
        self._user_ids = itertools.count(10_000_001)
        self._group_ids = itertools.count(-1_001_234_500_001, -1)
        self._query_ids = itertools.count(4_200_000_000_000_000_001)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

        self._methods: dict[str, tuple[str, Callable[[Params], Any]]] = {}
        for attr in dir(type(self)):
            fn = getattr(type(self), attr, None)
            name = getattr(fn, "__api_method__", None)
            if name:
                self.register_method(name, getattr(self, attr))
        for method_name, (kind, mime) in MEDIA_METHODS.items():
            self.register_method(method_name, self._make_media_sender(kind, mime))

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        """Start serving; returns the base URL ``http://127.0.0.1:PORT``."""
        if self._runner is not None:
            assert self.base_url is not None
            return self.base_url
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        sockets = runner.addresses
        port = sockets[0][1]
        self.port = port
        self.base_url = f"http://{self.host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._closing.set()
        if self._poller is not None:
            self._poller.wake.set()
        await self._stop_webhook_task()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self.base_url is None:
            raise RuntimeError("FakeTelegram is not started; await fake.start() first")
        return self.base_url

    def make_bot(self, **bot_kwargs: Any) -> Any:
        """An ``aiogram.Bot`` wired to this server (caller closes ``bot.session``)."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        session = AiohttpSession(api=TelegramAPIServer.from_base(self.url))
        return Bot(token=self.token, session=session, **bot_kwargs)

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
        from .user import FakeUser

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
        person = FakeUser(self, chat)
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
        from .group import FakeGroup

        if chat_id is None:
            chat_id = next(self._group_ids)
            while chat_id in self.chats:
                chat_id = next(self._group_ids)
        if chat_id >= 0 or chat_id in self.chats:
            raise ValueError(f"group chat id {chat_id} is taken or not negative")
        state = GroupState(chat_id, title, forum=forum, username=username)
        self.chats[chat_id] = state
        group = FakeGroup(self, state)
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

    # ------------------------------------------------------------- HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info.get("method", "")
        try:
            return await self._serve_api(request, name)
        except Exception as exc:  # last line of defence: never hand an exception to aiohttp
            self._internal_error(name, exc)
            err = TelegramError(500, f"Internal Server Error: fake server failed: {type(exc).__name__}: {exc}")
            return web.json_response(err.to_json(), status=500)

    async def _serve_api(self, request: web.Request, name: str) -> web.Response:
        try:
            params = await self._read_params(request)
        except TelegramError as err:
            return self._response(self._record(name, {}, err))
        except Exception as exc:
            self._internal_error(name, exc)
            return self._response(self._record(name, {}, bad_request(f"can't parse request: {exc}")))
        if request.match_info.get("token") != self.token:
            return self._response(self._record(name, params, TelegramError(401, "Unauthorized")))
        outcome = await self.call(name, params)
        return self._response(outcome)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info.get("token") != self.token:
            return web.json_response(TelegramError(401, "Unauthorized").to_json(), status=401)
        path = request.match_info.get("file_path", "")
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response(TelegramError(404, "Not Found").to_json(), status=404)

    def _response(self, outcome: Any) -> web.Response:
        if isinstance(outcome, TelegramError):
            return web.json_response(outcome.to_json(), status=outcome.error_code)
        body: dict[str, Any] = {"ok": True}
        if isinstance(outcome, OkResult):
            body["result"] = outcome.result
            if outcome.description:
                body["description"] = outcome.description
        else:
            body["result"] = outcome
        return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query)
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise bad_request("can't parse JSON encoded request parameters") from None
                    if not isinstance(body, dict):
                        raise bad_request("can't parse JSON encoded request parameters")
                    params.update(body)
            elif ctype.startswith("multipart/"):
                params.update(await self._read_multipart(await request.multipart()))
            else:  # application/x-www-form-urlencoded (and anything else form-like)
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
                    else:
                        params[key] = value
        return self._decode_params(params)

    @staticmethod
    async def _read_multipart(reader: aiohttp.MultipartReader) -> Params:
        params: Params = {}
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            name = part.name
            if not name:
                await part.release()
                continue
            if part.filename is not None:
                data = await part.read(decode=True)
                params[name] = UploadedFile(
                    part.filename, bytes(data), part.headers.get("Content-Type", "application/octet-stream")
                )
            else:
                params[name] = await part.text()
        return params

    @staticmethod
    def _decode_params(params: Params) -> Params:
        files = {k: v for k, v in params.items() if isinstance(v, UploadedFile)}
        out: Params = {}
        for key, value in params.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    what = "reply keyboard markup" if key == "reply_markup" else key
                    raise bad_request(f"can't parse {what} JSON object") from None
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value[len("attach://") :])
                if attached is None:
                    raise bad_request(f"file {value} not found in the request")
                value = attached
            out[key] = value
        # file parts that were only referenced through attach://<name> are not parameters themselves
        referenced = {
            v[len("attach://") :] for v in params.values() if isinstance(v, str) and v.startswith("attach://")
        }
        return {k: v for k, v in out.items() if k not in referenced}

    # ------------------------------------------------------------- dispatch

    async def call(self, method: str, params: Params) -> Any:
        """Run one API method as if requested over HTTP; returns the result or a TelegramError."""
        entry = self._methods.get(method.lower())
        if entry is None:
            return self._record(method, params, TelegramError(404, "Not Found"))
        canonical, handler = entry
        outcome: Any
        try:
            await self._apply_delay(canonical)
            self._apply_faults(canonical, params)
            self._apply_rate_limit(canonical, params)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            outcome = result
        except TelegramError as err:
            outcome = err
        except Exception as exc:
            self._internal_error(canonical, exc)
            outcome = TelegramError(500, f"Internal Server Error: fake server failed: {type(exc).__name__}: {exc}")
        return self._record(canonical, params, outcome)

    def _record(self, method: str, params: Params, outcome: Any) -> Any:
        stored = outcome.result if isinstance(outcome, OkResult) else outcome
        self.calls.append(ApiCall(method, {k: _jsonable(v) for k, v in params.items()}, time.time(), stored))
        if isinstance(outcome, TelegramError):
            log.debug("fake telegram: %s -> %s", method, outcome)
            chat = self._chat_from_params(params)
            if chat is not None:
                chat.add_event(
                    ChatEvent(
                        "api_error",
                        params={
                            "method": method,
                            "error_code": outcome.error_code,
                            "description": outcome.description,
                        },
                    )
                )
        return outcome

    def _chat_from_params(self, params: Params) -> ChatState | None:
        raw = params.get("chat_id")
        try:
            return self.chats.get(int(raw)) if raw is not None else None
        except (TypeError, ValueError):
            return None

    def _internal_error(self, method: str, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.internal_errors.append(f"{method}: {tb}")
        log.error("fake telegram internal error in %s:\n%s", method, tb)

    async def _apply_delay(self, method: str) -> None:
        for d in self._delays:
            if d.method in (None, method.lower()) and (d.times is None or d.times > 0):
                if d.times is not None:
                    d.times -= 1
                self._delays = [x for x in self._delays if x.times is None or x.times > 0]
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), d.seconds)
                return

    def _apply_faults(self, method: str, params: Params) -> None:
        for f in self._faults:
            if f.method not in (None, method.lower()):
                continue
            if f.chat_id is not None and str(params.get("chat_id")) != f.chat_id:
                continue
            if f.times is not None:
                f.times -= 1
            self._faults = [x for x in self._faults if x.times is None or x.times > 0]
            raise TelegramError(f.error.error_code, f.error.description, dict(f.error.parameters or {}))

    def _apply_rate_limit(self, method: str, params: Params) -> None:
        if method not in SENDING_METHODS:
            return
        chat = self._chat_from_params(params)
        if isinstance(chat, GroupState):
            self._apply_group_limit(chat)
        per_chat, global_limit = self._rate
        if per_chat is None and global_limit is None:
            return
        now = time.monotonic()
        windows: list[tuple[deque[float], int]] = []
        if global_limit is not None:
            windows.append((self._global_send_times, global_limit))
        if per_chat is not None and chat is not None:
            windows.append((chat.send_times, per_chat))
        wait = 0.0
        for times, limit in windows:
            while times and now - times[0] >= 1.0:
                times.popleft()
            if len(times) >= limit:
                wait = max(wait, times[0] + 1.0 - now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        for times, _ in windows:
            times.append(now)

    def _apply_group_limit(self, group: GroupState) -> None:
        """~20 messages per minute to one group: sliding window over real (monotonic) time."""
        limit = self.group_limit_per_minute
        times = group.group_send_times
        if limit is None:
            return
        window = float(self.group_window_seconds)
        now = time.monotonic()
        while times and now - times[0] >= window:
            times.popleft()
        if len(times) >= limit:
            retry_after = max(1, math.ceil(times[0] + window - now))
            raise TelegramError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        times.append(now)

    # ------------------------------------------------------------- shared validation

    def _chat_for_send(self, p: Params, key: str = "chat_id") -> ChatState:
        raw = p.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        chat = self._find_chat(raw)
        if chat is None or not chat.started:
            raise bad_request("chat not found")
        if chat.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _find_chat(self, raw: Any) -> ChatState | None:
        if isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            return next((c for c in self.chats.values() if (c.user.get("username") or "").lower() == name), None)
        try:
            return self.chats.get(int(raw))
        except (TypeError, ValueError):
            return None

    def _known_chat(self, p: Params, key: str = "chat_id") -> ChatState:
        raw = p.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        chat = self._find_chat(raw)
        if chat is None or not chat.started:
            raise bad_request("chat not found")
        return chat

    def _format(self, p: Params, *, caption: bool) -> tuple[str, str | None, str | None, list[dict[str, Any]]]:
        """-> (plain, raw, parse_mode, entities); validates like Telegram."""
        key = "caption" if caption else "text"
        raw = _as_str(p, key)
        try:
            mode = normalize_parse_mode(p.get("parse_mode"))
        except UnsupportedParseMode:
            raise bad_request("unsupported parse_mode") from None
        if raw is None or raw == "":
            if caption:
                return "", None, mode, []
            raise bad_request("message text is empty")
        ents = p.get("caption_entities" if caption else "entities")
        if ents is not None and not isinstance(ents, list):
            raise bad_request(f"can't parse {'caption_' if caption else ''}entities JSON object")
        try:
            plain, entities = parse_formatted(raw, mode, ents, strict_html_entities=self.strict_html_entities)
        except ParseError as err:
            raise bad_request(f"can't parse entities: {err}") from None
        if not plain and not caption:
            raise bad_request("message text is empty")
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if utf16_len(plain) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return plain, raw, mode, entities

    def _check_markup(self, markup: Any, *, inline_only: bool = False) -> tuple[dict | None, dict | None]:
        """-> (inline_keyboard_markup, reply_keyboard_markup)."""
        if markup is None or markup == "":
            return None, None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array')
            clean_rows = []
            for row in rows:
                clean_row = []
                for button in row:
                    clean_row.append(self._check_inline_button(button))
                clean_rows.append(clean_row)
            if sum(len(r) for r in clean_rows) > 100:
                raise bad_request("BUTTONS_TOO_MUCH")
            return {"inline_keyboard": clean_rows}, None
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("can't parse reply keyboard markup JSON object")
            clean_rows = []
            for row in rows:
                clean_row = []
                for button in row:
                    btn = {"text": button} if isinstance(button, str) else button
                    if not isinstance(btn, dict) or not isinstance(btn.get("text"), str) or not btn["text"]:
                        raise bad_request("can't parse keyboard button: Text must be non-empty")
                    clean_row.append(_clean(btn))
                clean_rows.append(clean_row)
            return None, {**_clean(markup), "keyboard": clean_rows}
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return None, _clean(markup)
        raise bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> dict[str, Any]:
        if not isinstance(button, dict):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        btn = _clean(button)
        text = btn.get("text")
        if not isinstance(text, str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        actions = [k for k in INLINE_BUTTON_ACTIONS if k in btn]
        if not actions:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise bad_request(
                "can't parse inline keyboard button: exactly one of the optional fields must be used, got "
                + ", ".join(actions)
            )
        if "callback_data" in btn:
            data = btn["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in btn:
            url = btn["url"]
            if not isinstance(url, str) or not _BUTTON_URL_RE.match(url):
                raise bad_request("BUTTON_URL_INVALID")
        return btn

    def _reply_to(self, chat: ChatState, p: Params) -> dict[str, Any] | None:
        rec = self._reply_target(chat, p)
        if rec is None:
            return None
        target = dict(rec.data)
        target.pop("reply_to_message", None)
        return target

    def _thread_for_send(self, chat: ChatState, p: Params) -> int | None:
        """Validate ``message_thread_id`` for a send to ``chat``; returns the topic id (forums only)."""
        tid = _as_int(p, "message_thread_id")
        if not isinstance(chat, GroupState):
            return None  # private chats: ignored, as before
        if tid is None:
            return None
        if chat.is_forum:
            if tid not in chat.topics:
                raise bad_request(THREAD_NOT_FOUND)
            return tid
        root = chat.messages.get(tid)  # a reply thread of a non-forum supergroup
        if root is None or root.deleted:
            raise bad_request(THREAD_NOT_FOUND)
        return None

    def _reply_target(self, chat: ChatState, p: Params) -> MessageRecord | None:
        params = p.get("reply_parameters")
        target_id = None
        allow_missing = _as_bool(p, "allow_sending_without_reply")
        if isinstance(params, dict):
            target_id = params.get("message_id")
            allow_missing = allow_missing or bool(params.get("allow_sending_without_reply"))
        elif p.get("reply_to_message_id") not in (None, ""):
            target_id = p.get("reply_to_message_id")
        if target_id is None:
            return None
        try:
            rec = chat.messages.get(int(target_id))
        except (TypeError, ValueError):
            rec = None
        if rec is None or rec.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return rec

    def _store_bot_message(
        self,
        chat: ChatState,
        p: Params,
        *,
        kind: str,
        content: dict[str, Any],
        text: str | None = None,
        raw: str | None = None,
        parse_mode: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        document: tuple[str, bytes] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> MessageRecord:
        inline, reply_kb = self._check_markup(p.get("reply_markup"))
        thread_id = self._thread_for_send(chat, p)
        target = self._reply_target(chat, p)
        reply_to = {k: v for k, v in target.data.items() if k != "reply_to_message"} if target else None
        if isinstance(chat, GroupState) and chat.is_forum:
            if thread_id is None and target is not None:
                thread_id = chat.thread_of(target)  # a reply lands in the replied message's topic
            if thread_id is not None and reply_to is None:
                reply_to = chat.topic_root(thread_id)  # Telegram: topic messages reply to the topic root
        mid = chat.take_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": self.bot_user,
            "chat": chat.chat_object(),
            "date": int(time.time()),
        }
        if thread_id is not None:
            data["message_thread_id"] = thread_id
            data["is_topic_message"] = True
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if extra:
            data.update(extra)
        data.update(content)
        if _as_bool(p, "has_protected_content") or _as_bool(p, "protect_content"):
            data["has_protected_content"] = True
        if inline is not None:
            data["reply_markup"] = inline
        rec = MessageRecord(
            chat_id=chat.id,
            message_id=mid,
            from_bot=True,
            data=data,
            kind=kind,
            text=text,
            raw_text=raw,
            parse_mode=parse_mode,
            entities=entities or [],
            reply_markup=inline,
            reply_keyboard=reply_kb,
            document=document,
        )
        chat.messages[mid] = rec
        if reply_kb is not None:
            if "keyboard" in reply_kb:
                chat.reply_keyboard = reply_kb
            elif reply_kb.get("remove_keyboard"):
                chat.reply_keyboard = None
        chat.add_event(ChatEvent("sent", rec.snapshot(), params=dict(p)))
        return rec

    def _message_for_edit(self, p: Params) -> tuple[ChatState, MessageRecord]:
        if p.get("inline_message_id"):
            raise bad_request("message to edit not found")
        chat = self._known_chat(p)
        if chat.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        mid = _as_int(p, "message_id", required=True)
        rec = chat.messages.get(mid) if mid is not None else None
        if rec is None or rec.deleted:
            raise bad_request("message to edit not found")
        if not rec.from_bot:
            raise bad_request("message can't be edited")
        return chat, rec

    def _finish_edit(self, chat: ChatState, rec: MessageRecord, p: Params) -> dict[str, Any]:
        rec.edited += 1
        rec.data["edit_date"] = int(time.time())
        chat.add_event(ChatEvent("edited", rec.snapshot(), params=dict(p)))
        return rec.data

    def _new_file(self, kind: str, content: bytes, filename: str | None, mime: str | None) -> StoredFile:
        file_id = _FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + secrets.token_urlsafe(40)[:56]
        stored = StoredFile(file_id, "AgAD" + secrets.token_urlsafe(9)[:12], kind, content, filename, mime)
        self.files[file_id] = stored
        return stored

    def _media_object(self, stored: StoredFile, kind: str) -> Any:
        size = len(stored.content)
        base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": size}
        if kind == "photo":
            sizes = []
            for i, (w, h) in enumerate(((90, 67), (320, 240), (1280, 960))):
                sizes.append(
                    {
                        "file_id": stored.file_id if i == 2 else stored.file_id[:-2] + f"{i}{i}",
                        "file_unique_id": stored.file_unique_id[:-1] + str(i),
                        "file_size": max(1, size * (i + 1) // 3),
                        "width": w,
                        "height": h,
                    }
                )
            return sizes
        if kind == "document":
            return _clean({**base, "file_name": stored.filename, "mime_type": stored.mime_type})
        if kind == "voice":
            return {**base, "duration": 3, "mime_type": "audio/ogg"}
        if kind == "audio":
            return _clean({**base, "duration": 30, "mime_type": stored.mime_type, "file_name": stored.filename})
        if kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "🙂",
            }
        if kind == "video_note":
            return {**base, "length": 240, "duration": 5}
        if kind in ("video", "animation"):
            return _clean(
                {
                    **base,
                    "width": 640,
                    "height": 480,
                    "duration": 5,
                    "mime_type": stored.mime_type,
                    "file_name": stored.filename,
                }
            )
        return base

    def _resolve_input_file(self, value: Any, kind: str, default_mime: str) -> StoredFile:
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad_request("file must be non-empty")
            mime = value.content_type if value.content_type != "application/octet-stream" else default_mime
            return self._new_file(kind, value.content, value.filename, mime)
        if isinstance(value, str) and value:
            if value in self.files:
                return self.files[value]
            for stored in self.files.values():  # a smaller photo size id
                if stored.kind == "photo" and value[:-2] == stored.file_id[:-2]:
                    return stored
            if re.match(r"^https?://", value):
                name = value.rsplit("/", 1)[-1] or None
                return self._new_file(kind, b"downloaded:" + value.encode(), name, default_mime)
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {kind} in the request")

    def _make_media_sender(self, kind: str, default_mime: str) -> Callable[[Params], Awaitable[Any]]:
        async def send_media(p: Params) -> dict[str, Any]:
            chat = self._chat_for_send(p)
            stored = self._resolve_input_file(p.get(kind), kind, default_mime)
            entities: list[dict[str, Any]]
            plain, raw, mode, entities = ("", None, None, [])
            if kind != "sticker" and kind != "video_note":
                plain, raw, mode, entities = self._format(p, caption=True)
            content: dict[str, Any] = {kind: self._media_object(stored, kind)}
            if plain:
                content["caption"] = plain
                if entities:
                    content["caption_entities"] = entities
            document = (stored.filename or "file", stored.content) if kind == "document" else None
            rec = self._store_bot_message(
                chat,
                p,
                kind=kind,
                content=content,
                text=plain or None,
                raw=raw,
                parse_mode=mode,
                entities=entities,
                document=document,
            )
            return rec.data

        return send_media

    # ================================================================ API methods

    @api_method("getMe")
    def _get_me(self, p: Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @api_method("logOut")
    def _log_out(self, p: Params) -> bool:
        return True

    @api_method("close")
    def _close(self, p: Params) -> bool:
        return True

    # ------------------------------------------------------------- updates

    def _update_type(self, update: dict[str, Any]) -> str:
        return next((k for k in update if k != "update_id"), "")

    def _is_allowed(self, update: dict[str, Any], allowed: list[str] | None) -> bool:
        kinds = set(allowed) if allowed else DEFAULT_UPDATE_TYPES
        return self._update_type(update) in kinds

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._webhook.get("allowed_updates") if self._webhook else self._allowed_updates
        # Updates of types the bot did not subscribe to are never delivered: drop them.
        self._updates = [u for u in self._updates if self._is_allowed(u, allowed)]
        return [copy.deepcopy(u) for u in self._updates[:limit]]

    @api_method("getUpdates")
    async def _get_updates(self, p: Params) -> list[dict[str, Any]]:
        if self._webhook:
            raise TelegramError(409, CONFLICT_WEBHOOK)
        offset = _as_int(p, "offset", default=0) or 0
        limit = min(100, max(1, _as_int(p, "limit", default=100) or 100))
        timeout = max(0, _as_int(p, "timeout", default=0) or 0)
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

        poller = _Poller()
        if self._poller is not None:
            self._poller.superseded = True
            self._poller.wake.set()
        self._poller = poller
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if poller.superseded:
                    raise TelegramError(409, CONFLICT_OTHER_POLL)
                if self._webhook:
                    raise TelegramError(409, CONFLICT_WEBHOOK)
                batch = self._deliverable(limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or self._closing.is_set():
                    return batch
                poller.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(poller.wake.wait(), remaining)
        finally:
            if self._poller is poller:
                self._poller = None

    @api_method("setWebhook")
    async def _set_webhook(self, p: Params) -> OkResult:
        url = _as_str(p, "url") or ""
        if not url:
            await self._drop_webhook(_as_bool(p, "drop_pending_updates"))
            return OkResult(True, "Webhook was deleted")
        if not re.match(r"^https?://[^\s/]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = _as_str(p, "secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get("allowed_updates")
        if _as_bool(p, "drop_pending_updates"):
            self._updates.clear()
        if self._webhook and self._webhook["url"] == url and self._webhook.get("secret_token") == secret:
            if isinstance(allowed, list):
                self._webhook["allowed_updates"] = [str(a) for a in allowed]
            return OkResult(True, "Webhook is already set")
        await self._stop_webhook_task()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": _as_int(p, "max_connections", default=40),
            "allowed_updates": [str(a) for a in allowed] if isinstance(allowed, list) else self._allowed_updates,
        }
        self._webhook_last_error = None
        if self._poller is not None:
            self._poller.wake.set()
        self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
        return OkResult(True, "Webhook was set")

    @api_method("deleteWebhook")
    async def _delete_webhook(self, p: Params) -> OkResult:
        existed = self._webhook is not None
        await self._drop_webhook(_as_bool(p, "drop_pending_updates"))
        return OkResult(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def _drop_webhook(self, drop_pending: bool) -> None:
        await self._stop_webhook_task()
        if self._webhook is not None:
            self._allowed_updates = self._webhook.get("allowed_updates")
        self._webhook = None
        if drop_pending:
            self._updates.clear()

    @api_method("getWebhookInfo")
    def _get_webhook_info(self, p: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
            if self._webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _webhook_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self._webhook is not None and not self._closing.is_set():
                self._update_signal.clear()  # cleared before looking, so no push can be missed
                batch = self._deliverable(1)
                if not batch:
                    with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                        await asyncio.wait_for(self._update_signal.wait(), 1.0)
                    continue
                update = batch[0]
                hook = self._webhook
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                try:
                    async with session.post(
                        hook["url"], data=json.dumps(update, ensure_ascii=False), headers=headers
                    ) as resp:
                        if 200 <= resp.status < 300:
                            self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                            self.webhook_deliveries.append({"update_id": update["update_id"], "status": resp.status})
                            await self._webhook_reply(resp)
                            continue
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"Connection failed: {type(exc).__name__}: {exc}".strip()
                except Exception as exc:  # never let the loop die silently
                    self._internal_error("webhook delivery", exc)
                    error = f"{type(exc).__name__}: {exc}"
                self._webhook_last_error = (int(time.time()), error)
                self.webhook_deliveries.append({"update_id": update["update_id"], "error": error})
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.webhook_retry_delay)

    async def _webhook_reply(self, resp: aiohttp.ClientResponse) -> None:
        """Execute a method the bot returned in the webhook response body (if any)."""
        try:
            ctype = resp.content_type
            params: Params
            if ctype.startswith("multipart/"):
                params = await self._read_multipart(aiohttp.MultipartReader(resp.headers, resp.content))
            elif ctype == "application/json":
                raw = await resp.read()
                body = json.loads(raw) if raw.strip() else {}
                params = body if isinstance(body, dict) else {}
            else:
                await resp.read()
                return
            method = params.pop("method", None)
            if not method:
                return
            await self.call(str(method), self._decode_params(params))
        except Exception as exc:
            self._internal_error("webhook reply", exc)

    # ------------------------------------------------------------- commands & menu

    @staticmethod
    def _scope_key(p: Params) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), _as_str(p, "language_code") or ""

    @api_method("setMyCommands")
    def _set_my_commands(self, p: Params) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise bad_request("can't parse BotCommand")
            name = str(cmd.get("command", "")).lstrip("/")
            desc = str(cmd.get("description", ""))
            if not _COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID" if desc else "command description is empty")
            clean.append({"command": name, "description": desc})
        self.commands[self._scope_key(p)] = clean
        return True

    @api_method("getMyCommands")
    def _get_my_commands(self, p: Params) -> list[dict[str, Any]]:
        return list(self.commands.get(self._scope_key(p), []))

    @api_method("deleteMyCommands")
    def _delete_my_commands(self, p: Params) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    @api_method("setChatMenuButton")
    def _set_chat_menu_button(self, p: Params) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button JSON object")
        if p.get("chat_id") not in (None, ""):
            self._known_chat(p).menu_button = button
        else:
            self.default_menu_button = button
        return True

    @api_method("getChatMenuButton")
    def _get_chat_menu_button(self, p: Params) -> dict[str, Any]:
        if p.get("chat_id") not in (None, ""):
            return self._known_chat(p).menu_button or self.default_menu_button
        return self.default_menu_button

    def _bot_text_setter(kind: str, key: str, limit: int):  # type: ignore[misc]  # a factory run in the class body
        def setter(self: FakeTelegram, p: Params) -> bool:
            value = _as_str(p, key) or ""
            if len(value) > limit:
                raise bad_request(f"{key} is too long")
            self.bot_texts[(kind, _as_str(p, "language_code") or "")] = value
            return True

        def getter(self: FakeTelegram, p: Params) -> dict[str, Any]:
            lang = _as_str(p, "language_code") or ""
            value = self.bot_texts.get((kind, lang), self.bot_texts.get((kind, ""), ""))
            if kind == "name" and not value:
                value = self.bot_first_name
            return {key: value}

        return setter, getter

    _set_name, _get_name = _bot_text_setter("name", "name", 64)
    _set_name = api_method("setMyName")(_set_name)
    _get_name = api_method("getMyName")(_get_name)
    _set_desc, _get_desc = _bot_text_setter("description", "description", 512)
    _set_desc = api_method("setMyDescription")(_set_desc)
    _get_desc = api_method("getMyDescription")(_get_desc)
    _set_short, _get_short = _bot_text_setter("short_description", "short_description", 120)
    _set_short = api_method("setMyShortDescription")(_set_short)
    _get_short = api_method("getMyShortDescription")(_get_short)
    del _bot_text_setter

    # ------------------------------------------------------------- chats

    @api_method("getChat")
    def _get_chat(self, p: Params) -> dict[str, Any]:
        chat = self._known_chat(p)
        info = chat.chat_object()
        info.update(
            {
                "accent_color_id": chat.id % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": True,
                    "limited_gifts": True,
                    "unique_gifts": True,
                    "premium_subscription": True,
                    "gifts_from_channels": True,
                },
            }
        )
        return info

    @api_method("sendChatAction")
    def _send_chat_action(self, p: Params) -> bool:
        chat = self._chat_for_send(p)
        self._thread_for_send(chat, p)
        action = _as_str(p, "action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.add_event(ChatEvent("chat_action", params={"action": action}))
        return True

    # ------------------------------------------------------------- messages

    @api_method("sendMessage")
    def _send_message(self, p: Params) -> dict[str, Any]:
        chat = self._chat_for_send(p)
        plain, raw, mode, entities = self._format(p, caption=False)
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        lpo = p.get("link_preview_options")
        if isinstance(lpo, dict) and lpo and any(e["type"] in ("url", "text_link") for e in entities):
            content["link_preview_options"] = _clean(lpo)
        rec = self._store_bot_message(
            chat, p, kind="text", content=content, text=plain, raw=raw, parse_mode=mode, entities=entities
        )
        return rec.data

    @api_method("sendLocation")
    def _send_location(self, p: Params) -> dict[str, Any]:
        chat = self._chat_for_send(p)
        try:
            lat, lon = float(p["latitude"]), float(p["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude/longitude specified") from None
        rec = self._store_bot_message(
            chat, p, kind="location", content={"location": {"latitude": lat, "longitude": lon}}
        )
        return rec.data

    @api_method("sendContact")
    def _send_contact(self, p: Params) -> dict[str, Any]:
        chat = self._chat_for_send(p)
        phone, first = _as_str(p, "phone_number"), _as_str(p, "first_name")
        if not phone:
            raise bad_request("phone_number is empty")
        if not first:
            raise bad_request("first_name is empty")
        contact = _clean({"phone_number": phone, "first_name": first, "last_name": _as_str(p, "last_name")})
        rec = self._store_bot_message(chat, p, kind="contact", content={"contact": contact})
        return rec.data

    @api_method("editMessageText")
    def _edit_message_text(self, p: Params) -> dict[str, Any]:
        chat, rec = self._message_for_edit(p)
        if rec.kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain, raw, mode, entities = self._format(p, caption=False)
        inline, _ = self._check_markup(p.get("reply_markup"), inline_only=True)
        if plain == rec.text and entities == rec.entities and inline == rec.reply_markup:
            raise bad_request(MSG_NOT_MODIFIED.removeprefix("Bad Request: "))
        rec.text, rec.raw_text, rec.parse_mode, rec.entities = plain, raw, mode, entities
        rec.data["text"] = plain
        rec.data.pop("entities", None)
        if entities:
            rec.data["entities"] = entities
        self._set_inline(rec, inline)
        return self._finish_edit(chat, rec, p)

    @api_method("editMessageCaption")
    def _edit_message_caption(self, p: Params) -> dict[str, Any]:
        chat, rec = self._message_for_edit(p)
        if rec.kind in ("text", "sticker", "video_note", "location", "contact"):
            raise bad_request("there is no caption in the message to edit")
        plain, raw, mode, entities = self._format(p, caption=True)
        inline, _ = self._check_markup(p.get("reply_markup"), inline_only=True)
        if (plain or None) == rec.text and entities == rec.entities and inline == rec.reply_markup:
            raise bad_request(MSG_NOT_MODIFIED.removeprefix("Bad Request: "))
        rec.text, rec.raw_text, rec.parse_mode, rec.entities = plain or None, raw, mode, entities
        rec.data.pop("caption", None)
        rec.data.pop("caption_entities", None)
        if plain:
            rec.data["caption"] = plain
            if entities:
                rec.data["caption_entities"] = entities
        self._set_inline(rec, inline)
        return self._finish_edit(chat, rec, p)

    @api_method("editMessageReplyMarkup")
    def _edit_message_reply_markup(self, p: Params) -> dict[str, Any]:
        chat, rec = self._message_for_edit(p)
        inline, _ = self._check_markup(p.get("reply_markup"), inline_only=True)
        if inline == rec.reply_markup:
            raise bad_request(MSG_NOT_MODIFIED.removeprefix("Bad Request: "))
        self._set_inline(rec, inline)
        return self._finish_edit(chat, rec, p)

    @staticmethod
    def _set_inline(rec: MessageRecord, inline: dict[str, Any] | None) -> None:
        rec.reply_markup = inline
        rec.data.pop("reply_markup", None)
        if inline is not None:
            rec.data["reply_markup"] = inline

    DELETABLE_FOR = 48 * 3600  # Telegram: "a message can only be deleted if it was sent less than 48 hours ago"

    def age_messages(self, chat_id: int, seconds: float) -> None:
        """Makes every message of the chat so far ``seconds`` older (its ``date``), e.g. past the
        48 hours after which Telegram refuses to delete it."""
        for rec in self.chats[chat_id].messages.values():
            rec.data["date"] = int(rec.data.get("date", time.time()) - seconds)

    def _delete_one(self, chat: ChatState, mid: int | None, p: Params) -> bool:
        rec = chat.messages.get(mid) if mid is not None else None
        if rec is None or rec.deleted:
            return False
        if time.time() - rec.data.get("date", time.time()) >= self.DELETABLE_FOR:
            raise bad_request("message can't be deleted")
        rec.deleted = True
        if rec.from_bot:
            chat.add_event(ChatEvent("deleted", rec.snapshot(), params=dict(p)))
        else:
            chat.notify()
        return True

    @api_method("deleteMessage")
    def _delete_message(self, p: Params) -> bool:
        chat = self._known_chat(p)
        if not self._delete_one(chat, _as_int(p, "message_id", required=True), p):
            raise bad_request("message to delete not found")
        return True

    @api_method("deleteMessages")
    def _delete_messages(self, p: Params) -> bool:
        chat = self._known_chat(p)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message_ids is empty")
        if len(ids) > 100:
            raise bad_request("too many message identifiers specified")
        for mid in ids:  # like Telegram: what cannot be found or deleted (older than 48 h) is skipped
            try:
                self._delete_one(chat, int(mid), p)
            except (TypeError, ValueError, TelegramError):
                continue
        return True

    def _source_message(self, p: Params, what: str) -> MessageRecord:
        src_chat = self._find_chat(p.get("from_chat_id"))
        if src_chat is None or not src_chat.started:
            raise bad_request("chat not found")
        mid = _as_int(p, "message_id", required=True)
        rec = src_chat.messages.get(mid) if mid is not None else None
        if rec is None or rec.deleted:
            raise bad_request(f"message to {what} not found")
        return rec

    _CONTENT_KEYS = (
        "text",
        "entities",
        "caption",
        "caption_entities",
        "photo",
        "document",
        "voice",
        "audio",
        "sticker",
        "video",
        "video_note",
        "animation",
        "location",
        "contact",
        "link_preview_options",
    )

    @api_method("copyMessage")
    def _copy_message(self, p: Params) -> dict[str, Any]:
        src = self._source_message(p, "copy")
        chat = self._chat_for_send(p)
        if src.kind in SERVICE_KINDS:  # "Service messages ... can't be copied" (Bot API docs)
            raise bad_request("message can't be copied")
        content = {k: copy.deepcopy(v) for k, v in src.data.items() if k in self._CONTENT_KEYS}
        text, raw, mode, entities = src.text, src.raw_text, src.parse_mode, list(src.entities)
        if "caption" in p and src.kind != "text":
            plain, raw, mode, entities = self._format(p, caption=True)
            text = plain or None
            content.pop("caption", None)
            content.pop("caption_entities", None)
            if plain:
                content["caption"] = plain
                if entities:
                    content["caption_entities"] = entities
        p_markup = p if "reply_markup" in p else {**p, "reply_markup": src.reply_markup}
        rec = self._store_bot_message(
            chat,
            p_markup,
            kind=src.kind,
            content=content,
            text=text,
            raw=raw,
            parse_mode=mode,
            entities=entities,
            document=src.document,
        )
        return {"message_id": rec.message_id}

    @api_method("forwardMessage")
    def _forward_message(self, p: Params) -> dict[str, Any]:
        src = self._source_message(p, "forward")
        chat = self._chat_for_send(p)
        if src.kind in SERVICE_KINDS:
            raise bad_request("message can't be forwarded")
        content = {k: copy.deepcopy(v) for k, v in src.data.items() if k in self._CONTENT_KEYS}
        sender = src.data.get("from") or self.bot_user
        origin = {"type": "user", "sender_user": sender, "date": src.data.get("date", int(time.time()))}
        extra = {"forward_origin": origin, "forward_from": sender, "forward_date": origin["date"]}
        rec = self._store_bot_message(
            chat,
            {k: v for k, v in p.items() if k != "reply_markup"},
            kind=src.kind,
            content=content,
            text=src.text,
            raw=src.raw_text,
            parse_mode=src.parse_mode,
            entities=list(src.entities),
            document=src.document,
            extra=extra,
        )
        return rec.data

    # ------------------------------------------------------------- forum topics

    def _forum(self, p: Params) -> GroupState:
        chat = self._known_chat(p)
        if not isinstance(chat, GroupState) or not chat.is_forum:
            raise bad_request("the chat is not a forum")
        return chat

    def _forum_topic(self, p: Params) -> tuple[GroupState, TopicState]:
        group = self._forum(p)
        tid = _as_int(p, "message_thread_id")
        topic = group.topics.get(tid) if tid is not None else None
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return group, topic

    def _topic_service(self, group: GroupState, topic: TopicState, kind: str, body: dict[str, Any]) -> MessageRecord:
        """Post a service message (the bot's own action: stored in history, no update is sent)."""
        mid = group.take_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": self.bot_user,
            "chat": group.chat_object(),
            "date": int(time.time()),
            "message_thread_id": topic.message_thread_id,
            "is_topic_message": True,
            kind: body,
        }
        if kind != "forum_topic_created":
            root = group.topic_root(topic.message_thread_id)
            if root is not None:
                data["reply_to_message"] = root
        rec = MessageRecord(group.id, mid, True, data, kind)
        group.messages[mid] = rec
        group.add_event(ChatEvent("service", rec.snapshot(), params={kind: body}))
        return rec

    @api_method("createForumTopic")
    def _create_forum_topic(self, p: Params) -> dict[str, Any]:
        group = self._forum(p)
        name = _as_str(p, "name") or ""
        if not name.strip():
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > MAX_TOPIC_NAME:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        color = _as_int(p, "icon_color")
        if color is None:
            color = TOPIC_ICON_COLORS[len(group.topics) % len(TOPIC_ICON_COLORS)]
        elif color not in TOPIC_ICON_COLORS:
            raise bad_request("TOPIC_COLOR_INVALID")  # unverified wording; the allowed colours are documented
        emoji = _as_str(p, "icon_custom_emoji_id") or None
        mid = group.next_message_id  # a topic's id is the id of its creation service message
        topic = TopicState(mid, name, color, emoji, created_message_id=mid)
        group.topics[mid] = topic
        body = _clean({"name": name, "icon_color": color, "icon_custom_emoji_id": emoji})
        self._topic_service(group, topic, "forum_topic_created", body)
        return topic.forum_topic()

    @api_method("editForumTopic")
    def _edit_forum_topic(self, p: Params) -> bool:
        group, topic = self._forum_topic(p)
        name = _as_str(p, "name")
        emoji = _as_str(p, "icon_custom_emoji_id") if "icon_custom_emoji_id" in p else None
        if name is not None and len(name) > MAX_TOPIC_NAME:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        changes: dict[str, Any] = {}
        if name and name != topic.name:  # empty / omitted name keeps the current one
            changes["name"] = name
        if "icon_custom_emoji_id" in p and (emoji or None) != topic.icon_custom_emoji_id:
            changes["icon_custom_emoji_id"] = emoji or ""  # "" = icon removed
        if not changes:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name = changes.get("name", topic.name)
        if "icon_custom_emoji_id" in changes:
            topic.icon_custom_emoji_id = changes["icon_custom_emoji_id"] or None
        self._topic_service(group, topic, "forum_topic_edited", changes)
        return True

    def _set_topic_closed(self, p: Params, closed: bool) -> bool:
        group, topic = self._forum_topic(p)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self._topic_service(group, topic, "forum_topic_closed" if closed else "forum_topic_reopened", {})
        return True

    @api_method("closeForumTopic")
    def _close_forum_topic(self, p: Params) -> bool:
        return self._set_topic_closed(p, True)

    @api_method("reopenForumTopic")
    def _reopen_forum_topic(self, p: Params) -> bool:
        return self._set_topic_closed(p, False)

    @api_method("deleteForumTopic")
    def _delete_forum_topic(self, p: Params) -> bool:
        group, topic = self._forum_topic(p)
        tid = topic.message_thread_id
        del group.topics[tid]
        group.deleted_topics.add(tid)
        for rec in group.messages.values():  # "along with all its messages"
            if rec.data.get("message_thread_id") == tid and not rec.deleted:
                rec.deleted = True
        group.notify()
        return True

    @api_method("getChatMember")
    def _get_chat_member(self, p: Params) -> dict[str, Any]:
        chat = self._known_chat(p)
        uid = _as_int(p, "user_id", required=True)
        if uid == self.bot_id:
            if isinstance(chat, GroupState):
                return {"status": "administrator", "user": self.bot_user, **BOT_ADMIN_RIGHTS}
            return {"status": "member", "user": self.bot_user}
        if isinstance(chat, GroupState):
            user = chat.members.get(uid or 0)
            if user is None:
                return {"status": "left", "user": self._known_user(uid)}
            if uid in chat.admins:
                return {"status": "administrator", "user": user, **BOT_ADMIN_RIGHTS, "can_be_edited": False}
            return {"status": "member", "user": user}
        if uid != chat.id:
            raise bad_request("user not found")
        return {"status": "member", "user": dict(chat.user)}

    def _known_user(self, uid: int | None) -> dict[str, Any]:
        if uid is not None and uid in self.chats and not isinstance(self.chats[uid], GroupState):
            return dict(self.chats[uid].user)
        raise bad_request("user not found")

    @api_method("getChatAdministrators")
    def _get_chat_administrators(self, p: Params) -> list[dict[str, Any]]:
        chat = self._known_chat(p)
        if not isinstance(chat, GroupState):
            raise bad_request("there are no administrators in the private chat")
        admins = [{"status": "administrator", "user": self.bot_user, **BOT_ADMIN_RIGHTS}]
        for uid in sorted(chat.admins):
            admins.append({"status": "administrator", "user": chat.members[uid], **BOT_ADMIN_RIGHTS})
        return admins

    # ------------------------------------------------------------- callbacks & files

    @api_method("answerCallbackQuery")
    def _answer_callback_query(self, p: Params) -> bool:
        qid = _as_str(p, "callback_query_id")
        query = self.callback_queries.get(qid or "")
        if query is None or query.answered or time.monotonic() - query.created > self.callback_answer_timeout:
            raise bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = _as_str(p, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        url = _as_str(p, "url")
        if url and not _BUTTON_URL_RE.match(url):
            raise bad_request("URL_INVALID")
        query.answered = True
        answer = _clean(
            {
                "callback_query_id": qid,
                "text": text,
                "show_alert": _as_bool(p, "show_alert"),
                "url": url,
                "cache_time": _as_int(p, "cache_time"),
            }
        )
        query.answer = answer
        chat = self.chats.get(query.chat_id)
        if chat is not None:
            chat.add_event(ChatEvent("callback_answer", params=answer))
        return True

    @api_method("getFile")
    def _get_file(self, p: Params) -> dict[str, Any]:
        file_id = _as_str(p, "file_id") or ""
        stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    # ================================================================ person side
    # (used by FakeUser; these build the updates a real client would cause)

    def _user_message(self, chat: ChatState, content: dict[str, Any], *, text: str | None = None) -> MessageRecord:
        chat.started = True
        mid = chat.take_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": dict(chat.user),
            "chat": chat.chat_object(),
            "date": int(time.time()),
        }
        data.update(content)
        kind = next(
            (k for k in content if k not in ("text", "entities", "caption", "caption_entities", "reply_to_message")),
            "text",
        )
        rec = MessageRecord(chat.id, mid, False, data, kind, text=text, raw_text=text)
        chat.messages[mid] = rec
        self.push_update({"message": copy.deepcopy(data)})
        chat.notify()
        return rec

    def _user_text(self, chat: ChatState, text: str, reply_to: int | None = None) -> MessageRecord:
        content: dict[str, Any] = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is not None:
                content["reply_to_message"] = {k: v for k, v in target.data.items() if k != "reply_to_message"}
        return self._user_message(chat, content, text=text)

    def _user_media(
        self,
        chat: ChatState,
        kind: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        content: bytes | None = None,
        mime: str | None = None,
    ) -> MessageRecord:
        body = self._media_content(chat.id, kind, caption=caption, filename=filename, content=content, mime=mime)
        return self._user_message(chat, body, text=caption)

    def _member_message(
        self,
        group: GroupState,
        sender: dict[str, Any],
        content: dict[str, Any],
        *,
        text: str | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> MessageRecord:
        """A group member posts in the group (a topic of a forum); pushes the ``message`` update."""
        target = None
        if reply_to is not None:
            target = group.messages.get(reply_to)
            if target is None or target.deleted:
                raise AssertionError(f"there is no message #{reply_to} in {group.title!r} to reply to")
            target_thread = group.thread_of(target)
            if thread_id is None:
                thread_id = target_thread
            elif group.is_forum and target_thread != thread_id:
                raise AssertionError(f"message #{reply_to} is not in topic {thread_id}")
        if thread_id is not None and group.is_forum:
            topic = group.topics.get(thread_id)
            if topic is None:
                raise AssertionError(f"{group.title!r} has no topic {thread_id} (topics: {sorted(group.topics)})")
            if topic.closed and sender["id"] not in group.admins:
                raise AssertionError(f"topic {topic.name!r} is closed; only administrators can post there")
        mid = group.take_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": dict(sender),
            "chat": group.chat_object(),
            "date": int(time.time()),
        }
        if thread_id is not None and group.is_forum:
            data["message_thread_id"] = thread_id
            data["is_topic_message"] = True
            if target is None:
                target_data = group.topic_root(thread_id)
                if target_data is not None:
                    data["reply_to_message"] = target_data
        if target is not None:
            data["reply_to_message"] = {k: v for k, v in target.data.items() if k != "reply_to_message"}
        data.update(content)
        kind = next((k for k in content if k not in ("text", "entities", "caption", "caption_entities")), "text")
        ents = content.get("entities") or content.get("caption_entities") or []
        rec = MessageRecord(group.id, mid, False, data, kind, text=text, raw_text=text, entities=list(ents))
        group.messages[mid] = rec
        self.push_update({"message": copy.deepcopy(data)})
        group.notify()
        return rec

    def _media_content(
        self,
        owner_id: int,
        kind: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        content: bytes | None = None,
        mime: str | None = None,
    ) -> dict[str, Any]:
        default_mime = {
            "photo": "image/jpeg",
            "voice": "audio/ogg",
            "sticker": "image/webp",
            "video_note": "video/mp4",
            "document": "application/pdf",
        }.get(kind)
        if content is None:
            content = f"fake {kind} from user {owner_id}".encode() * 64
        stored = self._new_file(kind, content, filename, mime or default_mime)
        body: dict[str, Any] = {kind: self._media_object(stored, kind)}
        if caption:
            body["caption"] = caption
            ents = detect_entities(caption)
            if ents:
                body["caption_entities"] = ents
        return body

    def _push_callback(self, chat: ChatState, rec: MessageRecord, data: str | None) -> str:
        chat.started = True
        qid = str(next(self._query_ids))
        self.callback_queries[qid] = CallbackQueryRecord(qid, chat.id, chat.id, rec.message_id, data, time.monotonic())
        query: dict[str, Any] = {
            "id": qid,
            "from": dict(chat.user),
            "message": copy.deepcopy(rec.data),
            "chat_instance": chat.chat_instance,
        }
        if data is not None:
            query["data"] = data
        self.push_update({"callback_query": query})
        return qid

    def _user_edit(self, chat: ChatState, message_id: int, new_text: str) -> MessageRecord:
        rec = chat.messages.get(message_id)
        if rec is None or rec.deleted or rec.from_bot:
            raise AssertionError(f"user {chat.id} has no message #{message_id} to edit")
        if rec.kind != "text":
            raise AssertionError(f"message #{message_id} is a {rec.kind}, not a text message")
        rec.text = rec.raw_text = new_text
        rec.data["text"] = new_text
        rec.data.pop("entities", None)
        entities = detect_entities(new_text)
        if entities:
            rec.data["entities"] = entities
        rec.edited += 1
        rec.data["edit_date"] = int(time.time())
        self.push_update({"edited_message": copy.deepcopy(rec.data)})
        return rec

    def _member_edit(self, group: GroupState, sender_id: int, message_id: int, new_text: str) -> MessageRecord:
        rec = group.messages.get(message_id)
        if rec is None or rec.deleted or rec.from_bot or rec.data.get("from", {}).get("id") != sender_id:
            raise AssertionError(f"user {sender_id} has no message #{message_id} in {group.title!r} to edit")
        if rec.kind not in ("text", "photo", "document", "voice", "video"):
            raise AssertionError(f"message #{message_id} is a {rec.kind}; it has no text to edit")
        key, ents_key = ("text", "entities") if rec.kind == "text" else ("caption", "caption_entities")
        rec.text = rec.raw_text = new_text
        rec.data[key] = new_text
        rec.data.pop(ents_key, None)
        entities = detect_entities(new_text)
        rec.entities = entities
        if entities:
            rec.data[ents_key] = entities
        rec.edited += 1
        rec.data["edit_date"] = int(time.time())
        self.push_update({"edited_message": copy.deepcopy(rec.data)})
        group.notify()
        return rec

    def _set_blocked(self, chat: ChatState, blocked: bool) -> None:
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        old_member: dict[str, Any] = {"status": old, "user": self.bot_user}
        new_member: dict[str, Any] = {"status": new, "user": self.bot_user}
        if old == "kicked":
            old_member["until_date"] = 0
        if new == "kicked":
            new_member["until_date"] = 0
        self.push_update(
            {
                "my_chat_member": {
                    "chat": chat.chat_object(),
                    "from": dict(chat.user),
                    "date": int(time.time()),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                }
            }
        )
        chat.notify()
