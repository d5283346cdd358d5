"""Forum topics in supergroups, chat members and administrators."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .constants import (
    BOT_ADMIN_RIGHTS,
    MAX_TOPIC_NAME,
    TOPIC_ICON_COLORS,
)
from .messages import Messages
from .records import (
    ChatEvent,
    GroupState,
    MessageRecord,
    Params,
    TopicState,
    _as_int,
    _as_str,
    _clean,
    api_method,
    bad_request,
)

if TYPE_CHECKING:
    pass


class Forum(Messages):
    """Forum topics in supergroups, chat members and administrators."""

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
