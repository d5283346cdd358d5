"""The team's flows: the list of cases, a case card, registering a case, inviting team members.

What each screen shows is in ``getters``, what its buttons do in ``handlers``, the screens themselves in
``windows`` (the accounting card in ``card``, the protocol and documents in ``documents``).
"""

from __future__ import annotations

from aiogram_dialog import Dialog

from dialogs.cases.card import card_windows
from dialogs.cases.documents import protocol_windows
from dialogs.cases.handlers import on_new_case_start
from dialogs.cases.windows import (
    card_main_windows,
    invite_windows,
    list_windows,
    new_case_windows,
    people_windows,
    stage_windows,
    team_windows,
)


def list_dialog() -> Dialog:
    return Dialog(*list_windows())


def card_dialog() -> Dialog:
    return Dialog(*card_main_windows(), *people_windows(), *stage_windows(), *card_windows(), *protocol_windows())


def new_case_dialog() -> Dialog:
    return Dialog(*new_case_windows(), *team_windows(), on_start=on_new_case_start)


def invite_dialog() -> Dialog:
    return Dialog(*invite_windows())
