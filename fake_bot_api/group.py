"""A supergroup with forum topics, and the people who post in it.

Typical use::

    group = fake.supergroup(title="Кураторы", forum=True)   # the bot is an admin (can_manage_topics)
    curator = group.member(first_name="Ольга", admin=True)
    # ... the bot calls createForumTopic / sendMessage(message_thread_id=...) ...
    msg = await group.expect("Анна", thread_id=None)         # any topic; returns a BotMessage
    tid = msg.message_thread_id
    await curator.send("Здравствуйте!", thread_id=tid)       # -> a real `message` update for the bot

Members' posts are real updates (chat type "supergroup", ``chat.is_forum``, ``message_thread_id``
and ``is_topic_message`` inside a topic; a topic message without an explicit reply carries
``reply_to_message`` = the topic's ``forum_topic_created`` service message, as Telegram does).
Bot actions in the group (messages, edits, deletions, topic service messages) are events on the
group's :class:`~.server.GroupState`; ``expect*`` wait for them like :class:`~.user.FakeUser`'s do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .constants import SERVICE_KINDS
from .formatting import detect_entities
from .records import GroupState, MessageRecord, TopicState
from .user import FakeUser
from .watcher import BotMessage, ChatWatcher, _Done

if TYPE_CHECKING:  # the whole server is built on this module: for annotations only
    from .server import FakeTelegram

__all__ = ["FakeGroup", "FakeGroupMember"]


def _mid(message: int | BotMessage | None) -> int | None:
    return message.message_id if isinstance(message, BotMessage) else message


class FakeGroup(ChatWatcher):
    """A supergroup the bot administers (a forum with topics unless ``forum=False``)."""

    chat: GroupState

    def __init__(self, fake: FakeTelegram, chat: GroupState):
        super().__init__(fake, chat)

    # ------------------------------------------------------------------ identity

    @property
    def id(self) -> int:
        return self.chat.id

    chat_id = id

    @property
    def title(self) -> str:
        return self.chat.title

    @property
    def is_forum(self) -> bool:
        return self.chat.is_forum

    @property
    def chat_object(self) -> dict[str, Any]:
        """The Telegram ``Chat`` object of the group."""
        return self.chat.chat_object()

    def __repr__(self) -> str:
        return f"<FakeGroup {self.title!r} id={self.id}>"

    @property
    def topics(self) -> dict[int, TopicState]:
        """Live topics: message_thread_id -> TopicState (``.name``, ``.closed``, ``.icon_color``)."""
        return dict(self.chat.topics)

    def topic(self, name: str) -> TopicState:
        """The live topic called ``name`` (exact match first, then substring)."""
        for topic in self.chat.topics.values():
            if topic.name == name:
                return topic
        for topic in self.chat.topics.values():
            if name.casefold() in topic.name.casefold():
                return topic
        names = [t.name for t in self.chat.topics.values()]
        raise AssertionError(f"{self!r} has no topic named {name!r}; topics: {names}")

    # ------------------------------------------------------------------ people

    def member(
        self,
        first_name: str = "Member",
        *,
        user_id: int | None = None,
        user: FakeUser | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
        admin: bool = False,
    ) -> FakeGroupMember:
        """A person who posts in the group. ``user=`` an existing FakeUser makes the same Telegram
        user a group member too (a curator who also talks to the bot privately)."""
        if user is not None:
            obj = user.chat.user  # the very same User object
        elif user_id is not None and user_id in self.fake.users:
            user = self.fake.users[user_id]
            obj = user.chat.user
        elif user_id is not None and user_id in self.chat.members:
            obj = self.chat.members[user_id]
        else:
            obj = self.fake._new_person(
                first_name,
                user_id=user_id,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
        self.chat.members[obj["id"]] = obj
        if admin:
            self.chat.admins.add(obj["id"])
        return FakeGroupMember(self, obj, user)

    # ------------------------------------------------------------------ observation

    def mark(self) -> None:
        """Forget everything the bot did so far: later expect*/expect_silence only see newer events."""
        self._cursor = self._cb_cursor = self._del_cursor = len(self.chat.events)

    def _where(self, thread_id: int | None) -> tuple[Callable[[BotMessage], bool] | None, str]:
        if thread_id is None:
            return None, f" in {self.title!r}"
        name = self.chat.topics[thread_id].name if thread_id in self.chat.topics else "?"
        return (lambda m: m.message_thread_id == thread_id), f" in topic {thread_id} ({name!r})"

    async def expect(
        self,
        contains: str | None = None,
        *,
        thread_id: int | None = None,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 30.0,
    ) -> BotMessage:
        """Wait for the next new bot message or edit in the group (in topic ``thread_id`` if given).

        Like :meth:`FakeUser.expect`: events since the last member action in this group / the last
        match / :meth:`mark` are scanned; earlier non-matching ones are skipped.
        """
        where, text = self._where(thread_id)
        return await self._expect(contains, timeout, predicate, where, text)

    async def expect_silence(self, seconds: float = 0.5, *, thread_id: int | None = None) -> None:
        """Assert the bot sends/edits nothing in the group (or the topic) for ``seconds``."""
        where, text = self._where(thread_id)
        await self._expect_silence(seconds, where, text)

    def records(self, thread_id: int | None = None) -> list[MessageRecord]:
        """The group's whole live history (bot, members, service messages), oldest first."""
        recs = sorted(self.chat.messages.values(), key=lambda r: r.message_id)
        return [
            r for r in recs if not r.deleted and (thread_id is None or r.data.get("message_thread_id") == thread_id)
        ]

    def messages(self, thread_id: int | None = None, *, everyone: bool = False) -> list[BotMessage]:
        """Live bot messages in the group / in one topic, oldest first (``everyone=True``: also
        members' posts and service messages such as ``forum_topic_created``)."""
        return [
            BotMessage.from_record(r)
            for r in self.records(thread_id)
            if everyone or (r.from_bot and r.kind not in SERVICE_KINDS)
        ]

    @property
    def last(self) -> BotMessage | None:
        msgs = self.chat.bot_messages()
        return BotMessage.from_record(msgs[-1]) if msgs else None


class FakeGroupMember:
    """One person posting in a :class:`FakeGroup`; every action pushes a real update."""

    def __init__(self, group: FakeGroup, user: dict[str, Any], private: FakeUser | None = None):
        self.group = group
        self.fake = group.fake
        self.user = user
        self.private = private  # the person's private chat with the bot, if any

    @property
    def id(self) -> int:
        return int(self.user["id"])

    user_id = id

    @property
    def first_name(self) -> str:
        return self.user["first_name"]

    @property
    def user_object(self) -> dict[str, Any]:
        return dict(self.user)

    @property
    def is_admin(self) -> bool:
        return self.id in self.group.chat.admins

    def __repr__(self) -> str:
        return f"<FakeGroupMember {self.first_name!r} id={self.id} in {self.group.title!r}>"

    def _post(
        self,
        content: dict[str, Any],
        *,
        text: str | None = None,
        thread_id: int | None = None,
        reply_to: int | BotMessage | None = None,
    ) -> int:
        self.group.mark()  # like FakeUser: expect() looks at what the bot does after this action
        rec = self.fake._member_message(
            self.group.chat, self.user, content, text=text, thread_id=thread_id, reply_to=_mid(reply_to)
        )
        return rec.message_id

    async def send(
        self,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: int | BotMessage | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> int:
        """Post a text (in topic ``thread_id``; a reply lands in the replied message's topic).
        ``entities``: formatting the client attached (bold, ...); commands/URLs are detected anyway."""
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        content: dict[str, Any] = {"text": text}
        ents = sorted([*(entities or []), *detect_entities(text)], key=lambda e: (e["offset"], -e["length"], e["type"]))
        if ents:
            content["entities"] = ents
        return self._post(content, text=text, thread_id=thread_id, reply_to=reply_to)

    async def _media(
        self, kind: str, caption: str | None, thread_id: int | None, reply_to: int | BotMessage | None, **kw: Any
    ) -> int:
        body = self.fake._media_content(self.id, kind, caption=caption, **kw)
        return self._post(body, text=caption, thread_id=thread_id, reply_to=reply_to)

    async def send_photo(
        self, caption: str | None = None, *, thread_id: int | None = None, reply_to: int | BotMessage | None = None
    ) -> int:
        return await self._media("photo", caption, thread_id, reply_to)

    async def send_sticker(self, *, thread_id: int | None = None, reply_to: int | BotMessage | None = None) -> int:
        return await self._media("sticker", None, thread_id, reply_to)

    async def send_voice(self, *, thread_id: int | None = None, reply_to: int | BotMessage | None = None) -> int:
        return await self._media("voice", None, thread_id, reply_to)

    async def send_video_note(self, *, thread_id: int | None = None, reply_to: int | BotMessage | None = None) -> int:
        return await self._media("video_note", None, thread_id, reply_to)

    async def send_document(
        self,
        caption: str | None = None,
        *,
        thread_id: int | None = None,
        reply_to: int | BotMessage | None = None,
        filename: str = "document.pdf",
        content: bytes | None = None,
        mime_type: str | None = None,
    ) -> int:
        return await self._media(
            "document", caption, thread_id, reply_to, filename=filename, content=content, mime=mime_type
        )

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        *,
        thread_id: int | None = None,
        reply_to: int | BotMessage | None = None,
    ) -> int:
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._post({"location": location}, thread_id=thread_id, reply_to=reply_to)

    async def edit(self, message_id: int, new_text: str) -> None:
        """Edit one of this member's own messages (text, or a caption); pushes edited_message."""
        self.group.mark()
        self.fake._member_edit(self.group.chat, self.id, message_id, new_text)

    def expect(self, contains: str | None = None, **kwargs: Any) -> Any:
        """Shortcut for ``group.expect`` (what the member sees is the group)."""
        return self.group.expect(contains, **kwargs)

    def leave(self) -> _Done:
        self.group.chat.members.pop(self.id, None)
        self.group.chat.admins.discard(self.id)
        return _Done()
