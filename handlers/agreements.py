"""The agreement's follow-up as messages: "is this what we agreed?", the check-ins with Done / Need
more time / Need help, what slipped (to the curator), the weekly family digest, and the end of the
term (the case closes with a goodbye and the final survey)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from html import escape

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.buttons import later_keyboard
from bot.jobs.relaying import Relay
from bot.services import agreements, parse
from bot.services import relay as relay_service
from bot.services.cases import Invalid, Refused
from bot.services.formatting import format_date
from db.models import CheckinState
from dialogs.states import DisputeSG
from handlers.common import ended, refuse_button
from handlers.filters import Quick

log = logging.getLogger(__name__)


def _rules(app: AppContext) -> agreements.Rules:
    return agreements.Rules(app.settings.checkin_days_before, app.settings.escalate_after_days)


async def acknowledge(
    callback: CallbackQuery, app: AppContext, dialog_manager: DialogManager, session: AsyncSession
) -> None:
    parts = parse.callback_parts(callback.data, "ag", 2)
    agreement_id = parse.positive_id(parts[0]) if parts else None
    if parts is None or agreement_id is None or parts[1] not in ("y", "n"):
        await refuse_button(callback, session, "agreement", now=app.now())
        return
    if parts[1] == "n":
        await callback.answer()
        await dialog_manager.start(
            DisputeSG.text, data={"agreement_id": agreement_id}, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
        )
        return
    try:
        async with ended(session):  # the facilitator's notice is in its transaction
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
    await _remove_buttons(callback)


async def _remove_buttons(callback: CallbackQuery) -> None:
    if callback.message is not None:
        try:
            await callback.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]  # an InaccessibleMessage raises, passed over below
        except Exception:
            pass


async def checkin(callback: CallbackQuery, app: AppContext, i18n: I18n, relay: Relay, session: AsyncSession) -> None:
    parts = parse.callback_parts(callback.data, "ci", 2)
    checkin_id = parse.positive_id(parts[0]) if parts else None
    if parts is None or checkin_id is None or parts[1] not in ("d", "h", "m", "m3", "m7", "m14"):
        await refuse_button(callback, session, "checkin", now=app.now())
        return
    action = parts[1]
    if action == "m":
        await callback.answer()
        if callback.message is not None:
            await callback.message.answer(
                gettext("How much more time do you need?"), reply_markup=later_keyboard(checkin_id)
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
        async with ended(session):
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
    await _remove_buttons(callback)
    await _answered(callback, state, new_date, view, app, i18n, relay, session)


async def _answered(
    callback: CallbackQuery,
    state: CheckinState,
    new_date: date | None,
    view: agreements.CheckinView,
    app: AppContext,
    i18n: I18n,
    relay: Relay,
    session: AsyncSession,
) -> None:
    """What she hears once her answer to a check-in is stored."""
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
        await _hand_over(callback, view, app, relay, session)


def agreements_router() -> Router:
    router = Router(name="agreements")
    router.callback_query.register(acknowledge, Quick(F.data.startswith("ag:")))
    router.callback_query.register(checkin, Quick(F.data.startswith("ci:")))
    return router


async def _hand_over(
    callback: CallbackQuery, view: agreements.CheckinView, app: AppContext, relay: Relay, session: AsyncSession
) -> None:
    """ "I need help": a person is told at once, in her conversation (her topic, or her curator's chat)."""
    await callback.message.answer(  # type: ignore[union-attr]  # a button's message
        gettext("Thank you for telling us. A person from the team will write to you here soon.")
    )
    async with ended(session):
        thread = await relay_service.open_for(session, user_id=view.user_id, now=app.now())

    def words() -> str:
        asks = gettext("{name} asks for help with: {item}")
        return "🙋 " + asks.format(name=escape(view.first_name), item=escape(view.item_text))

    await relay.tell_the_team(thread, words)
