"""Everyone: /start, the commands of the menu, the keyboard under the text field, block/unblock."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter, Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.buttons import OPEN_PROGRAMME
from bot.services import audit, invitations, programme, start_payload, users
from bot.services.start_payload import InviteLink, RegionLink, Unknown
from bot.services.users import Profile
from bot.wording.labels import role_name
from dialogs.common.hide import hide_chat
from dialogs.common.keyboards import MENU_LABEL, SOS_LABEL, labels_in_all_locales, reply_keyboard
from dialogs.states import ConsentSG, MenuSG, PrivacySG, ProgrammeSG, SettingsSG
from handlers.common import ended, locale_of, open_crisis, show_menu
from handlers.filters import Quick

log = logging.getLogger(__name__)


async def _open_invitation(
    message: Message,
    token: str,
    profile: Profile,
    dialog_manager: DialogManager,
    app: AppContext,
    session: AsyncSession,
) -> None:
    """An invitation link: she joins her place in a case and reads about the programme before
    deciding, or a team member gets her role. A link that does not work says why and who can help."""
    joined: invitations.JoinedCase | invitations.JoinedTeam | invitations.InviteProblem
    try:
        async with ended(session):
            joined = await invitations.redeem(
                session,
                token=token,
                user_id=profile.user_id,
                first_name=message.from_user.first_name if message.from_user else None,
                now=app.now(),
            )
    except invitations.InviteProblem as problem:
        joined = problem
    if isinstance(joined, invitations.InviteProblem):
        await _invitation_failed(message, joined, dialog_manager)
    elif isinstance(joined, invitations.JoinedTeam):
        await _joined_team(message, joined, dialog_manager)
    elif joined.again:
        await dialog_manager.start(ProgrammeSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)
    else:
        await _joined_case(message, joined, dialog_manager, session)


async def _invitation_failed(
    message: Message, problem: invitations.InviteProblem, dialog_manager: DialogManager
) -> None:
    reason = {
        "expired": gettext("This invitation has expired: links work for a limited time."),
        "used": gettext("This invitation has already been used: each link works only once."),
        "revoked": gettext("This invitation has been cancelled: a newer one may have been issued."),
    }.get(problem.reason, gettext("This invitation link does not work: it may have been copied incompletely."))
    await message.answer(
        reason
        + "\n\n"
        + gettext(
            "Nothing is lost. Ask the person who gave you the link for a new one. Everything else in the bot "
            "is open to you now: help near you, and the 🆘 button for urgent help."
        ),
        reply_markup=reply_keyboard(),
    )
    await show_menu(dialog_manager)


async def _joined_team(message: Message, joined: invitations.JoinedTeam, dialog_manager: DialogManager) -> None:
    text = gettext(
        "Welcome to the team! Your role: “{role}”.\n\n"
        "/cases — your cases\n/overdue — what is late\n/questions — questions from participants"
    ).format(role=role_name(joined.role.value))
    if joined.role.value in ("staff", "admin"):
        text += "\n" + gettext("/newcase — register a case\n/invite — invite to the team")
    await message.answer(text, reply_markup=reply_keyboard())
    await show_menu(dialog_manager)


async def _joined_case(
    message: Message, joined: invitations.JoinedCase, dialog_manager: DialogManager, session: AsyncSession
) -> None:
    woman = None
    if joined.kind != "woman":
        async with ended(session):
            woman = await programme.woman_of(session, case_id=joined.case_id)
    if woman:
        hello = gettext(
            "Hello! 👋 You have been invited: {name} would like you to come to a family meeting. "
            "It is part of a restorative programme for her and the people close to her. First, a few "
            "short screens about it. Read them calmly: you decide everything yourself, and you can stop "
            "at any moment."
        ).format(name=escape(woman))
    else:
        hello = gettext(
            "Hello! 👋 You have been invited to a restorative programme. First, a few short screens about it. "
            "Read them calmly: you decide everything yourself, and you can stop at any moment."
        )
    await message.answer(hello, reply_markup=reply_keyboard())
    await dialog_manager.start(
        ConsentSG.purpose,
        data={"participant_id": joined.participant_id},
        mode=StartMode.RESET_STACK,
        show_mode=ShowMode.SEND,
    )


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    profile: Profile,
    dialog_manager: DialogManager,
    app: AppContext,
) -> None:
    payload = start_payload.parse(command.args)
    if isinstance(payload, InviteLink):
        await _open_invitation(message, payload.token, profile, dialog_manager, app, session)
        return
    if isinstance(payload, RegionLink):
        try:
            await users.set_region(session, profile.user_id, payload.region_code)
        except users.UnknownRegion:
            payload = Unknown("unrecognised")
    if isinstance(payload, Unknown):
        audit.record(
            session, actor_id=profile.user_id, action="start_link_unknown", reason=payload.reason, now=app.now()
        )
        await session.commit()
        await message.answer(
            gettext(
                "This link does not work: it may be out of date or copied incorrectly. "
                "That is all right, everything here is open to you anyway. "
                "If someone gave you the link, you can ask them for a new one."
            )
        )
    if profile.is_new:
        text = gettext(
            "Hello! 👋\n\n"
            "This bot is for women who have come back from prison, and for their families. "
            "Here you can calmly learn about the restorative programme, find help near you "
            "and get urgent phone numbers.\n\n"
            "Nobody here judges you. You decide what to do and at what pace."
        )
    else:
        text = gettext("Hello again! Here is the menu.")
    await message.answer(text, reply_markup=reply_keyboard())
    await show_menu(dialog_manager)


async def menu(message: Message, dialog_manager: DialogManager) -> None:
    await show_menu(dialog_manager)


async def help_(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(MenuSG.help, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def settings(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(SettingsSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def privacy(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(PrivacySG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def sos(message: Message, dialog_manager: DialogManager) -> None:
    await open_crisis(dialog_manager)


async def open_programme(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
    await callback.answer()
    await dialog_manager.start(ProgrammeSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def hide(message: Message, dialog_manager: DialogManager, bot: Bot) -> None:
    await hide_chat(dialog_manager, bot, message.chat.id)


async def in_a_group(event: ChatMemberUpdated, app: AppContext, i18n: I18n, session: AsyncSession) -> None:
    """Added to a group: say its id (the log at INFO, and the admins), so CURATOR_CHAT_ID can be
    set without switching the log to DEBUG. Removed from one: only the log."""
    status = event.new_chat_member.status
    if status not in ("member", "administrator"):
        log.info("removed from group %s (%s)", event.chat.id, status)
        return
    log.info("added to group %s: CURATOR_CHAT_ID=%s makes it the curators' group", event.chat.id, event.chat.id)

    def render() -> str:
        return gettext(
            "The bot was added to a group. Its id: <code>{chat_id}</code>\n"
            "To make it the curators' group, set CURATOR_CHAT_ID={chat_id} and restart the bot."
        ).format(chat_id=event.chat.id)

    for admin_id in app.settings.admin_ids:
        locale = await locale_of(session, admin_id, i18n.default_locale)
        async with ended(session):
            await notify.worded(session, i18n, recipient_id=admin_id, render=render, locale=locale, now=app.now())


async def blocked(event: ChatMemberUpdated, session: AsyncSession, app: AppContext) -> None:
    await users.set_blocked(session, event.from_user.id, True, now=app.now())


async def unblocked(event: ChatMemberUpdated, session: AsyncSession, app: AppContext) -> None:
    await users.set_blocked(session, event.from_user.id, False, now=app.now())


def public_router(i18n: I18n) -> Router:
    router = Router(name="public")
    router.message.filter(Quick(F.chat.type == "private"))
    router.message.register(start, CommandStart())
    router.message.register(menu, Quick(F.text.in_(labels_in_all_locales(i18n, MENU_LABEL))))
    router.message.register(menu, Command("menu"))
    router.message.register(help_, Command("help"))
    router.message.register(settings, Command("settings"))
    router.message.register(privacy, Command("privacy"))
    router.message.register(sos, Quick(F.text.in_(labels_in_all_locales(i18n, SOS_LABEL))))
    router.message.register(sos, Command("sos"))
    router.callback_query.register(open_programme, Quick(F.data == OPEN_PROGRAMME))
    router.message.register(hide, Command("hide"))
    router.my_chat_member.register(in_a_group, Quick(F.chat.type.in_({"group", "supergroup"})))
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(MEMBER))
    return router
