"""What the formatting parsers share: Telegram's parse errors, UTF-16 lengths, the entity builder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ParseError(ValueError):
    """Markup could not be parsed; ``str(exc)`` is Telegram's detail text."""


class UnsupportedParseMode(ValueError):
    pass


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram uses for limits and offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Accumulates plain text and tracks the UTF-16 position."""

    parts: list[str] = field(default_factory=list)
    pos16: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, chunk: str) -> None:
        if chunk:
            self.parts.append(chunk)
            self.pos16 += utf16_len(chunk)

    def entity(self, etype: str, start16: int, end16: int | None = None, **extra: Any) -> None:
        length = (self.pos16 if end16 is None else end16) - start16
        if length <= 0:
            return
        ent: dict[str, Any] = {"type": etype, "offset": start16, "length": length}
        ent.update({k: v for k, v in extra.items() if v is not None})
        self.entities.append(ent)

    def text(self) -> str:
        return "".join(self.parts)


def normalize_parse_mode(parse_mode: Any) -> str | None:
    if parse_mode is None or parse_mode == "":
        return None
    mode = str(parse_mode).strip().lower()
    if mode == "html":
        return "HTML"
    if mode == "markdownv2":
        return "MarkdownV2"
    if mode == "markdown":
        return "Markdown"
    raise UnsupportedParseMode(str(parse_mode))
