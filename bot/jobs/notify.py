"""Messages the bot sends on its own (not as an answer): to the team about a decision, to the woman
about a relative, the daily digest. Each is worded in the recipient's language; the reminder worker
sends it and handles every failure, so a person who blocked the bot never breaks the action that
wanted to tell her.

Each message is first a row of the reminder engine (kind ``notice``), written in the transaction of
the action that causes it (``bot.services.notices.queue``) and sent at once by the worker: a crash
or a 429 storm loses nothing (the one narrow window that could repeat a message is the reminder
engine's, documented in the README). A decision's notice carries ids only and is worded here, when
it is sent, by its event's renderer; a digest is worded when queued (``worded``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import AppContext
from bot.jobs.outgoing import Drop, Outgoing
from bot.services import notices, reminders, users
from bot.services.reminders import Claimed

log = logging.getLogger(__name__)


async def recipient_locale(factory: async_sessionmaker[AsyncSession], user_id: int, default: str) -> str:
    async with factory() as session:
        return await users.locale_of(session, user_id, default)


async def recipient_prefs(factory: async_sessionmaker[AsyncSession], user_id: int, default: str) -> tuple[str, bool]:
    """Her language, and whether she asked for discreet notifications."""
    async with factory() as session:
        profile = await users.get_profile(session, user_id)
        await session.commit()
    return (profile.locale(default), profile.discreet) if profile else (default, False)


def discreet(text: str) -> str:
    """Discreet mode: the first words in the chat list and the notification are neutral; the message
    itself is under a spoiler, which Telegram hides in previews and notifications until she taps it.
    Call it with her locale active."""
    return gettext("🔔 A new message") + "\n\n<tg-spoiler>" + text + "</tg-spoiler>"


async def worded(
    session: AsyncSession,
    i18n: I18n,
    *,
    recipient_id: int,
    render: Callable[[], str],
    locale: str,
    now: datetime,
    reply_markup: InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup] | None = None,
) -> None:
    """A message that is not a decision's notice (a digest, a list): worded now in ``locale`` and
    queued in the caller's transaction (no commit), its text encrypted in the row."""
    with i18n.context(), i18n.use_locale(locale):  # also outside an update (scheduled jobs)
        text = render()
        if callable(reply_markup):
            reply_markup = reply_markup()
    markup = reply_markup.model_dump(mode="json", exclude_none=True) if reply_markup is not None else None
    await notices.queue_worded(session, recipient_id=recipient_id, text=text, markup=markup, now=now)


@dataclass(frozen=True, slots=True)
class Notice:
    """What an event's renderer gets: a session for reading, the row, the reader's locale (already
    active), the application and the bot (its username for links)."""

    session: AsyncSession
    claimed: Claimed
    locale: str
    app: AppContext
    bot: Bot

    @property
    def payload(self) -> dict[str, Any]:
        return self.claimed.payload or {}

    def id(self, key: str) -> int:
        value = self.payload.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    async def typed(self) -> str | None:
        """What a person typed, kept encrypted in the row (a dispute's comment, a link's token)."""
        return await reminders.text_of(self.session, self.claimed.id)


EventRenderer = Callable[[Notice], Awaitable[Outgoing | Drop]]


def notice_renderer(app: AppContext, bot: Bot, events: dict[str, EventRenderer]):
    """The worker's renderer for kind ``notice``: a decision's notice is worded now by its event's
    renderer (a row whose subject is gone is dropped); a text worded when queued is sent as it is."""

    async def render(session: AsyncSession, claimed: Claimed, locale: str) -> Outgoing | Drop:
        payload = claimed.payload or {}
        event = payload.get("event")
        if event is None or event == notices.WORDED:  # also rows queued before notices had events
            text = await reminders.text_of(session, claimed.id)
            if not text:
                return Drop("empty")
            markup = payload.get("markup")
            return Outgoing(text, InlineKeyboardMarkup.model_validate(markup) if markup else None)
        renderer = events.get(str(event))
        if renderer is None:
            return Drop("unknown_event")
        return await renderer(Notice(session, claimed, locale, app, bot))

    return render
