"""What is late: the text of ``/overdue`` and of the team's daily digest, and the digest job."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot
from aiogram.utils.i18n import I18n, gettext

from bot.context import AppContext
from bot.jobs import notify
from bot.services import cases
from bot.services.cases import CaseLine
from bot.services.formatting import format_date
from bot.wording.labels import DEADLINES, label

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
