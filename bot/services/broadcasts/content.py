"""Composing: check_content refuses what Telegram would refuse (empty, too long after HTML parsing,
a broken or unknown tag, a bad link) before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit

from bot.services.errors import Invalid

TEXT_LIMIT = 4096  # characters of a message after HTML parsing (UTF-16 code units, as Telegram counts)


CAPTION_LIMIT = 1024


BUTTON_TEXT_LIMIT = 64  # Broadcast.button_text


BUTTON_URL_LIMIT = 512  # Broadcast.button_url


KINDS = ("text", "photo", "document")


# Telegram's HTML: these tags (and their attributes) and nothing else.
_TAGS = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "tg-spoiler": (),
    "span": ("class",),
    "a": ("href",),
    "code": ("class",),
    "pre": (),
    "blockquote": ("expandable",),
    "tg-emoji": ("emoji-id",),
}


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>")


_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|lt|gt|amp|quot);")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain_text(html: str) -> str:
    """The text a recipient reads: ``html`` checked against Telegram's rules and parsed.
    Raises ``Invalid("html", problem=…)`` for a broken tag, an unknown tag, a stray ``<`` or ``&``."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(html):
        char = html[pos]
        if char == "<":
            match = _TAG.match(html, pos)
            if match is None:
                raise Invalid("html", problem="stray_lt", at=pos)
            closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3) or ""
            if name not in _TAGS:
                raise Invalid("html", problem="unknown_tag", tag=name)
            if closing:
                if not stack or stack[-1] != name:
                    raise Invalid("html", problem="unclosed" if stack else "unopened", tag=stack[-1] if stack else name)
                stack.pop()
            else:
                for attr, value in _ATTR.findall(attrs):
                    if attr.lower() not in _TAGS[name]:
                        raise Invalid("html", problem="attribute", tag=name)
                    if name == "a" and attr.lower() == "href":
                        href = unescape(value.strip("\"'"))
                        if not href or urlsplit(href).scheme not in ("http", "https", "tg", "mailto"):
                            raise Invalid("html", problem="link", tag=name)
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(html, pos)
            if match is None:
                raise Invalid("html", problem="stray_amp", at=pos)
            out.append(unescape(match.group(0)))
            pos = match.end()
        else:  # a bare ">" is read as text by Telegram
            nxt = min((i for i in (html.find("<", pos), html.find("&", pos)) if i >= 0), default=-1)
            end = len(html) if nxt < 0 else nxt
            out.append(html[pos:end])
            pos = end
    if stack:
        raise Invalid("html", problem="unclosed", tag=stack[-1])
    return "".join(out)


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or " " in url or len(url) > BUTTON_URL_LIMIT:
        raise Invalid("url")
    return url


@dataclass(frozen=True, slots=True)
class Content:
    kind: str = "text"  # text, photo, document
    text: str | None = None  # HTML; the caption of a photo or a document
    file_id: str | None = None
    button_text: str | None = None
    button_url: str | None = None


def check_content(content: Content) -> Content:
    """Refuses what Telegram would refuse, with the reason; returns the content tidied."""
    if content.kind not in KINDS:
        raise Invalid("kind")
    text = (content.text or "").strip()
    if content.kind == "text":
        if not plain_text(text).strip():
            raise Invalid("empty")
        limit, reason = TEXT_LIMIT, "too_long"
    else:
        if not content.file_id:
            raise Invalid("file")
        limit, reason = CAPTION_LIMIT, "caption_too_long"
    length = utf16_len(plain_text(text))
    if length > limit:
        raise Invalid(reason, length=length, limit=limit)
    button_text = (content.button_text or "").strip() or None
    button_url = (content.button_url or "").strip() or None
    if (button_text is None) != (button_url is None):
        raise Invalid("button")
    if button_text is not None:
        if len(button_text) > BUTTON_TEXT_LIMIT:
            raise Invalid("button_text", limit=BUTTON_TEXT_LIMIT)
        button_url = check_url(button_url or "")
    return Content(content.kind, text or None, content.file_id, button_text, button_url)
