"""The digests the team gets on a schedule (each claimed "once per person per day" in the database,
in one transaction with its message row): what is late (and the text of ``/overdue``), the
facilitators' meetings of the day, the open conversations, and the week's agreements."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.utils.i18n import I18n, gettext

from bot.context import AppContext
from bot.jobs import notify
from bot.services import agreements, cases, meetings
from bot.services import relay as relay_service
from bot.services.cases import CaseLine
from bot.services.formatting import format_date, format_datetime, format_when
from bot.services.meetings import MeetingView
from bot.wording.labels import DEADLINES, label
from bot.wording.meetings import FORMATS
from db.models import MeetingKind

log = logging.getLogger(__name__)
MAX_LINES = 40  # keeps a message well under Telegram's 4096 characters


def render_overdue(lines: list[CaseLine], locale: str) -> str:
    if not lines:
        return gettext("Nothing is overdue. 👍")
    out = [gettext("<b>Overdue: {count}</b>").format(count=len(lines))]
    for line in lines[:MAX_LINES]:
        deadline = line.deadline
        assert deadline is not None
        out.append(
            gettext("• {code} · {name} · stage {stage}: {what}, due {due}, late by {days} working days").format(
                code=line.code,
                name=escape(line.first_name),
                stage=line.stage,
                what=label(DEADLINES, deadline.kind),
                due=format_date(deadline.due, locale),
                days=deadline.late_by,
            )
        )
    if len(lines) > MAX_LINES:
        out.append(gettext("… and {more} more.").format(more=len(lines) - MAX_LINES))
    out.append(gettext("Open a case: /case CODE"))
    return "\n".join(out)


async def send_daily_digest(app: AppContext, bot: Bot, i18n: I18n) -> int:
    """Each staff member and admin gets the overdue cases they may see, once a day, from one
    instance only (the day is claimed in the database first). Returns how many were sent."""
    now = app.now()
    day = app.today()
    sent = 0
    async with app.db() as session:
        recipients = await cases.digest_recipients(session)
    for profile in recipients:
        async with app.db() as session:
            lines = await cases.list_cases(session, actor=profile, rules=app.rules, now=now, only_overdue=True)
        if not lines:
            continue
        locale = await notify.recipient_locale(app.db, profile.user_id, i18n.default_locale)

        def render(lines: list[CaseLine] = lines, locale: str = locale) -> str:
            return gettext("<b>Daily digest</b>") + "\n\n" + render_overdue(lines, locale)

        async with app.db() as session:  # the day's mark and the digest's row: both or neither
            if not await cases.claim_digest(
                session, kind="overdue", user_id=profile.user_id, day=day, now=now, commit=False
            ):
                await session.rollback()
                continue
            await notify.worded(session, i18n, recipient_id=profile.user_id, render=render, locale=locale, now=now)
            await session.commit()
        sent += 1
    log.info("daily digest: sent to %d people", sent)
    return sent


async def send_weekly_digest(app: AppContext, bot: Bot, i18n: I18n) -> int:
    """Mondays: each curator gets, per family, what was kept, what is coming, what is overdue."""
    today = app.today()
    if today.weekday() != 0:
        return 0
    async with app.db() as session:
        curators = await agreements.curators_with_agreements(session)
    sent = 0
    for curator_id in curators:
        async with app.db() as session:
            families = await agreements.weekly(session, curator_id=curator_id, today=today)
        if not families:
            continue

        def render(families: list[agreements.FamilyDigest] = families) -> str:
            lines = [gettext("<b>The week's agreements</b>")]
            for family in families:
                lines.append("")
                lines.append(f"<b>{family.case_code}</b>")
                for title, rows in (
                    (gettext("✅ kept"), family.kept),
                    (gettext("🗓 coming"), family.coming),
                    (gettext("⚠️ overdue"), family.overdue),
                ):
                    if rows:
                        lines.append(title + ":")
                        lines += ["• " + escape(r) for r in rows[:10]]
            return "\n".join(lines)[:4000]

        locale = await notify.recipient_locale(app.db, curator_id, i18n.default_locale)
        async with app.db() as session:  # the week's mark and the digest's row: both or neither
            if not await cases.claim_digest(
                session, kind="agreements_week", user_id=curator_id, day=today, now=app.now(), commit=False
            ):
                await session.rollback()
                continue
            await notify.worded(session, i18n, recipient_id=curator_id, render=render, locale=locale, now=app.now())
            await session.commit()
        sent += 1
    return sent


def _render_day(views: list[MeetingView], locale: str, zone: str) -> str:
    lines = [gettext("<b>☀️ Your meetings today</b>")]
    for view in views:
        who = view.booked_name if view.kind == MeetingKind.PRELIMINARY else gettext("general meeting")
        lines.append(
            "• {when} · {code} · {who}\n  {how}{place}".format(
                when=format_when(view.starts_at, locale, zone).split(", ")[-1],
                code=view.case_code,
                who=escape(who or ""),
                how=label(FORMATS, view.format),
                place=(" · " + escape(view.place)) if view.place else "",
            )
        )
    return "\n".join(lines)


async def send_day_lists(app: AppContext, bot: Bot, i18n: I18n) -> int:
    """Each facilitator with booked or fixed meetings today gets the list in the morning, once."""
    now = app.now()
    zone_default = app.settings.default_timezone
    day = now.astimezone(ZoneInfo(zone_default)).date()
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone_default)).astimezone(UTC) - timedelta(hours=12)
    async with app.db() as session:
        people = await meetings.facilitators_with_meetings(session, start=start, end=start + timedelta(hours=48))
    sent = 0
    for facilitator_id in people:
        async with app.db() as session:
            zone = await meetings.zone_of(session, facilitator_id, None, zone_default)
            await session.commit()
        local_day = now.astimezone(ZoneInfo(zone)).date()
        async with app.db() as session:
            views = await meetings.day_list(session, facilitator_id=facilitator_id, day=local_day, timezone=zone)
        if not views:
            continue
        locale = await notify.recipient_locale(app.db, facilitator_id, i18n.default_locale)

        def render(views: list[MeetingView] = views, locale: str = locale, zone: str = zone) -> str:
            return _render_day(views, locale, zone)

        async with app.db() as session:  # the day's mark and the list's row: both or neither
            if not await cases.claim_digest(
                session, kind="day_meetings", user_id=facilitator_id, day=local_day, now=now, commit=False
            ):
                await session.rollback()
                continue
            await notify.worded(session, i18n, recipient_id=facilitator_id, render=render, locale=locale, now=now)
            await session.commit()
        sent += 1
    log.info("day lists: sent to %d facilitators", sent)
    return sent


async def send_conversation_digest(app: AppContext, bot: Bot, i18n: I18n) -> int:
    """Once a day: the open conversations, the unanswered first (to the group, or to each curator)."""
    now = app.now()
    async with app.db() as session:
        found = await relay_service.open_conversations(session)
        purged = await relay_service.purge(session, now=now, retention_days=app.settings.history_retention_days)
    if purged:
        log.info("relay: purged %d old messages", purged)
    if not found:
        return 0
    group = app.settings.curator_chat_id
    recipients: dict[int, list[relay_service.Waiting]] = {}
    if group is not None:
        recipients[group] = found
    else:
        for item in found:
            if item.curator_id is not None:
                recipients.setdefault(item.curator_id, []).append(item)
    sent = 0
    for chat_id, items in recipients.items():
        locale = (
            i18n.default_locale
            if chat_id == group
            else await notify.recipient_locale(app.db, chat_id, i18n.default_locale)
        )

        def render(items: list[relay_service.Waiting] = items, locale: str = locale) -> str:
            lines = [gettext("<b>Open conversations: {count}</b>").format(count=len(items))]
            for item in items[:40]:
                who = item.case_code or f"#{item.conversation_id}"
                if item.waiting_since:
                    when = format_datetime(item.waiting_since, locale, app.settings.default_timezone, fmt="short")
                    lines.append(gettext("• {who}: waiting since {when}").format(who=who, when=when))
                else:
                    lines.append(gettext("• {who}: answered").format(who=who))
            return "\n".join(lines)

        async with app.db() as session:  # the day's mark and the digest's row: both or neither
            if not await cases.claim_digest(
                session, kind="conversations", user_id=chat_id, day=app.today(), now=now, commit=False
            ):
                await session.rollback()
                continue
            await notify.worded(session, i18n, recipient_id=chat_id, render=render, locale=locale, now=now)
            await session.commit()
        sent += 1
    return sent
