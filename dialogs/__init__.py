"""Multi-step flows, one package each, built with aiogram_dialog."""

from __future__ import annotations

from aiogram import Router

from dialogs.about.dialog import dialog as about
from dialogs.agreement.dialog import mine_dialog as my_agreements
from dialogs.agreement.dialog import record_dialog as record_agreement
from dialogs.agreement.dispute import dispute_dialog as dispute
from dialogs.broadcast.dialog import dialog as broadcast
from dialogs.cases.dialog import card_dialog, invite_dialog, list_dialog, new_case_dialog
from dialogs.catalog.dialog import dialog as catalog_editor
from dialogs.common.ids import install_unique_intent_ids
from dialogs.consent.dialog import dialog as consent
from dialogs.crisis.dialog import dialog as crisis
from dialogs.human.dialog import dialog as human
from dialogs.join.dialog import dialog as join
from dialogs.meetings.dialog import my_dialog as my_meetings
from dialogs.meetings.dialog import team_dialog as team_meetings
from dialogs.menu.dialog import dialog as menu
from dialogs.privacy.dialog import dialog as privacy
from dialogs.programme.dialog import dialog as my_programme
from dialogs.region.dialog import dialog as region
from dialogs.settings.dialog import dialog as settings
from dialogs.subscriptions.dialog import dialog as subscriptions
from dialogs.support.dialog import dialog as support


def dialogs_router() -> Router:
    install_unique_intent_ids()
    router = Router(name="dialogs")
    router.include_routers(
        menu(),
        about(),
        support(),
        crisis(),
        settings(),
        privacy(),
        region(),
        consent(),
        my_programme(),
        list_dialog(),
        card_dialog(),
        new_case_dialog(),
        invite_dialog(),
        team_meetings(),
        my_meetings(),
        human(),
        join(),
        record_agreement(),
        my_agreements(),
        dispute(),
        broadcast(),
        catalog_editor(),
        subscriptions(),
    )
    return router
