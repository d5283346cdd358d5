"""What a renderer makes of a queued row: a message to send, or a reason to drop it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.reminders import Claimed


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The message to send: HTML (the bot's default parse mode), so escape what people typed."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    message_thread_id: int | None = None  # a forum topic, when the recipient is a group


@dataclass(frozen=True, slots=True)
class Drop:
    """Not worth sending any more; ``reason`` is a short code (it is stored and logged)."""

    reason: str


# (session, the claimed row, the recipient's locale) -> what to send. Runs inside ``i18n.context()``
# with that locale set, so ``gettext`` words the text in her language. The session is for reading;
# a renderer that writes commits itself.
Renderer = Callable[[AsyncSession, Claimed, str], Awaitable[Outgoing | Drop]]
# Called after a 403: the recipient blocked the bot (e.g. tell the facilitator she cannot be reached).
Unreachable = Callable[[Claimed], Awaitable[None]]
