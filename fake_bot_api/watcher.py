"""What a person sees of the bot: ``BotMessage`` (a message as she sees it) and ``ChatWatcher`` (waiting
for the bot in one chat: expect, silence, deletions, a report of what it did). ``FakeUser`` and
``FakeGroup`` build on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .records import ChatEvent, ChatState, MessageRecord

if TYPE_CHECKING:  # the whole server is built on this module: for annotations only
    from .server import FakeTelegram

__all__ = ["BotMessage", "ChatWatcher"]

_TRUNCATE = 100


def _short(text: str | None, limit: int = _TRUNCATE) -> str:
    text = (text or "").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _find_button(buttons: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    """Exact (case-insensitive) label first, else the first button whose text contains it."""
    wanted = label.strip().casefold()
    for button in buttons:
        if str(button.get("text", "")).strip().casefold() == wanted:
            return button
    for button in buttons:
        if wanted in str(button.get("text", "")).casefold():
            return button
    return None


def _flat(markup: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    rows = (markup or {}).get(key) or []
    return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]


@dataclass
class BotMessage:
    """A snapshot of one bot message as the person sees it."""

    message_id: int
    chat_id: int
    kind: str  # text, photo, document, voice, sticker, ...
    text: str  # plain text (tags stripped, entities unescaped) or caption; "" if none
    raw_text: str | None  # as the bot sent it (with markup)
    parse_mode: str | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[str]] = field(default_factory=list)  # inline keyboard, rows of labels
    button_data: dict[str, str] = field(default_factory=dict)  # label -> callback_data
    url_buttons: dict[str, str] = field(default_factory=dict)  # label -> url
    reply_keyboard: list[list[str]] | None = None  # rows, if this message set a reply keyboard
    reply_markup_kind: str | None = None  # "inline" | "keyboard" | "remove" | "force_reply" | None
    document: tuple[str, bytes] | None = None  # (filename, content) for documents
    edited: int = 0
    deleted: bool = False
    event: str = "live"  # "sent" | "edited" | "deleted" | "live"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the Telegram Message object

    @classmethod
    def from_record(cls, rec: MessageRecord, event: str = "live") -> BotMessage:
        inline = rec.reply_markup or {}
        buttons = [[str(b.get("text", "")) for b in row] for row in inline.get("inline_keyboard", [])]
        flat = _flat(inline, "inline_keyboard")
        reply_kb = rec.reply_keyboard
        kind = None
        rows = None
        if inline:
            kind = "inline"
        if reply_kb:
            if "keyboard" in reply_kb:
                kind = "keyboard"
                rows = [[b["text"] if isinstance(b, dict) else str(b) for b in row] for row in reply_kb["keyboard"]]
            elif reply_kb.get("remove_keyboard"):
                kind = "remove"
            elif reply_kb.get("force_reply"):
                kind = "force_reply"
        return cls(
            message_id=rec.message_id,
            chat_id=rec.chat_id,
            kind=rec.kind,
            text=rec.text or "",
            raw_text=rec.raw_text,
            parse_mode=rec.parse_mode,
            entities=list(rec.entities),
            buttons=buttons,
            button_data={str(b["text"]): b["callback_data"] for b in flat if "callback_data" in b},
            url_buttons={str(b["text"]): b["url"] for b in flat if "url" in b},
            reply_keyboard=rows,
            reply_markup_kind=kind,
            document=rec.document,
            edited=rec.edited,
            deleted=rec.deleted,
            event=event,
            raw=rec.data,
        )

    @property
    def caption(self) -> str:
        return self.text if self.kind != "text" else ""

    @property
    def message_thread_id(self) -> int | None:
        """The forum topic (or reply thread) the message is in, as Telegram reports it."""
        return self.raw.get("message_thread_id")

    @property
    def is_topic_message(self) -> bool:
        return bool(self.raw.get("is_topic_message"))

    @property
    def reply_to_message_id(self) -> int | None:
        """Id of the message this one replies to (in a topic: the topic's creation message
        unless the bot replied to something explicitly)."""
        reply = self.raw.get("reply_to_message")
        return reply.get("message_id") if isinstance(reply, dict) else None

    @property
    def all_buttons(self) -> list[str]:
        return [label for row in self.buttons for label in row]

    def has_button(self, label: str) -> bool:
        """Is there an inline button whose text contains ``label`` (case-insensitive)?"""
        return _find_button(_flat(self.raw.get("reply_markup"), "inline_keyboard"), label) is not None

    def describe(self) -> str:
        parts = [f"#{self.message_id}"]
        if self.message_thread_id is not None and self.is_topic_message:
            parts.append(f"(topic {self.message_thread_id})")
        if self.kind != "text":
            parts.append(f"[{self.kind}]")
        parts.append(repr(_short(self.text)))
        if self.buttons:
            parts.append("buttons: " + " / ".join(" | ".join(f"[{b}]" for b in row) for row in self.buttons))
        if self.reply_keyboard:
            parts.append("keyboard: " + " / ".join(" | ".join(row) for row in self.reply_keyboard))
        return " ".join(parts)

    def __contains__(self, needle: str) -> bool:
        return needle.casefold() in self.text.casefold()


class _Done:
    """Returned by sync actions so ``await user.block()`` works as well."""

    def __await__(self) -> Generator[Any, None, None]:
        yield from ()


class ChatWatcher:
    """Waits for / reports what the bot did in one chat (shared by FakeUser and FakeGroup)."""

    def __init__(self, fake: FakeTelegram, chat: ChatState):
        self.fake = fake
        self.chat = chat
        self._cursor = len(chat.events)  # message events (sent/edited) consumed up to here
        self._cb_cursor = len(chat.events)  # callback answers consumed up to here
        self._del_cursor = len(chat.events)  # deletions consumed up to here

    async def _wait_for(
        self,
        cursor_attr: str,
        match: Callable[[ChatEvent], Any],
        timeout: float,
    ) -> tuple[int, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            version = self.chat.version
            events = self.chat.events
            for idx in range(getattr(self, cursor_attr), len(events)):
                found = match(events[idx])
                if found is not None and found is not False:
                    setattr(self, cursor_attr, idx + 1)
                    return idx, found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self.chat.wait_change(version, min(remaining, 1.0))

    async def _expect(
        self,
        contains: str | None,
        timeout: float,
        predicate: Callable[[BotMessage], bool] | None,
        where: Callable[[BotMessage], bool] | None = None,
        where_text: str = "",
    ) -> BotMessage:
        needle = contains.casefold() if contains is not None else None

        def match(ev: ChatEvent) -> BotMessage | None:
            if ev.kind not in ("sent", "edited") or ev.message is None:
                return None
            msg = BotMessage.from_record(ev.message, ev.kind)
            if where is not None and not where(msg):
                return None
            if needle is not None and needle not in msg.text.casefold():
                return None
            if predicate is not None and not predicate(msg):
                return None
            return msg

        start = self._cursor
        found = await self._wait_for("_cursor", match, timeout)
        if found is None:
            what = f"containing {contains!r}" if contains is not None else "at all"
            if predicate is not None:
                what += " (and matching the predicate)"
            raise AssertionError(
                f"{self!r}: the bot did not send or edit a message {what}{where_text} within {timeout:g}s.\n"
                + self.report(start)
            )
        return found[1]

    async def _expect_silence(
        self, seconds: float, where: Callable[[BotMessage], bool] | None = None, where_text: str = ""
    ) -> None:
        def match(ev: ChatEvent) -> bool:
            if ev.kind not in ("sent", "edited") or ev.message is None:
                return False
            return where is None or where(BotMessage.from_record(ev.message, ev.kind))

        start = self._cursor
        found = await self._wait_for("_cursor", match, seconds)
        if found is not None:
            ev = self.chat.events[found[0]]
            assert ev.message is not None
            raise AssertionError(
                f"{self!r}: expected silence{where_text} for {seconds:g}s but the bot {ev.kind} "
                f"{BotMessage.from_record(ev.message, ev.kind).describe()}.\n" + self.report(start)
            )

    async def expect_deleted(
        self,
        message: BotMessage | int | None = None,
        *,
        timeout: float = 30.0,
    ) -> BotMessage:
        """Wait for the bot to delete a message (a specific one if given)."""
        mid = message.message_id if isinstance(message, BotMessage) else message

        def match(ev: ChatEvent) -> BotMessage | None:
            if ev.kind != "deleted" or ev.message is None:
                return None
            if mid is not None and ev.message.message_id != mid:
                return None
            return BotMessage.from_record(ev.message, "deleted")

        start = self._del_cursor
        found = await self._wait_for("_del_cursor", match, timeout)
        if found is None:
            which = f"message #{mid}" if mid is not None else "any message"
            raise AssertionError(
                f"{self!r}: the bot did not delete {which} within {timeout:g}s.\n" + self.report(start)
            )
        return found[1]

    def report(self, since: int | None = None) -> str:
        """Human-readable account of what the bot did in this chat (for failure messages)."""
        since = self._cursor if since is None else since
        lines: list[str] = []
        recent = self.chat.events[since:]
        if recent:
            lines.append("Since then the bot:")
            for ev in recent[-15:]:
                lines.append("  " + _describe_event(ev))
        else:
            lines.append("Since then the bot did nothing in this chat.")
        older = [BotMessage.from_record(r).describe() for r in self.chat.bot_messages()][-5:]
        if older:
            lines.append("Live bot messages in the chat (oldest first):")
            lines.extend("  " + d for d in older)
        fake = self.fake
        if not fake.polling and not fake.webhook_url:
            lines.append(
                f"Hint: nobody is long-polling getUpdates and no webhook is set "
                f"({len(fake.pending_updates)} update(s) pending) — is the bot running?"
            )
        elif fake.pending_updates:
            lines.append(f"{len(fake.pending_updates)} update(s) not yet fetched/confirmed by the bot.")
        if fake.internal_errors:
            lines.append(f"The fake server itself had {len(fake.internal_errors)} internal error(s).")
        return "\n".join(lines)


def _describe_event(ev: ChatEvent) -> str:
    if ev.kind in ("sent", "edited", "deleted") and ev.message is not None:
        return f"{ev.kind:<7} {BotMessage.from_record(ev.message, ev.kind).describe()}"
    if ev.kind == "callback_answer":
        text = ev.params.get("text")
        alert = " (alert)" if ev.params.get("show_alert") else ""
        return f"answered callback{alert}: {_short(text)!r}" if text else "answered callback (no text)"
    if ev.kind == "service" and ev.message is not None:
        body = next((k for k in ev.params), "service")
        topic = ev.message.data.get("message_thread_id")
        return f"service {body} (topic {topic}): {ev.params.get(body)}"
    if ev.kind == "chat_action":
        return f"chat action: {ev.params.get('action')}"
    if ev.kind == "api_error":
        p = ev.params
        return f"API ERROR {p.get('method')} -> {p.get('error_code')} {p.get('description')}"
    return f"{ev.kind}: {ev.params}"
