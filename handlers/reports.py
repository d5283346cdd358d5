"""/report for staff (their region) and admins (a region or all): the monitoring report of a month or
a half-year as an XLSX workbook and a PNG chart, both sent as documents."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import I18n, gettext

from bot.context import AppContext
from bot.services import report
from bot.services.users import Profile
from bot.wording.report_files import chart_png, workbook_bytes
from db.models import Role
from handlers.filters import HasRole

log = logging.getLogger(__name__)
REPORT_COMMANDS = ("report",)
PROGRESS_AFTER = 2.0  # seconds before "preparing…" is said


async def make_report(
    app: AppContext, *, actor: Profile, period: report.Period, region: str | None, locale: str
) -> tuple[report.Figures, bytes, bytes]:
    """Figures from the database (one short transaction), then the files, off the event loop.

    A session of its own, not the update's: this runs as a task beside the handler, which may end
    first (telling her "preparing…" can fail) and close the update's session under it."""
    async with app.db() as session:
        figures = await report.build(
            session,
            actor=actor,
            period=period,
            region=region,
            rules=app.rules,
            now=app.now(),
            default_timezone=app.settings.default_timezone,
        )
    xlsx = await asyncio.to_thread(workbook_bytes, figures, locale)
    png = await asyncio.to_thread(chart_png, figures)
    return figures, xlsx, png


async def report_command(
    message: Message, command: CommandObject, app: AppContext, profile: Profile, i18n: I18n
) -> None:
    args = (command.args or "").split()
    region = args[1].lower() if len(args) > 1 and profile.role == Role.ADMIN else None
    if region == "all":
        region = None
    try:
        period = report.parse_period(args[0] if args else None, today=app.today())
    except report.BadPeriod:
        await message.answer(
            gettext(
                "Which period? For example: /report 2026-11 (a month) or /report 2026-H2 (a half-year). "
                "Admins may add a region code, e.g. /report 2026-11 perm_krai."
            )
        )
        return
    task = asyncio.create_task(
        make_report(app, actor=profile, period=period, region=region, locale=i18n.current_locale)
    )
    done, _ = await asyncio.wait({task}, timeout=PROGRESS_AFTER)
    if not done:
        await message.answer(gettext("Preparing the report, it takes a little while…"))
    try:
        figures, xlsx, png = await task
    except report.Refused:
        await message.answer(gettext("Your region is not set. Ask an admin to set it."))
        return
    except report.UnknownRegion:
        await message.answer(gettext("There is no region with this code."))
        return
    name = "report_{region}_{period}".format(region=figures.region or "all", period=period.key)
    await message.answer_document(
        BufferedInputFile(xlsx, filename=name + ".xlsx"),
        caption=gettext("Monitoring report for {period}: cases {cases}, opened {opened}, closed {closed}.").format(
            period=period.key, cases=figures.cases, opened=figures.opened, closed=figures.closed
        ),
    )
    await message.answer_document(
        BufferedInputFile(png, filename=name + ".png"),
        caption=gettext("Cases by month: this period against the months before."),
    )
    log.info("report sent: actor=%s period=%s", profile.user_id, period.key)


def reports_router() -> Router:
    router = Router(name="reports")
    router.message.filter(HasRole(Role.STAFF, Role.ADMIN))
    router.message.register(report_command, Command("report"))
    return router
