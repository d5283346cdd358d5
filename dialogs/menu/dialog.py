"""The main menu and the help screen."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Row, Start, SwitchTo
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import programme, users
from db.cache import TableCache
from db.models import Case, Participant, User
from dialogs.common.getters import current_region, locale_of, reading, region_name, user_id_of
from dialogs.common.hide import hide_button
from dialogs.common.widgets import Tr, crisis_button, human_button
from dialogs.states import AboutSG, CasesSG, JoinSG, MenuSG, PrivacySG, ProgrammeSG, RegionSG, SettingsSG, SupportSG

# "Has she a place in an open programme?" is asked on every menu and changes a few times in a case's
# life: kept in memory, emptied by any change to participants or cases made in this process. Her user
# row matters only when it goes (her places then lose her through the database's ON DELETE SET NULL):
# a first contact, or her last_seen written, does not empty it for everyone.
_in_programme = TableCache(Participant, Case, gone=(User,))


async def _has_programme(session: AsyncSession, user_id: int, *, new: bool) -> bool:
    """``new``: her row was made by this very update, so no case had her when it began; an invitation
    that binds her opens the consent screens, not this menu. Not kept: her next menu asks once."""
    found = _in_programme.get(session, user_id)
    if found is None:
        if new:
            return False
        version = _in_programme.version
        found = await programme.has_programme(session, user_id=user_id)
        _in_programme.put(session, user_id, found, version)
    return bool(found)


async def menu_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Her own programme appears once she has a place in one; the team sees its cases. The region
    comes first: which one is assumed, and one tap to change it."""
    async with reading(dialog_manager) as session:
        profile = await users.get_profile(session, user_id_of(dialog_manager))
        speaker: users.Profile | None = dialog_manager.middleware_data.get("profile")
        new = speaker is not None and speaker.is_new and speaker.user_id == user_id_of(dialog_manager)
        in_programme = await _has_programme(session, user_id_of(dialog_manager), new=new)
        _code, region = await current_region(dialog_manager, session)
    team = bool(profile and profile.is_team)
    chosen = bool(profile and profile.region)
    return {
        "in_programme": in_programme,
        "team": team,
        "region_name": region_name(region, locale_of(dialog_manager)),
        "region_chosen": not team and chosen and region is not None,
        "region_assumed": not team and not chosen and region is not None,
        "region_none": not team and region is None,
    }


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr("What would you like to do? Tap a button below."),
            Tr("\n📍 Your region: {region_name}.", when=F["region_chosen"]),
            Tr(
                "\n📍 We show help for <b>{region_name}</b>. Not your region? Tap «📍 Change region».",
                when=F["region_assumed"],
            ),
            Tr("\n📍 Choose your region to see help near you.", when=F["region_none"]),
            Start(Tr("📋 My programme"), id="mine", state=ProgrammeSG.main, when=F["in_programme"]),
            Start(Tr("🗂 Cases"), id="cases", state=CasesSG.list, when=F["team"]),
            Start(Tr("💬 What is the programme"), id="about", state=AboutSG.intro),
            Start(
                Tr("🤝 I want to take part in the programme"),
                id="join",
                state=JoinSG.intro,
                when=~F["in_programme"] & ~F["team"],
            ),
            Start(Tr("🧭 Where to get help"), id="support", state=SupportSG.categories),
            human_button(),
            crisis_button(),
            Start(
                Tr("📍 Change region"),
                id="region",
                state=RegionSG.pick,
                when=F["region_assumed"] | F["region_none"],
            ),
            Row(
                Start(Tr("⚙️ Settings"), id="settings", state=SettingsSG.main),
                Start(Tr("🔒 Privacy"), id="privacy", state=PrivacySG.main),
                SwitchTo(Tr("❓ Help"), id="help", state=MenuSG.help),
            ),
            hide_button(),
            getter=menu_getter,
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
            Tr(
                "\n<b>For the programme team</b>\n"
                "/cases — your cases\n/case CODE — one case\n/overdue — what is late\n"
                "/questions — questions from participants\n/newcase, /invite — for staff",
                when=F["team"],
            ),
            crisis_button(),
            SwitchTo(Tr("☰ Menu"), id="back", state=MenuSG.main),
            getter=menu_getter,
            state=MenuSG.help,
        ),
    )
