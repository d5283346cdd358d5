"""What the fake keeps: errors, recorded calls, messages, chats, groups and topics, and the
helpers that read a request's parameters."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .constants import (
    DEFAULT_DESCRIPTIONS,
    SERVICE_KINDS,
)

if TYPE_CHECKING:
    pass


log = logging.getLogger("fake_telegram")

Params = dict[str, Any]


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
