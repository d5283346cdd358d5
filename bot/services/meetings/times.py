"""Times as the facilitator types them, in her zone, stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import parse
from bot.services.errors import Invalid
from db.models import (
    Case,
    Region,
    User,
)


def local_to_utc(day: date, at: time, timezone: str) -> datetime:
    """A wall-clock time in a zone, as UTC. A time that does not exist there (the hour skipped when
    clocks go forward) is refused; an hour that happens twice is taken the first time."""
    zone = ZoneInfo(timezone)
    moment = datetime.combine(day, at, tzinfo=zone)
    back = moment.astimezone(UTC).astimezone(zone)
    if (back.date(), back.time().replace(tzinfo=None)) != (day, at):
        raise Invalid("no_such_time")
    return moment.astimezone(UTC)


def parse_time(raw: str | None) -> time:
    """ "14:30", "14.30", "9:05", "1430"."""
    text = (raw or "").strip().replace(".", ":").replace("-", ":").replace(" ", "")
    if parse.digits(text) and len(text) in (3, 4):
        text = text[:-2] + ":" + text[-2:]
    hours, sep, minutes = text.partition(":")
    if not (sep and parse.digits(hours) and parse.digits(minutes) and len(hours) <= 2 and len(minutes) == 2):
        raise Invalid("time")
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise Invalid("time") from None


async def zone_of(session: AsyncSession, user_id: int | None, case: Case | None, default: str) -> str:
    """A person's time zone: her own (from her region), else the case's region, else the default."""
    if user_id is not None:
        person = await session.get(User, user_id)
        if person is not None and person.timezone:
            return person.timezone
    if case is not None:
        region = await session.get(Region, case.region_code)
        if region is not None:
            return region.timezone
    return default
