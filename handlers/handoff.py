"""Talking to a person: the participant's side (/human, ratings, edits) and the curators' side (their
topic in the group, or replies in their private chat without a group), with the topic commands."""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import yaml
from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import BgManagerFactory, DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.relaying import Relay, mention
from bot.services import parse, users
from bot.services import relay as relay_service
from bot.services.relay import Thread
from bot.services.users import TEAM_ROLES, Profile
from dialogs.states import CrisisSG, HumanSG
from handlers.common import crisis_first, ended, locale_of, refuse_button
from handlers.filters import HasRole, Quick

log = logging.getLogger(__name__)
TOPIC_COMMANDS = ("close", "reopen", "assign", "card", "q", "note")


class FromCuratorsGroup(Filter):
    async def __call__(self, message: Message, app: AppContext, **_: Any) -> bool:
        group = app.settings.curator_chat_id
        return group is not None and message.chat.id == group


class InOpenConversation(Filter):
    """A participant with an open conversation: what she types reaches the curators."""

    async def __call__(self, message: Message, session: AsyncSession, profile: Profile | None = None, **_: Any) -> bool:
        if profile is None or profile.role in TEAM_ROLES:
            return False
        return await relay_service.is_open(session, message.chat.id)  # commits


def quick_replies(content_dir: str, locale: str) -> dict[str, str]:
    """content/quick_replies/<locale>.yaml: {key: text} that curators send with /q key."""
    path = Path(content_dir) / "quick_replies" / f"{locale}.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


# ------------------------------------------------------------ the participant


async def human(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(HumanSG.chat, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def rate(callback: CallbackQuery, app: AppContext, session: AsyncSession) -> None:
    parts = parse.callback_parts(callback.data, "rt", 2)
    conversation_id = parse.positive_id(parts[0]) if parts else None
    stars = parse.small(parts[1], low=1, high=5) if parts else None
    if conversation_id is None or stars is None:
        await refuse_button(callback, session, "rating", now=app.now())
        return
    try:
        async with ended(session):
            await relay_service.rate(
                session,
                user_id=callback.from_user.id,
                conversation_id=conversation_id,
                stars=stars,
                now=app.now(),
            )
    except relay_service.Refused:
        await callback.answer(gettext("This button is out of date."))
        return
    await callback.answer(gettext("Thank you for your answer!"))


async def participant_edit(
    message: Message, relay: Relay, app: AppContext, profile: Profile, bot: Bot, dialog_bg_factory: BgManagerFactory
) -> None:
    if await relay.edited(message) is not None:
        return
    # A message nobody else has: the bot reads new messages only, so say so (and if the change
    # brought words of danger, the crisis help comes first, as for a new message).
    if app.crisis.detect(message.text or message.caption):
        await crisis_first(message, relay, profile)
        # aiogram_dialog has no manager for edits: the crisis screen opens as from outside.
        await dialog_bg_factory.bg(bot, message.chat.id, message.chat.id).start(
            CrisisSG.main, mode=StartMode.NORMAL, show_mode=ShowMode.SEND
        )
        return
    await message.answer(
        gettext("I only read new messages, so a change to an old one reaches no one. Please send it again."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=gettext("◀ Back to the screen"), callback_data="ux:back"),
                    InlineKeyboardButton(text=gettext("☰ Menu"), callback_data="ux:menu"),
                ]
            ]
        ),
    )


# ------------------------------------------------------------ curators without a group


async def private_reply(
    message: Message, relay: Relay, app: AppContext, profile: Profile, bot: Bot, session: AsyncSession
) -> None:
    """No-group mode: a curator answers by replying to the relayed message in her own chat."""
    async with ended(session):
        conversation_id = await relay_service.conversation_of_reply(
            session,
            chat_id=message.chat.id,
            message_id=message.reply_to_message.message_id,  # type: ignore[union-attr]  # F.reply_to_message
        )
        thread = await relay_service.get(session, conversation_id) if conversation_id else None
    if thread is None:
        await message.answer(gettext("Reply to a participant's message to answer her."))
        return
    if await _topic_command(message, thread, relay, app, profile, bot, session):
        return
    await relay.from_curator(message, thread, profile)


# ------------------------------------------------------------ the curators' group


async def in_group(
    message: Message, relay: Relay, app: AppContext, profile: Profile | None, bot: Bot, session: AsyncSession
) -> None:
    if message.message_thread_id is None or not message.is_topic_message:
        return  # the general chat of the group is the team's own
    if profile is None or profile.role not in TEAM_ROLES:
        return  # someone in the group who is not on the team: nothing of hers goes out
    async with ended(session):
        thread = await relay_service.by_topic(session, message.chat.id, message.message_thread_id)
    if thread is None:
        return
    if await _topic_command(message, thread, relay, app, profile, bot, session):
        return
    await relay.from_curator(message, thread, profile)


async def group_edit(message: Message, relay: Relay) -> None:
    await relay.edited(message)


def handoff_router() -> Router:
    router = Router(name="handoff")
    router.message.register(human, Command("human"), Quick(F.chat.type == "private"))
    router.callback_query.register(rate, Quick(F.data.startswith("rt:")))
    router.edited_message.register(participant_edit, Quick(F.chat.type == "private"))
    router.message.register(
        private_reply, Quick(F.chat.type == "private"), Quick(F.reply_to_message), HasRole(*TEAM_ROLES)
    )
    router.message.register(in_group, FromCuratorsGroup())
    router.edited_message.register(group_edit, FromCuratorsGroup())
    return router


async def _topic_command(
    message: Message, thread: Thread, relay: Relay, app: AppContext, profile: Profile, bot: Bot, session: AsyncSession
) -> bool:
    """/close, /reopen, /assign [id], /card, /q [key], /note … in a topic (or as a reply without a group)."""
    text = (message.text or "").strip()
    if not text.startswith("/"):
        return False
    name, _, args = text[1:].partition(" ")
    name = name.split("@", 1)[0].lower()
    if name not in TOPIC_COMMANDS:
        return False
    now = app.now()
    try:
        if name == "note":
            await relay.from_curator(message, thread, profile)
        elif name == "close":
            async with ended(session):
                await relay_service.close(session, actor=profile, conversation_id=thread.id, now=now)
            await message.reply(gettext("Closed. She is asked to rate the conversation."))
        elif name == "reopen":
            async with ended(session):
                await relay_service.reopen(session, actor=profile, conversation_id=thread.id, now=now)
            await message.reply(gettext("Open again."))
        elif name == "assign":
            await _assign(message, args, thread, profile, session, now)
        elif name == "card":
            await relay.post_card(thread, actor_id=profile.user_id)
        elif name == "q":
            await _quick_reply(message, args.strip(), thread, relay, app, bot, session)
    except relay_service.Refused:
        await message.reply(gettext("This is only for curators and staff."))
    return True


async def _assign(
    message: Message, args: str, thread: Thread, profile: Profile, session: AsyncSession, now: datetime
) -> None:
    target = parse.positive_id(args.strip()) or profile.user_id
    async with ended(session):
        await relay_service.assign(session, actor=profile, conversation_id=thread.id, curator_id=target, now=now)
        name_shown = await users.display_name(session, target)
    await message.reply(gettext("Assigned to {who}.").format(who=mention(target, name_shown or str(target))))


async def _quick_reply(
    message: Message, key: str, thread: Thread, relay: Relay, app: AppContext, bot: Bot, session: AsyncSession
) -> None:
    locale = await locale_of(session, thread.user_id, relay.i18n.default_locale)
    replies = quick_replies(app.settings.content_dir, locale)
    if not key or key not in replies:
        listing = "\n".join(f"/q {k} — {escape(v[:60])}" for k, v in replies.items())
        await message.reply(gettext("Quick replies:") + "\n" + (listing or "—"))
        return
    async with ended(session):
        row_id, _ = await relay_service.add(
            session,
            conversation_id=thread.id,
            inbound=False,
            author_id=message.from_user.id if message.from_user else None,
            source_chat_id=message.chat.id,
            source_message_id=message.message_id,
            target_chat_id=thread.user_id,
            kind="text",
            text=replies[key],
            reply_to=None,
            now=app.now(),
        )
    async with ended(session):
        task = await relay_service.claim(session, message_id=row_id, now=app.now())
    if task is None:
        return
    try:
        sent = await bot.send_message(thread.user_id, escape(replies[key]))
    except Exception as exc:
        async with ended(session):
            await relay_service.give_back(session, message_id=row_id, error=type(exc).__name__, final=True)
        await message.reply(gettext("⚠️ The quick reply did not reach her."))
        return
    async with ended(session):
        await relay_service.delivered(
            session, message_id=row_id, target_chat_id=thread.user_id, target_message_id=sent.message_id, now=app.now()
        )
    await message.reply(gettext("↪️ Sent."))
