"""Meetings: the facilitator offers times (a preliminary slot, or an option for the general meeting);
a participant chooses, changes, cancels, answers the options, or asks for another time.

The facilitator types times in her own zone; each participant sees them in hers, in plain words.
What each screen shows is in ``getters``, what its buttons do in ``handlers``, the screens in
``windows``, its words in ``text`` (a meeting in one line: ``bot.wording.meetings``).
"""

from __future__ import annotations

from aiogram_dialog import Dialog

from dialogs.meetings.windows import my_windows, offer_windows, team_windows

__all__ = ["my_dialog", "team_dialog"]


def team_dialog() -> Dialog:
    return Dialog(*team_windows(), *offer_windows())


def my_dialog() -> Dialog:
    return Dialog(*my_windows())
