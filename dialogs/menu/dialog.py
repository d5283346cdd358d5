"""The main menu and the help screen."""

from __future__ import annotations

from aiogram_dialog import Dialog, Window
from aiogram_dialog.widgets.kbd import Row, Start, SwitchTo

from dialogs.common.widgets import Tr, crisis_button
from dialogs.states import AboutSG, MenuSG, PrivacySG, SettingsSG, SupportSG


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr("What would you like to do? Tap a button below."),
            Start(Tr("💬 What is the programme"), id="about", state=AboutSG.intro),
            Start(Tr("🧭 Where to get help"), id="support", state=SupportSG.categories),
            crisis_button(),
            Row(
                Start(Tr("⚙️ Settings"), id="settings", state=SettingsSG.main),
                Start(Tr("🔒 Privacy"), id="privacy", state=PrivacySG.main),
                SwitchTo(Tr("❓ Help"), id="help", state=MenuSG.help),
            ),
            state=MenuSG.main,
        ),
        Window(
            Tr(
                "<b>How to use this bot</b>\n\n"
                "Press the buttons: that is all you need. You can also type these commands:\n"
                "/start — begin again from the menu\n"
                "/settings — language and region\n"
                "/privacy — what we keep about you and how to delete it\n"
                "/help — this screen\n"
                "/sos — urgent help\n\n"
                "The 🆘 button is always at the bottom of the screen. It shows the phone numbers "
                "of people who will help you right away."
            ),
            crisis_button(),
            SwitchTo(Tr("☰ Menu"), id="back", state=MenuSG.main),
            state=MenuSG.help,
        ),
    )
