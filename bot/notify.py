"""Messages the bot sends on its own (not as an answer): to the team about a decision, to the woman
about a relative, the daily digest. Each is worded in the recipient's language; every failure is
handled here, so a person who blocked the bot never breaks the action that wanted to tell her.

In the running bot each message is first a row of the reminder engine (kind ``notice``, its text
encrypted), written after the action's transaction commits and sent at once by the worker: a crash
or a 429 storm loses nothing (the one narrow window that could repeat a message is the reminder
engine's, documented in the README).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import users

log = logging.getLogger(__name__)


async def recipient_locale(factory: async_sessionmaker[AsyncSession], user_id: int, default: str) -> str:
    async with factory() as session:
        profile = await users.get_profile(session, user_id)
        await session.commit()
    return profile.locale(default) if profile else default


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


class _Outbox:
    """Where notices are queued: the reminder engine's table and its worker (set by bot/app.py)."""

    def __init__(self, kick: Callable[[], None], now: Callable[[], datetime]) -> None:
        self.kick = kick
        self.now = now


_outbox: _Outbox | None = None
NOTICE_KIND = "notice"  # a reminder row with its text worded when queued


def use_outbox(kick: Callable[[], None], now: Callable[[], datetime]) -> None:
    """From now on ``tell`` queues its messages as rows (a crash loses nothing) and kicks the worker."""
    global _outbox
    _outbox = _Outbox(kick, now)


async def tell(
    bot: Bot,
    i18n: I18n,
    factory: async_sessionmaker[AsyncSession],
    user_id: int,
    render: Callable[[], str],
    *,
    reply_markup: InlineKeyboardMarkup | Callable[[], InlineKeyboardMarkup] | None = None,
    locale: str | None = None,
) -> bool:
    """Words ``render()`` in the recipient's language and sends it. With the outbox (the running
    bot), the message is a row first and the reminder worker sends it at once: True when queued.
    Without it, it is sent directly: True when Telegram took it. A callable ``reply_markup`` is
    built in the recipient's language too (buttons with words)."""
    locale = locale or await recipient_locale(factory, user_id, i18n.default_locale)
    with i18n.context(), i18n.use_locale(locale):  # also outside an update (scheduled jobs)
        text = render()
        if callable(reply_markup):
            reply_markup = reply_markup()
    if _outbox is not None:
        from bot.services import reminders

        payload: dict[str, object] = {"notice": uuid.uuid4().hex}  # two notices at one moment are two
        if reply_markup is not None:
            payload["markup"] = reply_markup.model_dump(mode="json", exclude_none=True)
        async with factory() as session:
            await reminders.add(
                session,
                kind=NOTICE_KIND,
                recipient_id=user_id,
                due_at=_outbox.now(),
                now=_outbox.now(),
                payload=payload,
                text=text,
            )
            await session.commit()
        _outbox.kick()
        return True
    return await send_now(bot, factory, user_id, text, reply_markup)


async def send_now(
    bot: Bot,
    factory: async_sessionmaker[AsyncSession],
    user_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> bool:
    try:
        await bot.send_message(user_id, text, reply_markup=reply_markup)
    except TelegramForbiddenError:
        async with factory() as session:
            await users.set_blocked(session, user_id, True)
        log.info("notify: user %s has blocked the bot", user_id)
        return False
    except TelegramBadRequest as exc:  # a chat that never started the bot, or a deleted account
        log.warning("notify: %s for user %s", type(exc).__name__, user_id)
        return False
    except TelegramAPIError as exc:  # retries (429, 5xx) already spent by the session
        log.warning("notify: %s for user %s", type(exc).__name__, user_id)
        return False
    return True


def notice_renderer():
    """The worker's renderer for queued notices: the text as it was worded, and its buttons."""
    from bot.reminder_worker import Drop, Outgoing
    from bot.services import reminders

    async def render(session: AsyncSession, claimed, locale: str):
        text = await reminders.text_of(session, claimed.id)
        if not text:
            return Drop("empty")
        markup = (claimed.payload or {}).get("markup")
        return Outgoing(text, InlineKeyboardMarkup.model_validate(markup) if markup else None)

    return render
