"""Messages the bot sends on its own (not as an answer): to the team about a decision, to the woman
about a relative, the daily digest. Each is worded in the recipient's language; every failure is
handled here, so a person who blocked the bot never breaks the action that wanted to tell her.

Sent right after the action's transaction commits. A crash between the commit and the send loses the
message; the reminder engine (a row per message) takes these over when it lands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import users

log = logging.getLogger(__name__)


async def recipient_locale(factory: async_sessionmaker[AsyncSession], user_id: int, default: str) -> str:
    async with factory() as session:
        profile = await users.get_profile(session, user_id)
        await session.commit()
    return profile.locale(default) if profile else default


async def tell(
    bot: Bot,
    i18n: I18n,
    factory: async_sessionmaker[AsyncSession],
    user_id: int,
    render: Callable[[], str],
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    locale: str | None = None,
) -> bool:
    """Renders ``render()`` in the recipient's language and sends it; True when Telegram took it."""
    locale = locale or await recipient_locale(factory, user_id, i18n.default_locale)
    with i18n.context(), i18n.use_locale(locale):  # also outside an update (scheduled jobs)
        text = render()
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
