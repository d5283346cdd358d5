"""The agreement's follow-up as messages: "is this what we agreed?", the check-ins with Done / Need
more time / Need help, what slipped (to the curator), the weekly family digest, and the end of the
term (the case closes with a goodbye and the final survey)."""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notify
from bot.context import AppContext
from bot.notify import Notice
from bot.relay import Relay
from bot.reminder_worker import Drop, Outgoing
from bot.services import agreements, cases, catalog, meetings, parse
from bot.services.cases import Invalid, Refused
from bot.services.formatting import format_date
from db.models import CheckinState
from dialogs.agreement.dialog import render_agreement
from dialogs.states import DisputeSG
from handlers.common import refuse_button
from handlers.filters import Quick

log = logging.getLogger(__name__)
KIND_MEETING_FOLLOWUP = meetings.FOLLOWUP_KIND


def _rules(app: AppContext) -> agreements.Rules:
    return agreements.Rules(app.settings.checkin_days_before, app.settings.escalate_after_days)


def acknowledgement_keyboard(agreement_id: int) -> InlineKeyboardMarkup:
    """Built in the reader's language, when the notice is sent."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=gettext("✅ Yes, this is what we agreed"), callback_data=f"ag:{agreement_id}:y"
                )
            ],
            [InlineKeyboardButton(text=gettext("✖️ This is not right"), callback_data=f"ag:{agreement_id}:n")],
        ]
    )


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


def _checkin_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=gettext("✅ Done"), callback_data=f"ci:{checkin_id}:d")],
            [InlineKeyboardButton(text=gettext("⏳ I need more time"), callback_data=f"ci:{checkin_id}:m")],
            [InlineKeyboardButton(text=gettext("🙋 I need help"), callback_data=f"ci:{checkin_id}:h")],
        ]
    )


def _later_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=gettext("+3 days"), callback_data=f"ci:{checkin_id}:m3"),
                InlineKeyboardButton(text=gettext("+1 week"), callback_data=f"ci:{checkin_id}:m7"),
                InlineKeyboardButton(text=gettext("+2 weeks"), callback_data=f"ci:{checkin_id}:m14"),
            ]
        ]
    )


def agreements_router() -> Router:
    router = Router(name="agreements")

    @router.callback_query(Quick(F.data.startswith("ag:")))
    async def acknowledge(
        callback: CallbackQuery, app: AppContext, bot: Bot, i18n: I18n, dialog_manager: DialogManager
    ) -> None:
        parts = parse.callback_parts(callback.data, "ag", 2)
        agreement_id = parse.positive_id(parts[0]) if parts else None
        if parts is None or agreement_id is None or parts[1] not in ("y", "n"):
            await refuse_button(callback, app, "agreement")
            return
        if parts[1] == "n":
            await callback.answer()
            await dialog_manager.start(
                DisputeSG.text, data={"agreement_id": agreement_id}, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
            )
            return
        try:
            async with app.db() as session:  # the facilitator's notice is in its transaction
                await agreements.acknowledge(
                    session,
                    user_id=callback.from_user.id,
                    agreement_id=agreement_id,
                    confirmed=True,
                    comment=None,
                    now=app.now(),
                )
        except Refused:
            await callback.answer(gettext("This button is out of date."))
            return
        await callback.answer(gettext("Thank you! We will remind you of what you agreed, gently."))
        if callback.message is not None:
            try:
                await callback.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]  # an InaccessibleMessage raises, passed over below
            except Exception:
                pass

    @router.callback_query(Quick(F.data.startswith("ci:")))
    async def checkin(callback: CallbackQuery, app: AppContext, i18n: I18n, relay: Relay) -> None:
        parts = parse.callback_parts(callback.data, "ci", 2)
        checkin_id = parse.positive_id(parts[0]) if parts else None
        if parts is None or checkin_id is None or parts[1] not in ("d", "h", "m", "m3", "m7", "m14"):
            await refuse_button(callback, app, "checkin")
            return
        action = parts[1]
        if action == "m":
            await callback.answer()
            if callback.message is not None:
                await callback.message.answer(
                    gettext("How much more time do you need?"), reply_markup=_later_keyboard(checkin_id)
                )
            return
        state = {"d": CheckinState.DONE, "h": CheckinState.HELP}.get(action, CheckinState.MORE_TIME)
        new_date = None
        if state == CheckinState.MORE_TIME:
            if action not in ("m3", "m7", "m14"):
                await callback.answer(gettext("This button is out of date."))
                return
            new_date = app.today() + timedelta(days=int(action[1:]))
        try:
            async with app.db() as session:
                view = await agreements.answer(
                    session,
                    user_id=callback.from_user.id,
                    checkin_id=checkin_id,
                    state=state,
                    now=app.now(),
                    rules=_rules(app),
                    new_date=new_date,
                )
        except Refused:
            await callback.answer(gettext("This button is out of date."))
            return
        except Invalid:
            await callback.answer(gettext("You have already answered this one. Thank you!"))
            return
        if callback.message is not None:
            try:
                await callback.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]  # an InaccessibleMessage raises, passed over below
            except Exception:
                pass
        if state == CheckinState.DONE:
            await callback.answer()
            await callback.message.answer(gettext("That is wonderful — well done! 🌱 Every step counts."))  # type: ignore[union-attr]  # a button's message
        elif state == CheckinState.MORE_TIME:
            await callback.answer()
            await callback.message.answer(  # type: ignore[union-attr]  # a button's message
                gettext("All right, there is time. We will remind you on {day}.").format(
                    day=format_date(new_date, i18n.current_locale)  # type: ignore[arg-type]  # set above for MORE_TIME
                )
            )
        else:
            await callback.answer()
            await _hand_over(callback, view, app, relay)

    return router


async def _hand_over(callback: CallbackQuery, view: agreements.CheckinView, app: AppContext, relay: Relay) -> None:
    """ "I need help": a person is told at once, in her conversation (her topic, or her curator's chat)."""
    from bot.services import relay as relay_service

    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext("Thank you for telling us. A person from the team will write to you here soon.")
    )
    async with app.db() as session:
        thread = await relay_service.open_for(session, user_id=view.user_id, now=app.now())
    if relay.group_id is not None and thread.topic_id is None:
        thread = await relay._ensure_topic(thread)
    reader = None if relay.group_id is not None else await relay._curator_for(thread)
    with relay.i18n.context(), relay.i18n.use_locale(await relay._team_locale(reader)):
        text = "🙋 " + gettext("{name} asks for help with: {item}").format(
            name=escape(view.first_name), item=escape(view.item_text)
        )
    await relay._post(thread, text)


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
            return Outgoing(text.format(item=escape(view.item_text), day=day), _checkin_keyboard(checkin_id))

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
    from bot.services import surveys

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
