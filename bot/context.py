"""What every handler and dialog may need besides the update: settings, the clock, content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.cases import Rules
from bot.services.crisis import CrisisDetector


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    crisis: CrisisDetector
    db: async_sessionmaker[AsyncSession]
    default_region: str | None = None
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        return self.clock()

    @property
    def rules(self) -> Rules:
        s = self.settings
        return Rules(
            handoff=s.handoff_working_days,
            programme_min=s.programme_min_working_days,
            programme_max=s.programme_max_working_days,
            report=s.report_working_days,
            invite_ttl_days=s.invite_ttl_days,
        )

    def today(self, timezone: str | None = None) -> date:
        return self.now().astimezone(ZoneInfo(timezone or self.settings.default_timezone)).date()
