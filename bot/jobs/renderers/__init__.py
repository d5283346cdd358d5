"""Renderers: how each kind of queued row is worded at the moment it is sent, in the reader's
language (a reminder, a check-in, a survey's first question, a decision's notice). ``register``
gives them all to the reminders' lane of the one sender."""

from __future__ import annotations

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.relaying import NUDGE_KIND
from bot.jobs.reminder_worker import ReminderWorker
from bot.jobs.renderers import agreements, handoff, meetings, notices, surveys
from bot.services import agreements as agreement_rows
from bot.services import notices as notice_rows


def register(worker: ReminderWorker, app: AppContext, bot: Bot, i18n: I18n) -> None:
    worker.register(NUDGE_KIND, handoff.nudge_renderer(app, i18n))
    worker.register(
        meetings.REMINDER_KIND,
        meetings.reminder_renderer(app, i18n),
        on_unreachable=meetings.unreachable_handler(app),
    )
    worker.register(surveys.REMINDER_KIND, surveys.reminder_renderer(app, i18n))
    worker.register(notice_rows.KIND, notify.notice_renderer(app, bot, notices.events()))
    worker.register(agreement_rows.KIND_CHECKIN, agreements.checkin_renderer(app, i18n))
    worker.register(agreement_rows.KIND_OVERDUE, agreements.overdue_renderer(app, i18n))
    worker.register(agreement_rows.KIND_END, agreements.end_renderer(app, bot, i18n))
    worker.register(agreements.KIND_MEETING_FOLLOWUP, agreements.meeting_followup_renderer(app))
