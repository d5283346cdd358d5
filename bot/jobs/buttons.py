"""The buttons of the messages the bot sends on its own, and the callback data the handlers answer.

Built in the reader's language when the message is sent (a renderer runs inside her locale); the
routers in ``handlers/`` filter on the same data."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext

OPEN_MY_MEETINGS = "mm:open"  # opens "My meetings" (handlers/meetings.py)
OPEN_PROGRAMME = "mp:open"  # opens "My programme" (handlers/public.py)
JOIN_CALLBACK = "jq:"  # + a join request's id: the staff turn it into a new case (dialogs/cases)


class Attend(CallbackData, prefix="att"):
    meeting: int
    coming: bool


class SurveyButton(CallbackData, prefix="sv"):
    invite: int
    q: int
    value: str  # "1".."5", an option key, or "-" (skip)


def my_meetings_button() -> InlineKeyboardMarkup:
    label = gettext("🗓 My meetings")
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=OPEN_MY_MEETINGS)]])


def attendance_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=gettext("✅ I will come"), callback_data=Attend(meeting=meeting_id, coming=True).pack()
                ),
                InlineKeyboardButton(
                    text=gettext("✖️ I cannot come"), callback_data=Attend(meeting=meeting_id, coming=False).pack()
                ),
            ]
        ]
    )


def acknowledgement_keyboard(agreement_id: int) -> InlineKeyboardMarkup:
    """Built in the reader's language, when the notice is sent."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=gettext("✅ Yes, this is what we agreed"), callback_data=f"ag:{agreement_id}:y"
                )
            ],
            [InlineKeyboardButton(text=gettext("✖️ This is not right"), callback_data=f"ag:{agreement_id}:n")],
        ]
    )


def checkin_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=gettext("✅ Done"), callback_data=f"ci:{checkin_id}:d")],
            [InlineKeyboardButton(text=gettext("⏳ I need more time"), callback_data=f"ci:{checkin_id}:m")],
            [InlineKeyboardButton(text=gettext("🙋 I need help"), callback_data=f"ci:{checkin_id}:h")],
        ]
    )


def later_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=gettext("+3 days"), callback_data=f"ci:{checkin_id}:m3"),
                InlineKeyboardButton(text=gettext("+1 week"), callback_data=f"ci:{checkin_id}:m7"),
                InlineKeyboardButton(text=gettext("+2 weeks"), callback_data=f"ci:{checkin_id}:m14"),
            ]
        ]
    )
