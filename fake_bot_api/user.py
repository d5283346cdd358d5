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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .records import ChatEvent, ChatState, MessageRecord

if TYPE_CHECKING:  # the whole server is built on this module: for annotations only
    from .server import FakeTelegram

from .watcher import BotMessage, ChatWatcher, _Done, _find_button, _flat, _short

__all__ = ["BotMessage", "ChatWatcher", "FakeUser"]


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
