"""The agreement's messages, worded when they are sent: "is this what we agreed?", the goodbye at
the end of the term, the check-ins (Done / Need more time / Need help), what slipped (to the
facilitator), the end of the term, and the survey after a meeting."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.buttons import acknowledgement_keyboard, checkin_keyboard
from bot.jobs.notify import Notice
from bot.jobs.outgoing import Drop, Outgoing
from bot.services import agreements, catalog, meetings, surveys
from bot.services.formatting import format_date
from bot.wording.agreements import render_agreement

KIND_MEETING_FOLLOWUP = meetings.FOLLOWUP_KIND


async def render_recorded(notice: Notice) -> Outgoing | Drop:
    """ "Is this what you agreed?": the agreement as it is now, in her language, with the two buttons."""
    text = await agreements.text_of(notice.session, notice.id("agreement"))
    if text is None:
        return Drop("gone")
    return Outgoing(
        render_agreement(text, notice.locale) + "\n\n" + gettext("Is this what you agreed?"),
        acknowledgement_keyboard(text.agreement_id),
    )


async def render_goodbye(notice: Notice) -> Outgoing | Drop:
    """The term is over: a goodbye with a few places that help in her region, as they are today."""
    app = notice.app
    region = str(notice.payload.get("region") or "")
    housing = await catalog.measures(notice.session, region, "housing", notice.locale, app.today())
    work = await catalog.measures(notice.session, region, "work", notice.locale, app.today())
    lines = [
        gettext(
            "The time of your agreement is over. Thank you for the way you walked — it took courage. 🌱\n\n"
            "The programme is closed, but this bot stays with you: help near you, urgent numbers, "
            "and a person to write to. Just write /start whenever you need us."
        ),
        "",
        gettext("A few places that help:"),
    ]
    for contact in (housing + work)[:4]:
        lines.append(
            "• {title}{phone}".format(
                title=escape(contact.title), phone=f" — {escape(contact.phone)}" if contact.phone else ""
            )
        )
    return Outgoing("\n".join(lines))


def checkin_renderer(app: AppContext, i18n: I18n):
    async def render(session: AsyncSession, claimed, locale: str) -> Outgoing | Drop:
        payload = claimed.payload or {}
        checkin_id = int(payload.get("checkin", 0))
        view = await agreements.checkin_view(session, checkin_id)
        if view is None or not await agreements.still_open(session, checkin_id):
            return Drop("answered_or_ended")
        step = payload.get("step")
        # Each message only makes sense on its own day: after downtime the stale ones drop.
        today = app.now().astimezone(ZoneInfo(view.timezone)).date()
        if (step == "before" and today >= view.due_date) or (step == "day" and today != view.due_date):
            return Drop("late")
        if step == "missed" and today > view.due_date + timedelta(days=1):
            return Drop("late")
        with i18n.use_locale(locale):
            day = format_date(view.due_date, locale)
            if step == "before":
                text = gettext("🔔 A gentle reminder: “{item}” — by {day}. How is it going?")
            elif step == "day":
                text = gettext("🔔 Today is the day for “{item}”. How is it going?")
            else:
                await agreements.mark_missed(session, checkin_id, app.now())
                text = gettext(
                    "How did it go with “{item}”? If something got in the way, that is all right — it happens. "
                    "Tell us, and we will think together."
                )
            return Outgoing(text.format(item=escape(view.item_text), day=day), checkin_keyboard(checkin_id))

    return render


def overdue_renderer(app: AppContext, i18n: I18n):
    async def render(session: AsyncSession, claimed, locale: str) -> Outgoing | Drop:
        checkin_id = int((claimed.payload or {}).get("checkin", 0))
        view = await agreements.checkin_view(session, checkin_id)
        if view is None or not await agreements.still_open(session, checkin_id):
            return Drop("kept_or_ended")
        await agreements.mark_escalated(session, checkin_id, app.now())
        with i18n.use_locale(locale):
            text = gettext(
                "⚠️ Case {code}: “{item}” ({name}) was due on {day} and is not kept yet. Maybe she needs support."
            ).format(
                code=view.case_code,
                item=escape(view.item_text),
                name=escape(view.first_name),
                day=format_date(view.due_date, locale),
            )
        return Outgoing(text)

    return render


def end_renderer(app: AppContext, bot: Bot, i18n: I18n):
    """The term is over: the case closes; each participant gets a goodbye with the support measures;
    the facilitator (the reminder's recipient) is told."""

    async def render(session: AsyncSession, claimed, locale: str) -> Outgoing | Drop:
        agreement_id = int((claimed.payload or {}).get("agreement", 0))
        ended = await agreements.end(
            session, agreement_id=agreement_id, now=app.now(), survey_expire_days=app.settings.survey_expire_days
        )
        if ended is None:
            return Drop("already_ended")
        # The goodbyes are notices queued in the end's own transaction.
        with i18n.use_locale(locale):
            return Outgoing(
                gettext("Case {code}: the agreement's term is over; the case is closed.").format(code=ended.case_code)
            )

    return render


def meeting_followup_renderer(app: AppContext):
    """After a meeting took place: the short survey starts (the survey's own reminder sends it)."""

    async def render(session: AsyncSession, claimed, locale: str) -> Outgoing | Drop:
        if claimed.meeting_id is None:
            return Drop("no_meeting")
        view = await meetings.get_view(session, claimed.meeting_id)
        if view is None or view.state not in ("booked", "fixed"):
            return Drop("meeting_off")
        survey = (claimed.payload or {}).get("survey", "preliminary")
        await surveys.invite(
            session,
            user_id=claimed.recipient_id,
            survey=survey,
            ref=f"meeting:{claimed.meeting_id}",
            case_id=view.case_id,
            due_at=app.now(),
            now=app.now(),
            expire_days=app.settings.survey_expire_days,
        )
        await session.commit()
        return Drop("survey_started")

    return render
