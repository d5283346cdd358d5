"""Text formatting rules of the Bot API, re-implemented for the fake server.

Everything here works on Python ``str`` but reports what Telegram reports:
entity offsets/lengths in UTF-16 code units, parse errors with *byte* offsets
into the UTF-8 encoded source text.

Public helpers:

* :func:`utf16_len` - length as Telegram counts it.
* :func:`parse_formatted` - ``(text, parse_mode, entities) -> (plain, entities)``
  raising :class:`ParseError` with Telegram's wording (the part after
  ``"Bad Request: can't parse entities: "``).
* :func:`detect_entities` - the entities Telegram adds by itself
  (bot_command, mention, hashtag, url, email).

HTML and auto-detection are here; MarkdownV2 and legacy Markdown in ``markdown.py``; what they
share in ``text_base.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .markdown import parse_markdown_legacy, parse_markdown_v2
from .text_base import ParseError, UnsupportedParseMode, _Builder, _byte_offset, normalize_parse_mode, utf16_len

__all__ = [
    "ParseError",
    "UnsupportedParseMode",
    "detect_entities",
    "normalize_parse_mode",
    "parse_formatted",
    "utf16_len",
]


# --------------------------------------------------------------------------- HTML

_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_TAGS = {*_HTML_SIMPLE, "a", "span", "blockquote", "tg-emoji"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{0,15});")


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode the HTML entity starting at ``text[i] == '&'``; (char, next index) or None."""
    m = _ENTITY_RE.match(text, i)
    if not m:
        return None
    body = m.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), m.end()
    ch = _NAMED_ENTITIES.get(body)
    if ch is None:
        return None
    return ch, m.end()


def _decode_attr_value(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            dec = _decode_entity(value, i)
            if dec is not None:
                out.append(dec[0])
                i = dec[1]
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    start16: int
    attrs: dict[str, str]
    byte_offset: int


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    b = _Builder()
    stack: list[_OpenTag] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            i = _html_entity(text, i, b, strict_entities)
        elif c != "<":
            j = i
            while j < n and text[j] not in "&<":
                j += 1
            b.add(text[i:j])
            i = j
        elif i + 1 < n and text[i + 1] == "/":
            i = _html_end_tag(text, i, b, stack)
        else:
            tag, i = _html_start_tag(text, i, b)
            stack.append(tag)
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return b.text(), b.entities


def _html_entity(text: str, i: int, b: _Builder, strict: bool) -> int:
    """An ``&…;`` at ``i``: its character added; returns where the text goes on."""
    dec = _decode_entity(text, i)
    if dec is not None:
        b.add(dec[0])
        return dec[1]
    if strict:
        # Real Telegram silently keeps an unrecognised '&' as text; the fake is
        # stricter by default so unescaped user input is caught in tests.
        end = text.find(";", i, i + 32)
        shown = text[i : end + 1] if end != -1 else "&"
        raise ParseError(
            f"Unsupported HTML entity \"{shown}\" at byte offset {_byte_offset(text, i)}; escape '&' as &amp;"
        )
    b.add("&")
    return i + 1


def _html_end_tag(text: str, begin: int, b: _Builder, stack: list[_OpenTag]) -> int:
    """``</name>`` at ``begin``: closes the innermost open tag; returns where the text goes on."""
    end = text.find(">", begin)
    if end == -1:
        raise ParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    name = text[begin + 2 : end].strip().lower()
    if not stack:
        raise ParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    top = stack[-1]
    if name and name != top.name:
        raise ParseError(
            f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "</{top.name}>", found "</{name}>"'
        )
    stack.pop()
    _close_html_tag(b, top, stack)
    return end + 1


def _html_start_tag(text: str, begin: int, b: _Builder) -> tuple[_OpenTag, int]:
    """``<name attr=…>`` at ``begin``: the open tag, and where the text goes on."""
    n = len(text)
    j = begin + 1
    while j < n and not text[j].isspace() and text[j] != ">":
        j += 1
    if j >= n:
        raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    name = text[begin + 1 : j].lower()
    if name not in _HTML_TAGS:
        raise ParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}')
    attrs, j = _html_attributes(text, j, name, begin)
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
    if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise ParseError(f'Custom emoji entity must have a valid "emoji-id" at byte offset {_byte_offset(text, begin)}')
    return _OpenTag(name, b.pos16, attrs, _byte_offset(text, begin)), j


def _html_attributes(text: str, j: int, name: str, begin: int) -> tuple[dict[str, str], int]:
    """The attributes of the tag ``name`` from ``j`` to its ``>``; returns them and the index after it."""
    n = len(text)
    attrs: dict[str, str] = {}
    while True:
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and (text[k].isalnum() or text[k] in "-_"):
            k += 1
        attr_name = text[j:k].lower()
        if not attr_name:
            raise ParseError(f'Empty attribute name in the tag "{name}" at byte offset {_byte_offset(text, begin)}')
        j = k
        while j < n and text[j].isspace():
            j += 1
        if j < n and text[j] == "=":
            value, j = _html_attribute_value(text, j + 1, name, attr_name, begin)
            attrs[attr_name] = _decode_attr_value(value)
        elif name == "blockquote" and attr_name == "expandable":
            attrs[attr_name] = ""
        else:
            raise ParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )


def _html_attribute_value(text: str, j: int, name: str, attr_name: str, begin: int) -> tuple[str, int]:
    """A value after ``=`` (quoted or bare) from ``j``; returns it raw and the index after it."""
    n = len(text)
    while j < n and text[j].isspace():
        j += 1
    if j >= n:
        raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    if text[j] in "\"'":
        quote = text[j]
        end = text.find(quote, j + 1)
        if end == -1:
            raise ParseError(
                f'Unclosed end of attribute value "{attr_name}" in the tag "{name}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        return text[j + 1 : end], end + 1
    k = j
    while k < n and not text[k].isspace() and text[k] != ">":
        k += 1
    return text[j:k], k


def _close_html_tag(b: _Builder, tag: _OpenTag, stack: list[_OpenTag]) -> None:
    name = tag.name
    if name == "a":
        href = tag.attrs.get("href", "")
        if href:
            b.entity("text_link", tag.start16, url=href)
        else:
            b.entity("url", tag.start16)
    elif name == "span":
        b.entity("spoiler", tag.start16)
    elif name == "blockquote":
        b.entity("expandable_blockquote" if "expandable" in tag.attrs else "blockquote", tag.start16)
    elif name == "tg-emoji":
        b.entity("custom_emoji", tag.start16, custom_emoji_id=tag.attrs.get("emoji-id"))
    elif name == "code" and stack and stack[-1].name == "pre" and stack[-1].start16 == tag.start16:
        # <pre><code class="language-x">...</code></pre> -> one pre entity with a language
        cls = tag.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].attrs["language"] = cls[len("language-") :]
    elif name == "pre":
        b.entity("pre", tag.start16, language=tag.attrs.get("language") or None)
    else:
        b.entity(_HTML_SIMPLE[name], tag.start16)


# -------------------------------------------------------------- auto-detection

_AUTO_PATTERNS = [
    ("url", re.compile(r"(?<![\w@])(?:https?://|tg://)[^\s<>\"]+|(?<![\w@/.])(?:www\.)[^\s<>\"]+")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?!\w)")),
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]
_NO_AUTO_INSIDE = {"code", "pre", "text_link", "url", "email", "custom_emoji"}


def detect_entities(text: str, existing: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Entities Telegram detects by itself, skipping spans covered by code/links."""
    existing = existing or []
    blocked = [(e["offset"], e["offset"] + e["length"]) for e in existing if e.get("type") in _NO_AUTO_INSIDE]
    taken: list[tuple[int, int]] = []
    found: list[dict[str, Any]] = []
    for etype, rx in _AUTO_PATTERNS:
        for m in rx.finditer(text):
            start = utf16_len(text[: m.start()])
            length = utf16_len(m.group(0).rstrip(".,;:!?)"))
            if etype != "url":
                length = utf16_len(m.group(0))
            end = start + length
            if any(s < end and start < e for s, e in blocked + taken):
                continue
            taken.append((start, end))
            found.append({"type": etype, "offset": start, "length": length})
    return found


def _sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _strip(plain: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim leading/trailing whitespace like Telegram, fixing entity offsets."""
    lead = len(plain) - len(plain.lstrip())
    stripped = plain.strip()
    if not stripped:
        return "", []
    shift = utf16_len(plain[:lead])
    total = utf16_len(stripped)
    fixed: list[dict[str, Any]] = []
    for ent in entities:
        start = max(0, ent["offset"] - shift)
        end = min(total, ent["offset"] + ent["length"] - shift)
        if end > start:
            fixed.append({**ent, "offset": start, "length": end - start})
    return stripped, fixed


def parse_formatted(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None = None,
    *,
    strict_html_entities: bool = True,
) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain_text, entities) exactly as Telegram would store them.

    ``parse_mode`` must already be normalized (see :func:`normalize_parse_mode`).
    Explicit ``entities`` are used only when there is no parse_mode (as in Telegram).
    """
    if parse_mode == "HTML":
        plain, ents = parse_html(text, strict_entities=strict_html_entities)
    elif parse_mode == "MarkdownV2":
        plain, ents = parse_markdown_v2(text)
    elif parse_mode == "Markdown":
        plain, ents = parse_markdown_legacy(text)
    else:
        plain = text
        ents = [dict(e) for e in entities or [] if isinstance(e, dict)]
    plain, ents = _strip(plain, ents)
    ents = ents + detect_entities(plain, ents)
    return plain, _sort_entities(ents)
