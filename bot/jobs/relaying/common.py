"""What both sides of the relay share: how a message is named, mentioned and read."""

from __future__ import annotations

from html import escape

from aiogram.types import Message

NUDGE_KIND = "handoff_nudge"  # "she is waiting": bot/jobs/renderers/handoff.py words it
MEDIA_KINDS = ("text", "photo", "voice", "document", "video_note", "sticker", "location", "video", "audio")


def mention(user_id: int, name: str) -> str:
    """A name that notifies the person in a group (HTML)."""
    return f'<a href="tg://user?id={user_id}">{escape(name)}</a>'


def kind_of(message: Message) -> str:
    content = getattr(message.content_type, "value", str(message.content_type))
    return content if content in MEDIA_KINDS else content[:16]


def text_of(message: Message) -> str | None:
    return message.text or message.caption
