"""Urgent help: the crisis lines of her region first, then the numbers that work everywhere."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Cancel, Row, Start
from aiogram_dialog.widgets.text import Format, Multi

from bot.context import AppContext
from bot.services import catalog
from dialogs.common.getters import current_region, has_local, locale_of, reading, region_name, render_contact
from dialogs.common.widgets import Tr, human_button, menu_button
from dialogs.states import CrisisSG, RegionSG


async def crisis_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app: AppContext = dialog_manager.middleware_data["app"]
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        code, region = await current_region(dialog_manager, session)
        contacts = await catalog.crisis_contacts(
            session,
            code,
            locale,
            app.today(region.timezone if region else None),
        )
    return {
        "contacts": "\n\n".join(render_contact(c) for c in contacts),
        "region_name": region_name(region, locale),
        "has_region": has_local(region),
    }


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Multi(
                Tr(
                    "<b>🆘 Urgent help</b>\n\n"
                    "If you or your children are in danger, or you have nowhere to sleep tonight, "
                    "call one of these numbers. You do not have to explain everything at once."
                ),
                Format("{contacts}"),
                Tr("Region: {region_name}"),
                Tr("Choose your region to see the numbers near you.", when=~F["has_region"]),
                sep="\n\n",
            ),
            Start(Tr("📍 Choose region"), id="region", state=RegionSG.pick),
            human_button(),
            Row(Cancel(Tr("◀ Back")), menu_button()),
            getter=crisis_getter,
            state=CrisisSG.main,
        ),
    )
