"""What a ``/start <payload>`` deep link asks for.

Telegram allows 1-64 characters of A-Z, a-z, 0-9, _ and - in the payload. Known shapes:
``r-<region_code>`` (a poster or leaflet of one region: the bot opens with that region chosen).
``i-<token>`` (an invitation: to a case, or to the team; see ``invitations``). Anything else is
reported as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALLOWED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class RegionLink:
    region_code: str


@dataclass(frozen=True, slots=True)
class InviteLink:
    token: str


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: str  # "malformed" or "unrecognised"; never shown verbatim


StartPayload = RegionLink | InviteLink | Unknown


def parse(payload: str | None) -> StartPayload | None:
    if payload is None or payload == "":
        return None
    if not _ALLOWED.match(payload):
        return Unknown("malformed")
    kind, sep, rest = payload.partition("-")
    if sep and kind == "r" and re.match(r"^[a-z0-9_]{1,32}$", rest):
        return RegionLink(rest)
    if sep and kind == "i" and 16 <= len(rest) <= 62:
        return InviteLink(rest)
    return Unknown("unrecognised")
