"""Urgent help: the crisis lines of her region first, then the numbers that work everywhere."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Cancel, Row, Start
from aiogram_dialog.widgets.text import Format, Multi

from bot.services import catalog, users
from dialogs.common.getters import (
    current_region,
    has_local,
    locale_of,
    reading,
    region_name,
    render_contact,
    user_id_of,
)
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, human_button, menu_button
from dialogs.states import CrisisSG, RegionSG


async def crisis_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Her region's lines under its name (said plainly when it is only assumed), then the free lines
    for all of Russia; never another region's local numbers as if they were hers."""
    app = scope(dialog_manager).app
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        code, region = await current_region(dialog_manager, session)
        profile = await users.get_profile(session, user_id_of(dialog_manager))
        contacts = await catalog.crisis_contacts(
            session,
            code,
            locale,
            app.today(region.timezone if region else None),
        )
    local = [c for c in contacts if c.region_code != catalog.FEDERAL]
    everywhere = [c for c in contacts if c.region_code == catalog.FEDERAL]
    chosen = bool(profile and profile.region)
    return {
        "local": "\n\n".join(render_contact(c) for c in local),
        "everywhere": "\n\n".join(render_contact(c) for c in everywhere),
        "has_local": bool(local),
        "assumed": bool(local) and not chosen,
        "chosen_local": bool(local) and chosen,
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
                Tr("<b>📍 In {region_name}:</b>", when=F["chosen_local"]),
                Tr(
                    "<b>📍 If you are in {region_name}:</b> (you have not chosen a region; "
                    "if you live elsewhere, tap «Choose region»)",
                    when=F["assumed"],
                ),
                Format("{local}", when=F["has_local"]),
                Tr("<b>🇷🇺 Free lines for all of Russia:</b>"),
                Format("{everywhere}"),
                Tr("Region: {region_name}", when=F["has_region"]),
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
