"""🔔 Updates (from /settings): which needs she wants news about, one tap per need, saved at once."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Cancel, Row
from aiogram_dialog.widgets.text import Multi

from bot.services import catalog, subscriptions, users
from dialogs.common.getters import reading, user_id_of
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, choices, crisis_button, menu_button
from dialogs.states import SubscriptionsSG
from dialogs.support.dialog import CATEGORY_LABELS


async def subscriptions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    async with reading(dialog_manager) as session:
        chosen = await subscriptions.get(session, user_id_of(dialog_manager))
        profile = await users.get_profile(session, user_id_of(dialog_manager))
        await session.commit()
    has_region = bool(profile and profile.region and profile.region != catalog.FEDERAL)
    return {
        "toggles": [
            (code, "{mark} {label}".format(mark="✅" if on else "◻️", label=CATEGORY_LABELS[code]))
            for code, on in chosen.items()
        ],
        "no_region": not has_region,
    }


async def on_toggle(callback: CallbackQuery, _widget: Any, manager: DialogManager, category: str) -> None:
    if category not in catalog.CATEGORIES:  # a forged button
        await callback.answer(gettext("This button is out of date."))
        return
    async with scope(manager).transaction() as session:
        current = await subscriptions.get(session, user_id_of(manager))
        await subscriptions.set(session, user_id_of(manager), category, not current[category])
    await callback.answer(gettext("Saved."))


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Multi(
                Tr(
                    "<b>🔔 Updates</b>\n\nNews about help for your region: new places, changed phone numbers. "
                    "Tap a need to turn its news on ✅ or off ◻️."
                ),
                Tr(
                    "You have not chosen a region, so only news for the whole country reaches you. "
                    "Choose your region in ⚙️ Settings to get its news too.",
                    when=F["no_region"],
                ),
                sep="\n\n",
            ),
            choices("sub", "toggles", on_toggle),
            Row(Cancel(Tr("◀ Back")), menu_button()),
            crisis_button(),
            getter=subscriptions_getter,
            state=SubscriptionsSG.main,
        ),
    )
