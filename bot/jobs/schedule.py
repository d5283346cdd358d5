"""The clock of timed work: every scheduled job, and the one place they are given to APScheduler.

Jobs keep no state of their own: what they send is claimed in the database first ("once per person
per day", in one transaction with the message's row), so several instances may run the same job and
each message still goes once. A job that fails logs the error's type (never a text) and waits for
its next turn."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import AppContext
from bot.jobs import digests
from bot.jobs.activity import Activity
from bot.jobs.trail import MessageTrail
from bot.services import inbox as inbox_rows
from bot.services import surveys

log = logging.getLogger(__name__)


@dataclass
class Jobs:
    """The scheduled jobs (also called by hand, and by tests, through ``Application.jobs``)."""

    app: AppContext
    bot: Bot
    i18n: I18n

    async def send_daily_digest(self) -> int:
        """What is late, to each curator and facilitator, every morning at DIGEST_TIME."""
        return await digests.send_daily_digest(self.app, self.bot, self.i18n)

    async def send_day_lists(self) -> int:
        """The facilitators' morning list of the day's meetings (at DIGEST_TIME)."""
        return await digests.send_day_lists(self.app, self.bot, self.i18n)

    async def send_conversation_digest(self) -> int:
        """Open and unanswered conversations, once a day; also purges history past its retention."""
        return await digests.send_conversation_digest(self.app, self.bot, self.i18n)

    async def send_weekly_agreements(self) -> int:
        """Mondays: each curator's families — kept, coming, overdue (run daily, acts on Mondays)."""
        return await digests.send_weekly_digest(self.app, self.bot, self.i18n)

    async def expire_surveys(self) -> int:
        """Surveys not finished in SURVEY_EXPIRE_DAYS → expired (at DIGEST_TIME)."""
        try:
            async with self.app.db() as session:
                expired = await surveys.expire(session, now=self.app.now())
        except Exception as exc:  # never let a message text reach APScheduler's log
            log.error("surveys: expiry failed with %s", type(exc).__name__)
            return 0
        if expired:
            log.info("surveys: %d expired", expired)
        return expired

    async def purge_inbox(self) -> int:
        """Forgets the marks of updates handled longer ago than Telegram could send them again (hourly)."""
        try:
            async with self.app.db() as session:
                return await inbox_rows.purge(session, now=self.app.now())
        except Exception as exc:
            log.warning("inbox: purge failed with %s", type(exc).__name__)
            return 0


def schedule(scheduler: AsyncIOScheduler, jobs: Jobs, activity: Activity, trail: MessageTrail) -> None:
    """Every timed job of the bot. The morning ones run at DIGEST_TIME in DEFAULT_TIMEZONE."""
    settings = jobs.app.settings
    hour, minute = settings.digest_hour_minute
    morning: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
        ("daily_digest", jobs.send_daily_digest),
        ("day_lists", jobs.send_day_lists),
        ("conversations", jobs.send_conversation_digest),
        ("survey_expiry", jobs.expire_surveys),
        ("weekly_agreements", jobs.send_weekly_agreements),
    )
    for job_id, job in morning:
        scheduler.add_job(
            job,
            CronTrigger(hour=hour, minute=minute, timezone=settings.default_timezone),
            id=job_id,
            misfire_grace_time=3600,
            coalesce=True,
            max_instances=1,
        )
    scheduler.add_job(jobs.purge_inbox, IntervalTrigger(hours=1), id="inbox_purge", coalesce=True)
    scheduler.add_job(activity.report, IntervalTrigger(minutes=1), id="activity", coalesce=True)
    scheduler.add_job(trail.prune, IntervalTrigger(hours=1), id="trail_prune", coalesce=True, max_instances=1)
