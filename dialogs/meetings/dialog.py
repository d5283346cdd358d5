"""Meetings: the facilitator offers times (a preliminary slot, or an option for the general meeting);
a participant chooses, changes, cancels, answers the options, or asks for another time.

The facilitator types times in her own zone; each participant sees them in hers, in plain words.
What each screen shows is in ``getters``, what its buttons do in ``handlers``, the screens in
``windows``, the words shared with the notices in ``text``.
"""

from __future__ import annotations

from aiogram_dialog import Dialog

from dialogs.meetings.text import FORMATS, OPEN_MY_MEETINGS, describe, my_meetings_button
from dialogs.meetings.windows import my_windows, offer_windows, team_windows

__all__ = ["FORMATS", "OPEN_MY_MEETINGS", "describe", "my_dialog", "my_meetings_button", "team_dialog"]


def team_dialog() -> Dialog:
    return Dialog(*team_windows(), *offer_windows())


def my_dialog() -> Dialog:
    return Dialog(*my_windows())
