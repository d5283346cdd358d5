"""Admins: who has which role. (Invitations with roles come with cases; ADMIN_IDS bootstrap.)"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import parse, users
from bot.services.users import Profile
from db.models import Role
from handlers.filters import HasRole
from handlers.staff import role_name

ADMIN_COMMANDS = ("setrole",)


def admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(HasRole(Role.ADMIN))

    @router.message(Command("setrole"))
    async def setrole(message: Message, command: CommandObject, session: AsyncSession, profile: Profile) -> None:
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
            await users.set_role(session, actor=profile, target_id=target, role=role, scope_region=region)
        except users.NotAllowed:
            await message.answer(gettext("You cannot take the admin role away from yourself."))
            return
        except users.UnknownRegion:
            await message.answer(gettext("There is no region with this code."))
            return
        await message.answer(
            gettext("Done: {user} now has the role “{role}”.").format(
                user=target, role=role_name(role.value if role else None)
            )
        )

    return router
