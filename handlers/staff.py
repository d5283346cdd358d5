"""The programme team (staff and admins): an overview without personal data."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services import audit, join, users
from bot.services.users import Profile
from bot.wording.labels import role_name
from db.models import Role
from dialogs.catalog.dialog import catalog_history as history_text
from dialogs.catalog.dialog import start_catalog
from dialogs.states import InviteSG, NewCaseSG
from handlers.common import ended
from handlers.filters import HasRole, Quick

STAFF_COMMANDS = ("stats", "invite", "newcase", "catalog", "catalog_history", "broadcast", "broadcasts", "report")


async def stats(message: Message, session: AsyncSession, profile: Profile, app: AppContext) -> None:
    rows = await users.counts_by_role_and_region(session)
    audit.record(session, actor_id=profile.user_id, action="stats_viewed", now=app.now())
    await session.commit()
    by_role: dict[str | None, int] = {}
    by_region: dict[str | None, int] = {}
    for role, region, count in rows:
        by_role[role] = by_role.get(role, 0) + count
        by_region[region] = by_region.get(region, 0) + count
    lines = [gettext("<b>People in the bot: {total}</b>").format(total=sum(by_role.values())), ""]
    lines += [f"{role_name(role)}: {count}" for role, count in sorted(by_role.items(), key=lambda x: str(x[0]))]
    lines.append("")
    not_chosen = gettext("region not chosen")
    lines += [
        f"{region or not_chosen}: {count}" for region, count in sorted(by_region.items(), key=lambda x: str(x[0]))
    ]
    await message.answer("\n".join(lines))


async def invite(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(InviteSG.role, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def join_request_to_case(
    callback: CallbackQuery, dialog_manager: DialogManager, profile: Profile, session: AsyncSession, app: AppContext
) -> None:
    """A request to take part becomes a case: /newcase, filled in with what she said."""
    raw = (callback.data or "").removeprefix("jq:")
    try:
        async with ended(session):
            request = await join.open_for_staff(
                session, actor=profile, request_id=int(raw) if raw.isdigit() else 0, now=app.now()
            )
    except join.Refused:
        await callback.answer(gettext("This request is not for your region, or it is gone."), show_alert=True)
        return
    if request.state != "open":
        await callback.answer(gettext("This request has already been turned into a case."), show_alert=True)
        return
    await callback.answer()
    await dialog_manager.start(
        NewCaseSG.first_name,
        data={"join_request": request.id, "first_name": request.first_name or "", "region": request.region_code},
        mode=StartMode.RESET_STACK,
        show_mode=ShowMode.SEND,
    )


async def new_case(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(NewCaseSG.first_name, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def catalog_editor(message: Message, dialog_manager: DialogManager, profile: Profile) -> None:
    if not await start_catalog(dialog_manager, profile):
        await message.answer(gettext("Your region is not set. Ask an admin to set it."))


async def catalog_history(
    message: Message, session: AsyncSession, profile: Profile, app: AppContext, i18n: I18n
) -> None:
    await message.answer(await history_text(session, actor=profile, app=app, locale=i18n.current_locale))


def staff_router() -> Router:
    router = Router(name="staff")
    router.message.filter(HasRole(Role.STAFF, Role.ADMIN))
    router.message.register(stats, Command("stats"))
    router.message.register(invite, Command("invite"))
    router.callback_query.register(
        join_request_to_case, Quick(F.data.startswith("jq:")), HasRole(Role.STAFF, Role.ADMIN)
    )
    router.message.register(new_case, Command("newcase"))
    router.message.register(catalog_editor, Command("catalog"))
    router.message.register(catalog_history, Command("catalog_history"))
    return router
