"""The curators' nudge: "she has been waiting for an answer", worded when it is sent."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.outgoing import Drop, Outgoing
from bot.jobs.relaying import mention
from bot.services import relay as relay_service


def nudge_renderer(app: AppContext, i18n: I18n):
    """ "Nobody has answered her for N minutes" in her topic (or to her curator), unless answered since."""

    async def render(session: AsyncSession, claimed, locale: str):
        payload = claimed.payload or {}
        conversation_id = int(payload.get("conversation", 0))
        since = datetime.fromisoformat(payload["since"]) if payload.get("since") else None
        if not conversation_id or since is None:
            return Drop("bad_payload")
        if not await relay_service.still_waiting_since(session, conversation_id=conversation_id, since=since):
            return Drop("answered")
        thread = await relay_service.get(session, conversation_id)
        if thread is None:
            return Drop("gone")
        minutes = max(1, int((app.now() - since).total_seconds() // 60))
        with i18n.use_locale(i18n.default_locale if app.settings.curator_chat_id else locale):
            text = "⏰ " + gettext("She has been waiting for an answer for {minutes} min.").format(minutes=minutes)
            if thread.curator_id:
                text += " " + mention(thread.curator_id, gettext("Curator"))
        return Outgoing(text, message_thread_id=thread.topic_id if app.settings.curator_chat_id else None)

    return render
