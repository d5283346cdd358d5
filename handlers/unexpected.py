"""Messages nobody asked for: crisis words, unknown commands, chatter, stickers, photos, voice.

Each gets a short, kind, useful answer, and the screen she was on comes back under her eyes.
Runs before the dialogs (see ``NothingListens``); never silence.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.relaying import Relay
from bot.services import audit, programme
from bot.services.users import TEAM_ROLES, Profile
from dialogs.states import HumanSG, JoinSG
from handlers.admin import ADMIN_COMMANDS
from handlers.common import crisis_first, open_crisis, show_again_or_menu, show_menu
from handlers.filters import CrisisWords, NotADialogButton, NothingListens, Quick
from handlers.handoff import InOpenConversation
from handlers.staff import STAFF_COMMANDS
from handlers.surveys import SURVEY_COMMANDS
from handlers.team import TEAM_COMMANDS

WAYS_ON = ("ux:back", "ux:human", "ux:join", "ux:menu")


async def _ways_on(session: AsyncSession, profile: Profile) -> InlineKeyboardMarkup:
    """One message answers an unexpected input (Telegram allows about one a second in a chat): its
    buttons lead back to her screen, to a person, to joining the programme (if she is in none), to the menu."""
    rows = [[InlineKeyboardButton(text=gettext("💬 Write to a person"), callback_data="ux:human")]]
    if profile.role not in TEAM_ROLES and not await programme.has_programme(session, user_id=profile.user_id):
        rows.append(
            [InlineKeyboardButton(text=gettext("🤝 I want to take part in the programme"), callback_data="ux:join")]
        )
    await session.commit()
    rows.append(
        [
            InlineKeyboardButton(text=gettext("◀ Back to the screen"), callback_data="ux:back"),
            InlineKeyboardButton(text=gettext("☰ Menu"), callback_data="ux:menu"),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def crisis_words(message: Message, dialog_manager: DialogManager, relay: Relay, profile: Profile) -> None:
    """Wherever she is in the bot: the crisis numbers come first, and a person is told at once."""
    await crisis_first(message, relay, profile)
    await open_crisis(dialog_manager)


async def unknown_command(message: Message, session: AsyncSession, profile: Profile, app: AppContext) -> None:
    name = (message.text or "/").split()[0][1:].split("@", 1)[0].lower()
    if name in STAFF_COMMANDS or name in ADMIN_COMMANDS or name in TEAM_COMMANDS or name in SURVEY_COMMANDS:
        audit.record(
            session, actor_id=profile.user_id, action="denied", object_type="command", object_id=name, now=app.now()
        )
        await session.commit()
        text = gettext("This command is only for the programme team.")
    else:
        text = gettext("I do not know this command. Here is what I can do: /help")
    await message.answer(text, reply_markup=await _ways_on(session, profile))


async def to_her_curator(message: Message, relay: Relay) -> None:
    """She is talking with a person: whatever she types goes on to them."""
    await relay.from_participant(message)


async def free_text(message: Message, session: AsyncSession, profile: Profile) -> None:
    """A question typed on a screen of buttons: one kind answer, and a person within one tap."""
    await message.answer(
        gettext(
            "Thank you for writing. 🌿 I understand buttons best, so I cannot answer this myself, "
            "but a person from the team can: tap «💬 Write to a person» and write it there. "
            "If something is urgent, press 🆘."
        ),
        reply_markup=await _ways_on(session, profile),
    )


async def anything_else(message: Message, session: AsyncSession, profile: Profile) -> None:
    await message.answer(
        gettext(
            "I cannot open photos, stickers, voice messages or files here. Please tap one of the buttons "
            "below. To send it to a person, tap «💬 Write to a person» first."
        ),
        reply_markup=await _ways_on(session, profile),
    )


async def way_on(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
    """The buttons under those answers: back to her screen, a person, joining, the menu."""
    await callback.answer()
    if callback.data == "ux:back":
        await show_again_or_menu(dialog_manager)
    elif callback.data == "ux:human":
        await dialog_manager.start(HumanSG.chat, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)
    elif callback.data == "ux:join":
        await dialog_manager.start(JoinSG.intro, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)
    else:
        await show_menu(dialog_manager)


async def foreign_button(
    callback: CallbackQuery, dialog_manager: DialogManager, session: AsyncSession, app: AppContext
) -> None:
    await callback.answer(gettext("This button is out of date. Here is the menu."))
    await audit.denied(
        session,
        actor_id=callback.from_user.id,
        object_type="callback",
        object_id=None,
        attempted="foreign_button",
        now=app.now(),
    )
    await show_menu(dialog_manager)


def unexpected_router(input_states: frozenset[State]) -> Router:
    router = Router(name="unexpected")
    router.message.filter(Quick(F.chat.type == "private"))
    nothing_listens = NothingListens(input_states)
    router.message.register(crisis_words, CrisisWords())
    router.message.register(unknown_command, nothing_listens, Quick(F.text.startswith("/")))
    router.message.register(to_her_curator, nothing_listens, InOpenConversation())
    router.message.register(free_text, nothing_listens, Quick(F.text))
    router.message.register(anything_else, nothing_listens)
    router.callback_query.register(way_on, Quick(F.data.in_(WAYS_ON)))
    router.callback_query.register(foreign_button, NotADialogButton())
    return router
