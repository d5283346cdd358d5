"""Sending, editing, deleting, copying and forwarding messages."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from .chats import Chats
from .constants import (
    MSG_NOT_MODIFIED,
    SERVICE_KINDS,
)
from .records import (
    ChatEvent,
    ChatState,
    MessageRecord,
    Params,
    TelegramError,
    _as_int,
    _as_str,
    _clean,
    api_method,
    bad_request,
)

if TYPE_CHECKING:
    pass


class Messages(Chats):
    """Sending, editing, deleting, copying and forwarding messages."""

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
