"""Admins: who has which role. (Invitations with roles come with cases; ADMIN_IDS bootstrap.)"""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services import parse, users
from bot.services.users import Profile
from bot.wording.labels import role_name
from db.models import Role
from handlers.filters import HasRole

ADMIN_COMMANDS = ("setrole", "setname", "chatid")


async def setrole(
    message: Message, command: CommandObject, session: AsyncSession, profile: Profile, app: AppContext
) -> None:
    parts = (command.args or "").split()
    roles = [r.value for r in Role] + ["none"]
    target = parse.positive_id(parts[0]) if parts else None
    region = parse.region_code(parts[2]) if len(parts) == 3 else None
    if len(parts) not in (2, 3) or target is None or parts[1] not in roles or (len(parts) == 3 and not region):
        await message.answer(
            gettext(
                "Usage: /setrole TELEGRAM_ID ROLE [REGION]\nRoles: {roles}\n"
                "REGION (for staff: whose cases they see), like altai_krai"
            ).format(roles=", ".join(roles))
        )
        return
    role = None if parts[1] == "none" else Role(parts[1])
    try:
        await users.set_role(session, actor=profile, target_id=target, role=role, scope_region=region, now=app.now())
    except users.NotAllowed:
        await message.answer(gettext("You cannot take the admin role away from yourself."))
        return
    except users.UnknownRegion:
        await message.answer(gettext("There is no region with this code."))
        return
    text = gettext("Done: {user} now has the role “{role}”.").format(
        user=target, role=role_name(role.value if role else None)
    )
    if role is not None and role.value not in ("woman", "relative") and not await users.display_name(session, target):
        text += "\n" + gettext(
            "They have no name yet, so participants would see a number: /setname {user} FirstName"
        ).format(user=target)
    await message.answer(text)


async def setname(
    message: Message, command: CommandObject, session: AsyncSession, profile: Profile, app: AppContext
) -> None:
    """The first name participants and the team see for a team member (editable at any time)."""
    target, _, name = (command.args or "").strip().partition(" ")
    if not target.isdigit() or not name.strip():
        await message.answer(gettext("Usage: /setname TELEGRAM_ID FirstName"))
        return
    try:
        clean = await users.set_display_name(session, actor=profile, target_id=int(target), name=name, now=app.now())
    except users.BadName:
        await message.answer(gettext("Please send a first name in letters, up to 40 characters."))
        return
    except users.NotAllowed:
        await message.answer(gettext("This person is not in the programme team."))
        return
    await message.answer(gettext("Done: {user} is now shown as {name}.").format(user=target, name=escape(clean)))


async def chatid(message: Message) -> None:
    """In the curators' group: the number CURATOR_CHAT_ID needs."""
    await message.answer(gettext("This chat's id: <code>{chat_id}</code>").format(chat_id=message.chat.id))


def admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(HasRole(Role.ADMIN))
    router.message.register(setrole, Command("setrole"))
    router.message.register(setname, Command("setname"))
    router.message.register(chatid, Command("chatid"))
    return router
