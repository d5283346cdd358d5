"""MarkdownV2 and legacy Markdown, parsed as Telegram parses them (errors with byte offsets)."""

from __future__ import annotations

import re
from typing import Any

from .text_base import ParseError, _Builder, _byte_offset

# --------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    b = _Builder()
    stack: list[tuple[str, int, int]] = []  # (marker, start16, source index)
    link_stack: list[tuple[int, int, bool]] = []  # (start16, source index, is_emoji)
    quote_start: int | None = None
    n = len(text)
    i = 0

    def reserved(ch: str, at: int) -> ParseError:
        return ParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")

    while i < n:
        c = text[i]
        line_start = i == 0 or text[i - 1] == "\n"
        if line_start and quote_start is not None and c != ">" and not text.startswith("**>", i):
            b.entity("blockquote", quote_start, b.pos16 - 1)  # the line break is not quoted
            quote_start = None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            b.add(text[i + 1])
            i += 2
            continue
        if line_start and c == ">":
            if quote_start is None:
                quote_start = b.pos16
            i += 1
            continue
        if line_start and text.startswith("**>", i):
            if quote_start is None:
                quote_start = b.pos16
            i += 3
            continue
        if c == "`":
            i = _mdv2_code(text, i, b)
            continue
        if c == "!" and i + 1 < n and text[i + 1] == "[":
            link_stack.append((b.pos16, i, True))
            i += 2
            continue
        if c == "[":
            link_stack.append((b.pos16, i, False))
            i += 1
            continue
        if c == "]":
            if not link_stack:
                raise reserved(c, i)
            i = _mdv2_link_end(text, i, b, link_stack.pop())
            continue
        if c == "|" and not text.startswith("||", i):
            raise reserved(c, i)
        marker = _mdv2_marker(text, i)
        if marker is not None:
            if stack and stack[-1][0] == marker:
                _, start16, _src = stack.pop()
                b.entity(_MDV2_NAMES[marker][0], start16)
            else:
                stack.append((marker, b.pos16, i))
            i += len(marker)
            continue
        if c in _MDV2_RESERVED:
            raise reserved(c, i)
        b.add(c)
        i += 1

    if stack:
        marker, _start, src = stack[-1]
        raise ParseError(f"Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {_byte_offset(text, src)}")
    if link_stack:
        raise ParseError(f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, link_stack[-1][1])}")
    if quote_start is not None:
        b.entity("blockquote", quote_start)
    return b.text(), b.entities


def _mdv2_code(text: str, i: int, b: _Builder) -> int:
    """```pre``` (with its language on the first line) or `code` at ``i``; returns where the text goes on."""
    if text.startswith("```", i):
        j = i + 3
        nl = text.find("\n", j)
        language = None
        if nl != -1:
            first_line = text[j:nl]
            if first_line and not any(ch in first_line for ch in "`\\ "):
                language = first_line
                j = nl + 1
        start16 = b.pos16
        j, closed = _md_code_body(text, j, b, "```")
        if not closed:
            raise ParseError(f"Can't find end of Pre entity at byte offset {_byte_offset(text, i)}")
        b.entity("pre", start16, language=language)
        return j
    start16 = b.pos16
    j, closed = _md_code_body(text, i + 1, b, "`")
    if not closed:
        raise ParseError(f"Can't find end of Code entity at byte offset {_byte_offset(text, i)}")
    b.entity("code", start16)
    return j


def _mdv2_link_end(text: str, i: int, b: _Builder, opened: tuple[int, int, bool]) -> int:
    """``](url)`` at ``i`` closes the link (or custom emoji) ``opened``; a bare ``]`` closes nothing."""
    start16, _src, is_emoji = opened
    n = len(text)
    if not (i + 1 < n and text[i + 1] == "("):
        return i + 1
    j = i + 2
    url_chars: list[str] = []
    while j < n and text[j] != ")":
        if text[j] == "\\" and j + 1 < n:
            url_chars.append(text[j + 1])
            j += 2
            continue
        url_chars.append(text[j])
        j += 1
    if j >= n:
        raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}")
    url = "".join(url_chars)
    if is_emoji:
        m = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
        if not m:
            raise ParseError("Custom emoji URL must have an emoji identifier")
        b.entity("custom_emoji", start16, custom_emoji_id=m.group(1))
    else:
        b.entity("text_link", start16, url=url)
    return j + 1


def _mdv2_marker(text: str, i: int) -> str | None:
    """The formatting marker at ``i`` (``_``, ``__``, ``*``, ``~``, ``||``), if any."""
    c = text[i]
    if c == "_":
        return "__" if text.startswith("__", i) else "_"
    if c in "*~":
        return c
    if c == "|" and text.startswith("||", i):
        return "||"
    return None


def _md_code_body(text: str, j: int, b: _Builder, closing: str) -> tuple[int, bool]:
    n = len(text)
    while j < n:
        if text[j] == "\\" and j + 1 < n and text[j + 1] in "`\\":
            b.add(text[j + 1])
            j += 2
            continue
        if text.startswith(closing, j):
            return j + len(closing), True
        b.add(text[j])
        j += 1
    return j, False


# ---------------------------------------------------------------- legacy Markdown

_MD_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown_legacy(text: str) -> tuple[str, list[dict[str, Any]]]:
    b = _Builder()
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            b.add(text[i + 1])
            i += 2
            continue
        if c in "_*":
            end = text.find(c, i + 1)
            if end == -1:
                raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            start16 = b.pos16
            b.add(text[i + 1 : end])
            b.entity(_MD_LEGACY[c], start16)
            i = end + 1
            continue
        if c == "`":
            if text.startswith("```", i):
                end = text.find("```", i + 3)
                if end == -1:
                    raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
                body = text[i + 3 : end]
                language = None
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and " " not in first:
                        language, body = first, rest
                start16 = b.pos16
                b.add(body)
                b.entity("pre", start16, language=language)
                i = end + 3
                continue
            end = text.find("`", i + 1)
            if end == -1:
                raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            start16 = b.pos16
            b.add(text[i + 1 : end])
            b.entity("code", start16)
            i = end + 1
            continue
        if c == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            start16 = b.pos16
            b.add(text[i + 1 : end])
            if end + 1 < n and text[end + 1] == "(":
                close = text.find(")", end + 2)
                if close == -1:
                    raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, end + 1)}")
                b.entity("text_link", start16, url=text[end + 2 : close])
                i = close + 1
            else:
                i = end + 1
            continue
        b.add(c)
        i += 1
    return b.text(), b.entities
