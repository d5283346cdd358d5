"""Broadcasts for staff and admins: ``/broadcast`` opens the composer, ``/broadcasts`` lists the
recent ones with a Cancel button for those scheduled or being sent."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.i18n import N_
from bot.jobs.broadcaster import Broadcaster
from bot.services import broadcasts, parse
from bot.services.formatting import format_when
from bot.services.users import Profile
from db.models import BroadcastState, Role
from dialogs.states import BroadcastSG
from handlers.filters import HasRole, Quick

CANCEL_PREFIX = "bc:x:"
STATE_NAMES = {
    "draft": N_("draft"),
    "scheduled": N_("scheduled for {when}"),
    "sending": N_("being sent"),
    "done": N_("sent"),
    "cancelled": N_("cancelled"),
}


async def compose(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(BroadcastSG.content, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def listing(message: Message, session: AsyncSession, profile: Profile, app: AppContext, i18n: I18n) -> None:
    found = await broadcasts.recent(session, actor=profile)
    await session.commit()
    if not found:
        await message.answer(gettext("No broadcasts yet. /broadcast to write one."))
        return
    zone = profile.timezone or app.settings.default_timezone
    lines = [gettext("<b>Recent broadcasts</b>")]
    buttons = []
    for item in found:
        when = format_when(item.scheduled_at, i18n.current_locale, zone) if item.scheduled_at else ""
        state = gettext(STATE_NAMES[item.state.value]).format(when=when)
        words = escape(item.preview)
        lines.append(
            gettext("#{id} · {state} · {total} people · {words}").format(
                id=item.id, state=state, total=item.total, words=words
            )
        )
        if item.state in (BroadcastState.SCHEDULED, BroadcastState.SENDING):
            buttons.append(
                [
                    InlineKeyboardButton(
                        text=gettext("✖️ Cancel #{id}").format(id=item.id), callback_data=f"{CANCEL_PREFIX}{item.id}"
                    )
                ]
            )
    markup = InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None
    await message.answer("\n".join(lines), reply_markup=markup)


async def cancel(
    callback: CallbackQuery, session: AsyncSession, profile: Profile, app: AppContext, broadcaster: Broadcaster
) -> None:
    raw = (callback.data or "")[len(CANCEL_PREFIX) :]
    if not parse.digits(raw):
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        stopped = await broadcasts.cancel(session, actor=profile, broadcast_id=int(raw), now=app.now())
    except broadcasts.Refused:
        await callback.answer(gettext("You cannot cancel this broadcast."), show_alert=True)
        return
    if stopped is None:
        await callback.answer(gettext("This broadcast is no longer running."), show_alert=True)
        return
    await callback.answer(gettext("Cancelled: {count} messages will not be sent.").format(count=stopped))
    await broadcaster.report(int(raw))


def broadcast_router() -> Router:
    router = Router(name="broadcast")
    router.message.filter(HasRole(Role.STAFF, Role.ADMIN))
    router.callback_query.filter(HasRole(Role.STAFF, Role.ADMIN))
    router.message.register(compose, Command("broadcast"))
    router.message.register(listing, Command("broadcasts"))
    router.callback_query.register(cancel, Quick(F.data.startswith(CANCEL_PREFIX)))
    return router
