"""Meeting reminders and the answers to them, the "my meetings" button of pushed messages, and the
facilitator's morning list of the day's meetings."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.buttons import OPEN_MY_MEETINGS, Attend
from bot.services import cases, meetings
from dialogs.states import MyMeetingsSG
from handlers.common import ended
from handlers.filters import Quick

log = logging.getLogger(__name__)


async def open_mine(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
    await callback.answer()
    await dialog_manager.start(MyMeetingsSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def attend(
    callback: CallbackQuery,
    callback_data: Attend,
    app: AppContext,
    dialog_manager: DialogManager,
    session: AsyncSession,
) -> None:
    try:
        async with ended(session):  # "I cannot come" tells the facilitator in its transaction
            await meetings.attend(
                session,
                user_id=callback.from_user.id,
                meeting_id=callback_data.meeting,
                coming=callback_data.coming,
                now=app.now(),
            )
    except cases.Refused:
        await callback.answer(gettext("This button is out of date."), show_alert=True)
        return
    except meetings.Taken:
        await callback.answer(gettext("This meeting has already passed or changed."), show_alert=True)
        return
    if callback_data.coming:
        await callback.answer(gettext("Thank you! See you there."))
        return
    await callback.answer(gettext("Thank you for telling us. Let us find another time."))
    await dialog_manager.start(MyMeetingsSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


def meetings_router() -> Router:
    router = Router(name="meetings")
    router.callback_query.register(open_mine, Quick(F.data == OPEN_MY_MEETINGS))
    router.callback_query.register(attend, Attend.filter())
    return router
