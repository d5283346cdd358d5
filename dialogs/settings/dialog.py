"""Settings: language and region."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.kbd import Button, Row, Start, SwitchTo
from aiogram_dialog.widgets.text import Const

from bot.services import users
from dialogs.common.getters import reading, region_getter, user_id_of
from dialogs.common.hide import hide_button
from dialogs.common.keyboards import reply_keyboard
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, crisis_button, menu_button
from dialogs.states import RegionSG, SettingsSG, SubscriptionsSG

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


async def settings_getter(dialog_manager: DialogManager, **kwargs: Any) -> dict[str, Any]:
    data = await region_getter(dialog_manager, **kwargs)
    i18n = scope(dialog_manager).i18n
    data["language_name"] = LANGUAGE_NAMES[i18n.current_locale]
    async with reading(dialog_manager) as session:
        profile = await users.get_profile(session, user_id_of(dialog_manager))
    data["discreet"] = bool(profile and profile.discreet)
    return data


async def on_discreet(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    """Discreet notifications on or off: what the bot sends on its own opens with neutral words."""
    async with scope(manager).transaction() as session:
        profile = await users.get_profile(session, callback.from_user.id)
        await session.commit()
        if profile is not None:
            await users.set_discreet(session, callback.from_user.id, not profile.discreet)
    await callback.answer()


async def _choose(callback: CallbackQuery, manager: DialogManager, locale: str) -> None:
    s = scope(manager)
    async with s.transaction() as session:
        await users.set_locale(session, callback.from_user.id, locale)
    i18n = s.i18n
    i18n.current_locale = locale  # the rest of this update already speaks the new language
    await callback.answer()
    # The keyboard under the text field carries words too: send it again in the new language.
    if callback.message is not None:
        await callback.bot.send_message(  # type: ignore[union-attr]  # set by the dispatcher
            callback.message.chat.id,
            gettext("Done. I will speak English now."),
            reply_markup=reply_keyboard(),
        )
    await manager.switch_to(SettingsSG.main, show_mode=ShowMode.SEND)


async def on_ru(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    await _choose(callback, manager, "ru")


async def on_en(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    await _choose(callback, manager, "en")


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr("<b>⚙️ Settings</b>\n\nLanguage: {language_name}\nRegion: {region_name}"),
            Tr(
                "\nDiscreet notifications: reminders and messages the bot sends on its own begin with neutral "
                "words, and the rest is hidden until you tap it.",
                when=F["discreet"],
            ),
            Row(
                SwitchTo(Tr("🌐 Language"), id="lang", state=SettingsSG.language),
                Start(Tr("📍 Region"), id="region", state=RegionSG.pick),
            ),
            Start(Tr("🔔 Updates"), id="updates", state=SubscriptionsSG.main),
            Button(Tr("🕶 Discreet notifications: off"), id="discreet_on", on_click=on_discreet, when=~F["discreet"]),
            Button(Tr("🕶 Discreet notifications: on ✓"), id="discreet_off", on_click=on_discreet, when=F["discreet"]),
            hide_button(),
            menu_button(),
            crisis_button(),
            getter=settings_getter,
            state=SettingsSG.main,
        ),
        Window(
            Tr("Which language is easier for you?"),
            Row(
                Button(Const(LANGUAGE_NAMES["ru"]), id="ru", on_click=on_ru),
                Button(Const(LANGUAGE_NAMES["en"]), id="en", on_click=on_en),
            ),
            SwitchTo(Tr("◀ Back"), id="back", state=SettingsSG.main),
            crisis_button(),
            state=SettingsSG.language,
        ),
    )
