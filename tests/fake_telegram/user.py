"""A "person" talking to the bot through the fake Telegram server.

Typical use::

    user = fake.user(first_name="Anna", language_code="ru")
    await user.send("/start")
    msg = await user.expect("Welcome")
    await user.press("Crisis help")
    await user.expect("8-800")

Every action pushes a real update (the same JSON Telegram would send). Every bot action
in the chat (message sent / edited / deleted, callback answered) is an *event*; the
``expect*`` methods wait, with a bounded timeout, for new events since the user's last
action and fail with a readable transcript of what the bot actually did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ChatEvent, ChatState, FakeTelegram, MessageRecord

__all__ = ["BotMessage", "ChatWatcher", "FakeUser"]

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


class FakeUser(ChatWatcher):
    """One person in a private chat with the bot (chat id == user id)."""

    def __init__(self, fake: FakeTelegram, chat: ChatState):
        super().__init__(fake, chat)
        self.last_query_id: str | None = None  # id of the latest callback query this person caused

    # ------------------------------------------------------------------ identity

    @property
    def id(self) -> int:
        return self.chat.id

    user_id = id

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def first_name(self) -> str:
        return self.chat.user["first_name"]

    @property
    def language_code(self) -> str | None:
        return self.chat.user.get("language_code")

    @property
    def username(self) -> str | None:
        return self.chat.user.get("username")

    @property
    def user_object(self) -> dict[str, Any]:
        """The Telegram ``User`` object of this person."""
        return dict(self.chat.user)

    @property
    def blocked(self) -> bool:
        return self.chat.blocked

    def __repr__(self) -> str:
        return f"<FakeUser {self.first_name!r} id={self.id}>"

    # ------------------------------------------------------------------ actions

    def _before_action(self, what: str) -> None:
        if self.chat.blocked:
            raise AssertionError(f"{self!r} has blocked the bot and cannot {what}; call user.unblock() first")
        self._cursor = self._cb_cursor = self._del_cursor = len(self.chat.events)

    async def send(self, text: str, *, reply_to: int | BotMessage | None = None) -> int:
        """Send a text message; commands get a bot_command entity. Returns the message_id."""
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        self._before_action("send messages")
        target = reply_to.message_id if isinstance(reply_to, BotMessage) else reply_to
        return self.fake._user_text(self.chat, text, reply_to=target).message_id

    async def send_sticker(self) -> int:
        self._before_action("send stickers")
        return self.fake._user_media(self.chat, "sticker").message_id

    async def send_photo(self, caption: str | None = None) -> int:
        self._before_action("send photos")
        return self.fake._user_media(self.chat, "photo", caption=caption).message_id

    async def send_voice(self) -> int:
        self._before_action("send voice messages")
        return self.fake._user_media(self.chat, "voice").message_id

    async def send_video_note(self) -> int:
        self._before_action("send video notes")
        return self.fake._user_media(self.chat, "video_note").message_id

    async def send_document(
        self,
        caption: str | None = None,
        *,
        filename: str = "document.pdf",
        content: bytes | None = None,
        mime_type: str | None = None,
    ) -> int:
        self._before_action("send documents")
        rec = self.fake._user_media(
            self.chat, "document", caption=caption, filename=filename, content=content, mime=mime_type
        )
        return rec.message_id

    async def send_location(self, latitude: float, longitude: float) -> int:
        self._before_action("send locations")
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self.fake._user_message(self.chat, {"location": location}).message_id

    async def send_contact(self, phone: str, first_name: str | None = None, *, own: bool = True) -> int:
        """Share a contact (``own=True``: the person's own, as the request_contact button does)."""
        self._before_action("send contacts")
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name or self.first_name}
        if own:
            contact["user_id"] = self.id
            if self.chat.user.get("last_name"):
                contact["last_name"] = self.chat.user["last_name"]
        return self.fake._user_message(self.chat, {"contact": contact}).message_id

    def _resolve_message(self, message: BotMessage | int | None) -> MessageRecord | None:
        if message is None:
            return None
        mid = message.message_id if isinstance(message, BotMessage) else int(message)
        rec = self.chat.messages.get(mid)
        if rec is None or not rec.from_bot:
            raise AssertionError(f"there is no bot message #{mid} in the chat with {self!r}")
        if rec.deleted:
            raise AssertionError(f"bot message #{mid} was deleted; there is nothing to press")
        return rec

    async def press(self, label: str, message: BotMessage | int | None = None) -> str:
        """Press the inline button whose text contains ``label``; returns the callback query id."""
        self._before_action("press buttons")
        explicit = self._resolve_message(message)
        candidates = [explicit] if explicit is not None else list(reversed(self.chat.bot_messages()))
        for rec in candidates:
            button = _find_button(_flat(rec.reply_markup, "inline_keyboard"), label)
            if button is None:
                continue
            if "url" in button:
                raise AssertionError(
                    f"button {button['text']!r} in message #{rec.message_id} is a URL button "
                    f"({button['url']}); there is nothing to press in the chat"
                )
            if "callback_data" not in button:
                other = next((k for k in button if k != "text"), "?")
                raise AssertionError(
                    f"button {button['text']!r} in message #{rec.message_id} is a {other} button, not a callback button"
                )
            self.last_query_id = self.fake._push_callback(self.chat, rec, button["callback_data"])
            return self.last_query_id
        raise AssertionError(self._no_button_report(label, candidates, explicit is not None))

    def _no_button_report(self, label: str, candidates: list[MessageRecord], explicit: bool) -> str:
        where = f"message #{candidates[0].message_id}" if explicit else f"the chat with {self!r}"
        lines = [f"no inline button matching {label!r} in {where}."]
        shown = [r for r in candidates if r.reply_markup]
        if not shown:
            lines.append("No visible inline buttons at all.")
        else:
            lines.append("Visible inline buttons (newest message first):")
            for rec in shown[:8]:
                rows = rec.reply_markup.get("inline_keyboard", []) if rec.reply_markup else []
                labels = " / ".join(" | ".join(f"[{b.get('text')}]" for b in row) for row in rows)
                lines.append(f"  #{rec.message_id} {_short(rec.text, 60)!r}: {labels}")
        if self.chat.reply_keyboard:
            rows = self.chat.reply_keyboard.get("keyboard", [])
            labels = " / ".join(" | ".join(f"[{b.get('text')}]" for b in row) for row in rows)
            lines.append(f"(Reply keyboard shown: {labels} — use press_reply() for those.)")
        return "\n".join(lines)

    async def press_reply(self, label: str) -> int:
        """Tap a button of the reply keyboard currently shown; returns the sent message_id."""
        keyboard = self.chat.reply_keyboard
        if not keyboard:
            raise AssertionError(f"no reply keyboard is shown to {self!r} (never sent, or removed by the bot)")
        flat = _flat(keyboard, "keyboard")
        button = _find_button(flat, label)
        if button is None:
            rows = keyboard.get("keyboard", [])
            labels = " / ".join(" | ".join(f"[{b.get('text')}]" for b in row) for row in rows)
            raise AssertionError(f"no reply keyboard button matching {label!r}; shown: {labels}")
        if button.get("request_contact"):
            return await self.send_contact(f"+7900{self.id % 10_000_000:07d}")
        if button.get("request_location"):
            return await self.send_location(55.7558, 37.6173)
        return await self.send(button["text"])

    async def forge_callback(self, data: str | None, message: BotMessage | int | None = None) -> str:
        """Push a callback_query with arbitrary data (e.g. stale or malicious payloads)."""
        self._before_action("press buttons")
        rec = self._resolve_message(message)
        if rec is None:
            bot_messages = self.chat.bot_messages()
            if not bot_messages:
                raise AssertionError(f"the bot has sent no message to {self!r}; a callback needs one")
            rec = bot_messages[-1]
        self.last_query_id = self.fake._push_callback(self.chat, rec, data)
        return self.last_query_id

    async def edit(self, message_id: int, new_text: str) -> None:
        """Edit one of the person's own text messages (pushes edited_message)."""
        self._before_action("edit messages")
        self.fake._user_edit(self.chat, message_id, new_text)

    def block(self) -> _Done:
        """Block the bot: its sends now get 403; pushes my_chat_member (kicked)."""
        self.fake._set_blocked(self.chat, True)
        return _Done()

    def unblock(self) -> _Done:
        """Unblock the bot; pushes my_chat_member (member)."""
        self.fake._set_blocked(self.chat, False)
        self._cursor = self._cb_cursor = self._del_cursor = len(self.chat.events)
        return _Done()

    # ------------------------------------------------------------------ observation

    @property
    def events(self) -> list[ChatEvent]:
        return list(self.chat.events)

    @property
    def messages(self) -> list[BotMessage]:
        """All live (not deleted) bot messages in the chat, oldest first."""
        return [BotMessage.from_record(r) for r in self.chat.bot_messages()]

    @property
    def last(self) -> BotMessage | None:
        """The newest live bot message."""
        msgs = self.chat.bot_messages()
        return BotMessage.from_record(msgs[-1]) if msgs else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Rows of the reply keyboard currently shown, or None."""
        if not self.chat.reply_keyboard:
            return None
        return [
            [b["text"] if isinstance(b, dict) else str(b) for b in row] for row in self.chat.reply_keyboard["keyboard"]
        ]

    async def expect(
        self,
        contains: str | None = None,
        *,
        timeout: float = 30.0,
        predicate: Callable[[BotMessage], bool] | None = None,
    ) -> BotMessage:
        """Wait for the next new bot message or edit (since the last action/expect) matching.

        ``contains`` is matched case-insensitively against the plain text (or caption);
        ``predicate`` gets the :class:`BotMessage`. Earlier non-matching events are skipped.
        """
        return await self._expect(contains, timeout, predicate)

    async def expect_callback_answer(
        self,
        timeout: float = 30.0,
        *,
        query_id: str | None = None,
    ) -> dict[str, Any]:
        """Wait for the bot to answer this person's latest callback query; returns the answer params.

        Answers to older queries (a previous press answered late) are skipped; pass
        ``query_id`` to wait for a specific one.
        """
        wanted = query_id or self.last_query_id

        def match(ev: ChatEvent) -> dict[str, Any] | None:
            if ev.kind != "callback_answer":
                return None
            if wanted is not None and ev.params.get("callback_query_id") != wanted:
                return None
            return ev.params

        start = self._cb_cursor
        query = self.fake.callback_queries.get(wanted) if wanted else None
        if query is not None and query.answer is not None:
            return dict(query.answer)  # answered before we started waiting (e.g. before an expect)
        found = await self._wait_for("_cb_cursor", match, timeout)
        if found is None:
            unanswered = [q.id for q in self.fake.callback_queries.values() if q.chat_id == self.id and not q.answered]
            raise AssertionError(
                f"{self!r}: the bot did not answer callback query {wanted or '(any)'} within {timeout:g}s "
                f"(unanswered query ids: {unanswered or 'none'}).\n" + self.report(start)
            )
        return found[1]

    async def expect_silence(self, seconds: float = 0.5) -> None:
        """Assert the bot sends/edits nothing in this chat for ``seconds``."""
        await self._expect_silence(seconds)


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
