"""Messages nobody asked for: crisis words, unknown commands, chatter, stickers, photos, voice.

Each gets a short, kind, useful answer, and the screen she was on comes back under her eyes.
Runs before the dialogs (see ``NothingListens``); never silence.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager
from sqlalchemy.ext.asyncio import AsyncSession

from bot.relay import Relay
from bot.services import audit
from bot.services.users import TEAM_ROLES, Profile
from handlers.admin import ADMIN_COMMANDS
from handlers.common import open_crisis, show_again_or_menu, show_menu
from handlers.filters import CrisisWords, NotADialogButton, NothingListens
from handlers.handoff import InOpenConversation
from handlers.staff import STAFF_COMMANDS
from handlers.surveys import SURVEY_COMMANDS
from handlers.team import TEAM_COMMANDS


def unexpected_router(input_states: frozenset[State]) -> Router:
    router = Router(name="unexpected")
    router.message.filter(F.chat.type == "private")

    @router.message(CrisisWords())
    async def crisis_words(message: Message, dialog_manager: DialogManager, relay: Relay, profile: Profile) -> None:
        """Wherever she is in the bot: the crisis numbers come first, and a person is told at once."""
        if profile.role not in TEAM_ROLES:
            await relay.from_participant(message, urgent=True)
        await message.answer(
            gettext(
                "It sounds like things are very hard right now. You are not alone. "
                "Here are people who will help straight away:"
            )
        )
        await open_crisis(dialog_manager)

    @router.message(NothingListens(input_states), F.text.startswith("/"))
    async def unknown_command(
        message: Message, session: AsyncSession, profile: Profile, dialog_manager: DialogManager
    ) -> None:
        name = (message.text or "/").split()[0][1:].split("@", 1)[0].lower()
        if name in STAFF_COMMANDS or name in ADMIN_COMMANDS or name in TEAM_COMMANDS or name in SURVEY_COMMANDS:
            audit.record(session, actor_id=profile.user_id, action="denied", object_type="command", object_id=name)
            await session.commit()
            await message.answer(gettext("This command is only for the programme team. The menu is below."))
        else:
            await message.answer(gettext("I do not know this command. Here is what I can do: /help"))
        await show_again_or_menu(dialog_manager)

    @router.message(NothingListens(input_states), InOpenConversation())
    async def to_her_curator(message: Message, relay: Relay) -> None:
        """She is talking with a person: whatever she types goes on to them."""
        await relay.from_participant(message)

    @router.message(NothingListens(input_states), F.text)
    async def free_text(message: Message, dialog_manager: DialogManager) -> None:
        await message.answer(
            gettext(
                "Thank you for writing. I understand buttons best, so please tap one below. "
                "If something is urgent, press 🆘."
            )
        )
        await show_again_or_menu(dialog_manager)

    @router.message(NothingListens(input_states))
    async def anything_else(message: Message, dialog_manager: DialogManager) -> None:
        await message.answer(
            gettext(
                "I cannot open photos, stickers, voice messages or files here. Please tap one of the buttons below."
            )
        )
        await show_again_or_menu(dialog_manager)

    @router.callback_query(NotADialogButton())
    async def foreign_button(callback: CallbackQuery, dialog_manager: DialogManager, session: AsyncSession) -> None:
        await callback.answer(gettext("This button is out of date. Here is the menu."))
        await audit.denied(
            session, actor_id=callback.from_user.id, object_type="callback", object_id=None, attempted="foreign_button"
        )
        await show_menu(dialog_manager)

    return router
