"""Choosing a region: it decides which phone numbers and addresses she sees."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Cancel

from bot.services import catalog, users
from dialogs.common.getters import locale_of, reading
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, choices, crisis_button
from dialogs.states import RegionSG


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        regions = await catalog.regions(session)
    return {"regions": [(r.code, r.title(locale)) for r in regions]}


async def on_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    try:
        async with scope(manager).transaction() as session:
            await users.set_region(session, callback.from_user.id, code)
    except users.UnknownRegion:
        await callback.answer(gettext("This button no longer works."))
        return
    await callback.answer(gettext("Region saved."))
    await manager.done()


async def on_not_listed(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    async with scope(manager).transaction() as session:
        await users.set_region(session, callback.from_user.id, None)
    await callback.answer(gettext("We will show what works everywhere in Russia."))
    await manager.done()


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr(
                "<b>📍 Your region</b>\n\n"
                "Where do you live now, or plan to live? We only use it to show phone numbers "
                "and addresses near you."
            ),
            choices("reg", "regions", on_region),
            Button(Tr("My region is not in the list"), id="none", on_click=on_not_listed),
            Cancel(Tr("◀ Back")),
            crisis_button(),
            getter=regions_getter,
            state=RegionSG.pick,
        ),
    )
