"""Small helpers the routers share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, users
from bot.services.users import TEAM_ROLES, Profile
from db.transaction import rollback_on_error

if TYPE_CHECKING:
    from bot.jobs.relaying import Relay
from dialogs.states import CrisisSG, MenuSG


@asynccontextmanager
async def ended(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The update's session (``DbSession``) for one call into the services, its transaction ended on
    the way out as a session of its own would have been: committed, or rolled back when the service
    raised (a refusal may leave its read open). No connection then waits in the update while
    Telegram answers, and SQLite's single connection stays free for the workers and the dialogs."""
    async with rollback_on_error(session):
        yield session
    await session.commit()


async def locale_of(session: AsyncSession, user_id: int, default: str) -> str:
    """Someone else's language (a message worded for her, not for the person speaking)."""
    async with ended(session):
        return await users.locale_of(session, user_id, default)


async def show_menu(dialog_manager: DialogManager) -> None:
    await dialog_manager.start(MenuSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def show_again_or_menu(dialog_manager: DialogManager) -> None:
    """Puts the current screen (or the menu) back under her eyes as a new message."""
    if dialog_manager.has_context():
        await dialog_manager.show(ShowMode.SEND)
    else:
        await show_menu(dialog_manager)


async def open_crisis(dialog_manager: DialogManager) -> None:
    """Over whatever she was doing, so "Back" returns her there; never stacked twice."""
    if dialog_manager.has_context() and dialog_manager.current_context().state == CrisisSG.main:
        await dialog_manager.show(ShowMode.SEND)
    else:
        await dialog_manager.start(CrisisSG.main, show_mode=ShowMode.SEND)


async def refuse_button(callback: CallbackQuery, session: AsyncSession, kind: str, *, now: datetime) -> None:
    """A button whose data does not parse (forged, or from another version): answered kindly, and
    the refusal audited with the kind of button only (the data itself may be anything)."""
    await callback.answer(gettext("This button is out of date."))
    async with ended(session):
        await audit.denied(
            session,
            actor_id=callback.from_user.id,
            object_type="callback",
            object_id=kind,
            attempted="forged_button",
            now=now,
        )


async def crisis_first(message: Message, relay: Relay, profile: Profile) -> None:
    """Crisis words, wherever they come: a person is told at once (unless she is on the team herself)
    and she is answered first; the caller opens the crisis screen after this."""
    if profile.role not in TEAM_ROLES:
        await relay.from_participant(message, urgent=True)
    await message.answer(
        gettext(
            "It sounds like things are very hard right now. You are not alone. "
            "Here are people who will help straight away:"
        )
    )
