"""Working hours of a region and the automatic reply outside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import workdays
from bot.services.catalog import parse_hours
from db.models import (
    Conversation,
    ConversationState,
    Region,
)


@dataclass(frozen=True, slots=True)
class Hours:
    start: time
    end: time
    timezone: str


async def hours_of(session: AsyncSession, *, region_code: str | None, default_hours: str, default_zone: str) -> Hours:
    region = await session.get(Region, region_code) if region_code else None
    span = parse_hours((region.work_hours if region else None) or default_hours) or parse_hours(default_hours)
    assert span is not None
    await session.commit()
    return Hours(span[0], span[1], region.timezone if region else default_zone)


def in_hours(hours: Hours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(hours.timezone))
    return workdays.is_working_day(local.date()) and hours.start <= local.time().replace(tzinfo=None) < hours.end


def next_opening(hours: Hours, now: datetime) -> datetime:
    """When a person is next at work (now, if she is)."""
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    day = local.date()
    if workdays.is_working_day(day) and local.time().replace(tzinfo=None) < hours.end:
        start = datetime.combine(day, hours.start, tzinfo=zone)
        return max(start, local)
    day += timedelta(days=1)
    while not workdays.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, hours.start, tzinfo=zone)


async def mark_auto_reply(session: AsyncSession, *, conversation_id: int, now: datetime) -> bool:
    """True once per waiting spell: the out-of-hours answer is not repeated on every message."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        await session.commit()
        return False
    first = conversation.last_auto_reply_at is None or (
        conversation.waiting_since is not None and conversation.last_auto_reply_at < conversation.waiting_since
    )
    if first:
        conversation.last_auto_reply_at = now
    await session.commit()
    return first


async def still_waiting_since(session: AsyncSession, *, conversation_id: int, since: datetime) -> bool:
    conversation = await session.get(Conversation, conversation_id)
    result = (
        conversation is not None
        and conversation.state == ConversationState.OPEN
        and conversation.waiting_since is not None
        and conversation.waiting_since <= since
    )
    await session.commit()
    return result
