"""Callback answers and files; what a person's client causes (used by FakeUser and FakeGroup)."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from .constants import (
    _BUTTON_URL_RE,
    MAX_CALLBACK_ANSWER_TEXT,
    QUERY_TOO_OLD,
)
from .formatting import (
    detect_entities,
)
from .forum import Forum
from .records import (
    CallbackQueryRecord,
    ChatEvent,
    ChatState,
    GroupState,
    MessageRecord,
    Params,
    _as_bool,
    _as_int,
    _as_str,
    _clean,
    api_method,
    bad_request,
)

if TYPE_CHECKING:
    pass


class People(Forum):
    """Callback answers and files; what a person's client causes (used by FakeUser and FakeGroup)."""

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
