"""Thin routers, one per audience, each guarded by its role filter. ``build_router`` alone fixes their
order: errors first, then everyone's commands, the team's routers, messages no screen waits for,
the dialogs, and the catch-all last."""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n

from dialogs import dialogs_router
from handlers.admin import admin_router
from handlers.agreements import agreements_router
from handlers.broadcast import broadcast_router
from handlers.errors import errors_router
from handlers.fallback import fallback_router
from handlers.filters import NotADialogButton, input_states
from handlers.handoff import handoff_router
from handlers.meetings import meetings_router
from handlers.public import public_router
from handlers.reports import reports_router
from handlers.staff import staff_router
from handlers.surveys import surveys_router
from handlers.team import team_router
from handlers.unexpected import unexpected_router


def build_router(i18n: I18n) -> Router:
    root = Router(name="root")
    dialogs = dialogs_router()
    # The handlers' own routers, in one: a press of a dialog's button (most presses) skips all of
    # them with one check instead of being tried against each of their button filters in turn.
    handlers = Router(name="handlers")
    handlers.callback_query.filter(NotADialogButton())
    handlers.include_routers(
        public_router(i18n),
        handoff_router(),
        meetings_router(),
        surveys_router(),  # before unexpected: a survey's free-text answer wins over the relay
        agreements_router(),
        team_router(),
        staff_router(),
        reports_router(),
        broadcast_router(),
        admin_router(),
        unexpected_router(input_states(dialogs)),
    )
    root.include_routers(errors_router(), handlers, dialogs, fallback_router())
    return root
