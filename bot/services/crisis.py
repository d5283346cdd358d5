"""Notices words that may mean a person is in danger right now, so the bot can offer crisis help.

Word lists live in ``content/crisis/<lang>.txt``: one entry a line, ``#`` starts a comment; an
entry ending in ``*`` matches the start of a word (``избил*`` catches «избила», «избили»), any
other entry matches a whole word or a whole phrase. Texts are compared lowercased with ё folded
into е. Every language's list is applied to every message: people mix languages.
"""

from __future__ import annotations

import re
from pathlib import Path

# A message longer than this is looked at in its first part only; nobody hides an alarm after 10k chars.
_SCAN_LIMIT = 20_000


def normalize(text: str) -> str:
    return text.lower().replace("ё", "е")


class CrisisDetector:
    def __init__(self, entries: list[str]) -> None:
        parts = []
        for entry in entries:
            entry = normalize(entry.strip())
            if not entry:
                continue
            prefix = entry.endswith("*")
            words = entry.rstrip("*").split()
            if not words:
                continue
            body = r"\s+".join(re.escape(w) for w in words)
            parts.append(rf"(?<!\w){body}" + ("" if prefix else r"(?!\w)"))
        self._pattern = re.compile("|".join(parts)) if parts else None
        self.size = len(parts)

    @classmethod
    def from_dir(cls, directory: Path) -> CrisisDetector:
        entries: list[str] = []
        for path in sorted(directory.glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    entries.append(line)
        return cls(entries)

    def detect(self, text: str | None) -> bool:
        if not text or self._pattern is None:
            return False
        return self._pattern.search(normalize(text[:_SCAN_LIMIT])) is not None
