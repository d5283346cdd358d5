"""Validation shared by the methods: chats, formatting, markup, replies, threads, stored messages, files."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .constants import (
    _BUTTON_URL_RE,
    INLINE_BUTTON_ACTIONS,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    THREAD_NOT_FOUND,
)
from .control import Control
from .formatting import (
    ParseError,
    UnsupportedParseMode,
    normalize_parse_mode,
    parse_formatted,
    utf16_len,
)
from .records import (
    _FILE_ID_PREFIX,
    ChatEvent,
    ChatState,
    GroupState,
    MessageRecord,
    Params,
    StoredFile,
    TelegramError,
    UploadedFile,
    _as_bool,
    _as_int,
    _as_str,
    _clean,
    bad_request,
)

if TYPE_CHECKING:
    pass


class Checks(Control):
    """Validation shared by the methods: chats, formatting, markup, replies, threads, stored messages, files."""

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
