"""Builders shared by the service tests (test_cases, test_invitations, test_programme).

A plain module, not a fixture file: a test module makes its own ``Ids`` with a range of user ids
no other module uses, since all the tests of a run share one database per backend.
"""

import itertools
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import cases, users
from bot.services.users import Profile
from db.models import AuditEvent, ProgrammeType, Region, Role, User

REGION_A = "altai_krai"
ZONE_A = "Asia/Barnaul"
REGION_B = "zz_test_region_b"
ZONE_B = "Europe/Moscow"
# Friday 20 November 2026, noon in Barnaul.
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
RULES = cases.Rules()
TTL = RULES.invite_ttl_days


class Ids:
    """User ids from ``start`` up: each test module takes a range of its own, 10 million wide.

    ``Ids(610_000_000, __name__)``; a module asking for a range already taken fails at import.
    """

    SPAN = 10_000_000
    # Taken by counters of their own: the fake Telegram users and conftest's (below 110 million),
    # test_users (500 million), test_storage (600 million) and conftest's ADMIN_ID (900 million).
    _taken: ClassVar[dict[int, str]] = {
        **{block: "tests.conftest" for block in range(1, 11)},
        50: "tests.test_users",
        60: "tests.test_storage",
        90: "tests.conftest",
    }

    def __init__(self, start: int, owner: str) -> None:
        block, offset = divmod(start, self.SPAN)
        if offset or self._taken.setdefault(block, owner) != owner:
            raise ValueError(f"user ids from {start:_} for {owner}: not a free range ({self._taken.get(block)})")
        self._end = start + self.SPAN
        self._next = itertools.count(start)

    def new(self) -> int:
        uid = next(self._next)
        assert uid < self._end, "the range of user ids is used up"
        return uid

    async def person(
        self,
        session: AsyncSession,
        role: Role | None,
        *,
        scope: str | None = None,
        name: str | None = None,
        region: str | None = None,
    ) -> Profile:
        """A user with a fresh id, as if she had written to the bot at NOW."""
        uid = self.new()
        session.add(
            User(
                id=uid,
                role=role.value if role else None,
                first_seen=NOW,
                last_seen=NOW,
                blocked_bot=False,
                scope_region=scope,
                display_name=name,
                region=region,
            )
        )
        await session.commit()
        profile = await users.get_profile(session, uid)
        assert profile is not None
        await session.commit()
        return profile


async def ensure_regions(session: AsyncSession) -> None:
    for code, name, zone, position in (
        (REGION_A, {"ru": "Алтайский край", "en": "Altai Krai"}, ZONE_A, 0),
        (REGION_B, {"ru": "Тестовый регион", "en": "Test region"}, ZONE_B, 900),
    ):
        if await session.get(Region, code) is None:
            session.add(Region(code=code, name=name, timezone=zone, position=position))
    await session.commit()


async def audit_rows(session: AsyncSession, actor_id: int, action: str) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == actor_id, AuditEvent.action == action).order_by(AuditEvent.id)
    )
    result = list(rows.all())
    await session.commit()
    return result


def draft(**overrides: object) -> cases.CaseDraft:
    """Анна of region A, released on parole on 1 March 2027, no team yet."""
    values: dict[str, Any] = {
        "first_name": "Анна",
        "region_code": REGION_A,
        "release_date": date(2027, 3, 1),
        "parole": True,
        "programme_type": ProgrammeType.FAMILY_CONFERENCE.value,
        "curator_id": None,
        "facilitator_id": None,
    }
    values.update(overrides)
    return cases.CaseDraft(**values)


async def register(session: AsyncSession, actor: Profile, **overrides: object) -> cases.Registered:
    """Registers ``draft(**overrides)`` at NOW."""
    return await cases.register(session, actor=actor, draft=draft(**overrides), rules=RULES, now=NOW)
