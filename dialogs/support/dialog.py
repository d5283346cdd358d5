"""Support measures by need, for her region (and what holds everywhere in Russia)."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import NextPage, PrevPage, Row, Start, SwitchTo
from aiogram_dialog.widgets.text import Const, Format, List, Multi

from bot.services import catalog
from dialogs.common.getters import current_region, locale_of, reading, region_getter, region_name, render_contact
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, choices, crisis_button, human_button, menu_button
from dialogs.states import RegionSG, SupportSG

CATEGORY_LABELS = {
    "housing": __("🏠 Housing"),
    "work": __("💼 Work"),
    "documents": __("📄 Documents"),
    "children_family": __("👨‍👩‍👧 Children and family"),
    "health_addiction": __("🩺 Health and addiction"),
    "legal": __("⚖️ Legal help"),
    "money": __("💰 Money and benefits"),
}
assert tuple(CATEGORY_LABELS) == catalog.CATEGORIES
PAGE_SIZE = 3


async def categories_getter(dialog_manager: DialogManager, **kwargs: Any) -> dict[str, Any]:
    data = await region_getter(dialog_manager, **kwargs)
    data["categories"] = [(code, str(label)) for code, label in CATEGORY_LABELS.items()]
    return data


async def measures_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    locale = locale_of(dialog_manager)
    category = dialog_manager.dialog_data.get("category", catalog.CATEGORIES[0])
    async with reading(dialog_manager) as session:
        code, region = await current_region(dialog_manager, session)
        entries = await catalog.measures(
            session,
            code,
            category,
            locale,
            app.today(region.timezone if region else None),
        )
    return {
        "category_name": str(CATEGORY_LABELS[category]),
        "entries": [render_contact(e) for e in entries],
        "empty": not entries,
        "paged": len(entries) > PAGE_SIZE,
        "region_name": region_name(region, locale),
    }


async def on_category(callback: CallbackQuery, _widget: Any, manager: DialogManager, category: str) -> None:
    if category not in catalog.CATEGORIES:  # a forged button: show the list again
        await callback.answer(gettext("This button no longer works."))
        return
    manager.dialog_data["category"] = category
    await manager.switch_to(SupportSG.measures)


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Multi(
                Tr("<b>🧭 Where to get help</b>\n\nWhat do you need help with? Choose below."),
                Tr("Region: {region_name}"),
                sep="\n\n",
            ),
            choices("cat", "categories", on_category),
            Start(Tr("📍 Change region"), id="region", state=RegionSG.pick),
            human_button(),
            menu_button(),
            crisis_button(),
            getter=categories_getter,
            state=SupportSG.categories,
        ),
        Window(
            Multi(
                Format("<b>{category_name}</b> · {region_name}"),
                List(Format("{item}"), items="entries", id="measures", page_size=PAGE_SIZE, sep="\n\n"),
                Tr(
                    "We have nothing listed here for your region yet. "
                    "Look at the other sections, or come back later: we keep adding to the list.",
                    when=F["empty"],
                ),
                sep="\n\n",
            ),
            Row(
                PrevPage(scroll="measures", id="prev", text=Const("◀")),
                NextPage(scroll="measures", id="next", text=Const("▶")),
                when=F["paged"],
            ),
            human_button(),
            Row(SwitchTo(Tr("◀ Back"), id="back", state=SupportSG.categories), menu_button()),
            crisis_button(),
            getter=measures_getter,
            state=SupportSG.measures,
        ),
    )
