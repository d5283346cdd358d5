"""The two refusals every use case shares, one class each, so a screen catches one thing whichever
service it called.

``Refused``: the actor may not do this (another region's case, a forged button, someone else's
broadcast; a thing that does not exist looks the same). ``Invalid``: input a person can correct.
"""

from __future__ import annotations

from typing import Any


class Refused(PermissionError):
    """The actor may not do this; the argument names what was attempted."""


class Invalid(ValueError):
    """Input a person can correct. ``field`` names what is wrong; ``reason`` why (``empty``,
    ``too_long``…; a one-code refusal names both with ``field``, and ``reason`` repeats it);
    ``detail`` what to show with it (a tag name, a count)."""

    def __init__(self, field: str, reason: str = "", **detail: Any) -> None:
        super().__init__(f"{field}: {reason}" if reason else field)
        self.field = field
        self.reason = reason or field
        self.detail = detail
