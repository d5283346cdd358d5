"""The curator hand-off as Telegram sees it: copies between a participant's private chat and her
topic in the curators' group (or, without a group, her curator's private chat).

Every copy is first written to ``relay_messages`` (the outbox), then sent at once; what the immediate
send could not finish (a crash, a 429 storm, a topic still being made) the sweep sends later. Sends
to the group go through one limiter (``GROUP_MESSAGES_PER_MINUTE``, Telegram allows about 20), and a
429 waits for ``retry_after`` in the session's retry layer — nothing is dropped.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from aiogram.utils.i18n import I18n, gettext
from aiolimiter import AsyncLimiter

from bot import notify
from bot.context import AppContext
from bot.services import audit, catalog, relay, reminders, users
from bot.services.relay import Task, Thread
from bot.services.users import Profile

log = logging.getLogger(__name__)
NUDGE_KIND = "handoff_nudge"  # registered in bot/app.py (handlers.handoff.nudge_renderer)
SWEEP_AFTER = timedelta(seconds=20)
MEDIA_KINDS = ("text", "photo", "voice", "document", "video_note", "sticker", "location", "video", "audio")


def mention(user_id: int, name: str) -> str:
    """A name that notifies the person in a group (HTML)."""
    return f'<a href="tg://user?id={user_id}">{escape(name)}</a>'


def kind_of(message: Message) -> str:
    content = getattr(message.content_type, "value", str(message.content_type))
    return content if content in MEDIA_KINDS else content[:16]


def text_of(message: Message) -> str | None:
    return message.text or message.caption


class Relay:
    def __init__(self, context: AppContext, bot: Bot, i18n: I18n) -> None:
        self.context = context
        self.bot = bot
        self.i18n = i18n
        self.group_id = context.settings.curator_chat_id
        self.limiter = AsyncLimiter(context.settings.group_messages_per_minute, 60)

    # ------------------------------------------------------------ from the participant

    async def from_participant(self, message: Message, *, urgent: bool = False) -> Thread:
        """Her message goes to the curators; a new waiting spell may bring an out-of-hours answer
        and a nudge for later. Returns her conversation."""
        app = self.context
        now = app.now()
        async with app.db() as session:
            thread = await relay.open_for(session, user_id=message.chat.id, now=now)
        target: int | None
        if self.group_id is not None:
            if thread.topic_id is None:
                thread = await self._ensure_topic(thread)
            target = self.group_id
        else:
            target = await self._curator_for(thread)
        async with app.db() as session:
            row_id, started = await relay.add(
                session,
                conversation_id=thread.id,
                inbound=True,
                author_id=message.chat.id,
                source_chat_id=message.chat.id,
                source_message_id=message.message_id,
                target_chat_id=target,
                kind=kind_of(message),
                text=text_of(message),
                reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
                now=now,
            )
        if started or thread.reopened:
            await self._announce(thread, target, urgent=urgent)
        await self.deliver(row_id)
        if started:
            await self._after_first_message(thread, target, message)
        return thread

    async def _announce(self, thread: Thread, target: int | None, *, urgent: bool) -> None:
        """A header before her first message of a waiting spell: in the group only when it is urgent;
        in a curator's private chat always (who she is, by first name and case code, and how to answer)."""
        if target is None or (self.group_id is not None and not urgent):
            return
        app = self.context
        locale = (
            self.i18n.default_locale
            if self.group_id is not None
            else await notify.recipient_locale(app.db, target, self.i18n.default_locale)
        )
        with self.i18n.context(), self.i18n.use_locale(locale):
            lines = []
            if urgent:
                lines.append(
                    "⚠️ "
                    + gettext(
                        "She may be in danger right now: her message had crisis words. She has the crisis numbers."
                    )
                )
            if self.group_id is None:
                lines.append(
                    gettext("💬 {who} writes. Reply to her message to answer; /close when you are done.").format(
                        who=self._who(thread)
                    )
                )
            text = "\n".join(lines)
        if self.group_id is not None:
            await self._post(thread, text)
            return
        try:
            sent = await self.bot.send_message(target, text)
        except TelegramAPIError as exc:
            log.warning("relay header: %s", type(exc).__name__)
            return
        async with app.db() as session:
            await relay.record_header(
                session,
                conversation_id=thread.id,
                user_id=thread.user_id,
                curator_id=target,
                message_id=sent.message_id,
                now=app.now(),
            )

    def _who(self, thread: Thread) -> str:
        if thread.case_code:
            return "{name} · {code}".format(name=escape(thread.first_name or "?"), code=thread.case_code)
        return f"#{thread.id}"

    async def _after_first_message(self, thread: Thread, target: int | None, message: Message) -> None:
        """Out of hours: the crisis numbers and when a person will answer. In hours: she knows it
        arrived. Either way a nudge is set for when nobody has answered."""
        app = self.context
        now = app.now()
        settings = app.settings
        async with app.db() as session:
            hours = await relay.hours_of(
                session,
                region_code=thread.region_code,
                default_hours=settings.work_hours,
                default_zone=settings.default_timezone,
            )
        if target is None:
            await message.answer(
                gettext(
                    "I could not reach a person right now: no curator is on duty yet. "
                    "If it is urgent, press 🆘 — the numbers there answer at once."
                )
            )
        elif relay.in_hours(hours, now):
            await message.answer(gettext("Sent. ✉️ A person from the team will answer here."))
        else:
            async with app.db() as session:
                first = await relay.mark_auto_reply(session, conversation_id=thread.id, now=now)
            if first:
                await message.answer(await self._out_of_hours_text(thread, hours))
        if target is None:
            return
        opening = relay.next_opening(hours, now)
        due = max(opening, now) + timedelta(minutes=settings.handoff_nudge_minutes)
        async with app.db() as session:
            await reminders.add(
                session,
                kind=NUDGE_KIND,
                recipient_id=target,
                due_at=due,
                now=now,
                case_id=thread.case_id,
                payload={
                    "conversation": thread.id,
                    "since": thread.waiting_since.isoformat() if thread.waiting_since else now.isoformat(),
                },
            )
            await session.commit()

    async def _out_of_hours_text(self, thread: Thread, hours: relay.Hours) -> str:
        from bot.services.formatting import format_when

        app = self.context
        locale = self.i18n.current_locale
        async with app.db() as session:
            contacts = await catalog.crisis_contacts(session, thread.region_code, locale, app.today(hours.timezone))
            await session.commit()
        when = format_when(relay.next_opening(hours, app.now()), locale, hours.timezone)
        lines = [
            gettext(
                "Your message is saved. The team is not at work right now; a person will answer from {when}."
            ).format(when=when),
            gettext("If you need help right now, call:"),
        ]
        lines += [f"📞 {escape(c.title)}: {escape(c.phone)}" for c in contacts if c.phone][:4]
        return "\n".join(lines)

    async def _curator_for(self, thread: Thread) -> int | None:
        """No-group mode: her assigned curator, else the case's, else a curator of her region."""
        if thread.curator_id is not None:
            return thread.curator_id
        from sqlalchemy import or_, select

        from db.models import Role, User

        async with self.context.db() as session:
            found = await session.scalar(
                select(User.id)
                .where(
                    User.role == Role.CURATOR.value,
                    User.blocked_bot.is_(False),
                    or_(User.scope_region == thread.region_code, User.scope_region.is_(None)),
                )
                .order_by(User.scope_region.is_(None), User.id)
                .limit(1)
            )
            await session.commit()
        return found

    # ------------------------------------------------------------ the topic

    async def _ensure_topic(self, thread: Thread) -> Thread:
        assert self.group_id is not None
        app = self.context
        async with app.db() as session:
            mine = await relay.claim_topic(
                session, conversation_id=thread.id, group_chat_id=self.group_id, now=app.now()
            )
        if not mine:
            return thread  # another update is making it: this message waits in the outbox
        name = (f"{thread.first_name} · {thread.case_code}" if thread.case_code else f"💬 #{thread.id}")[:128]
        try:
            async with self.limiter:
                topic = await self.bot.create_forum_topic(self.group_id, name)
        except TelegramAPIError as exc:
            log.error("relay: could not create a topic: %s", type(exc).__name__)
            async with app.db() as session:
                await relay.set_topic(
                    session, conversation_id=thread.id, group_chat_id=self.group_id, topic_id=None, now=app.now()
                )
            return thread
        async with app.db() as session:
            await relay.set_topic(
                session,
                conversation_id=thread.id,
                group_chat_id=self.group_id,
                topic_id=topic.message_thread_id,
                now=app.now(),
            )
            thread = await relay.get(session, thread.id) or thread
        await self.post_card(thread, actor_id=None)
        # Messages that came in while the topic was being made.
        async with app.db() as session:
            waiting = await relay.waiting_in_outbox(session, thread.id)
        for row_id in waiting:
            await self.deliver(row_id)
        return thread

    async def post_card(self, thread: Thread, *, actor_id: int | None) -> None:
        """The case card at the top of her topic: stage, consents, next meeting, her curator."""
        from bot.services import meetings
        from bot.services.cases import latest_decisions
        from bot.services.formatting import format_when
        from db.models import Case, Participant
        from dialogs.common.labels import DECISIONS_TEAM, STAGE_NAMES, label

        app = self.context
        lines: list[str] = []
        locale = await self._team_locale(None if self.group_id is not None else await self._curator_for(thread))
        async with app.db() as session:
            curator_name = None
            if thread.curator_id:
                from db.models import User

                curator = await session.get(User, thread.curator_id)
                curator_name = curator.display_name if curator else None
            if thread.case_id:
                case = await session.get(Case, thread.case_id)
                participant = None
                if case is not None:
                    from sqlalchemy import select

                    participant = await session.scalar(
                        select(Participant).where(Participant.case_id == case.id, Participant.user_id == thread.user_id)
                    )
                state = await latest_decisions(session, [participant.id]) if participant else {}
                mine = await meetings.for_participant(session, user_id=thread.user_id, now=app.now())
                with self.i18n.context(), self.i18n.use_locale(locale):
                    if case is not None:
                        lines.append(
                            gettext("<b>Case {code}</b> · {name}").format(
                                code=case.code, name=escape(thread.first_name or "")
                            )
                        )
                        lines.append(gettext("Stage: {stage}").format(stage=label(STAGE_NAMES, case.stage)))
                    if participant is not None:
                        lines.append(
                            gettext("Consents: data — {data}; taking part — {part}").format(
                                data=label(DECISIONS_TEAM, state.get((participant.id, "data"))),
                                part=label(DECISIONS_TEAM, state.get((participant.id, "participation"))),
                            )
                        )
                    upcoming = mine.mine[0] if mine and mine.mine else None
                    if upcoming is not None:
                        zone = app.settings.default_timezone
                        lines.append(
                            gettext("Next meeting: {when}").format(when=format_when(upcoming.starts_at, locale, zone))
                        )
                if case is not None:
                    audit.record(
                        session, actor_id=actor_id, action="case_card_shown", object_type="case", object_id=case.id
                    )
            await session.commit()
        with self.i18n.context(), self.i18n.use_locale(locale):
            if not lines:
                lines.append(gettext("No case yet: this conversation is in the common pool. /assign takes it."))
            if thread.curator_id:
                lines.append(
                    gettext("Curator: {mention}").format(
                        mention=mention(thread.curator_id, curator_name or str(thread.curator_id))
                    )
                )
            lines.append(
                gettext(
                    "Commands here: /close, /reopen, /assign, /card, /q; "
                    "a message starting with ! is a note only the team sees."
                )
            )
        await self._post(thread, "\n".join(lines))

    async def _post(self, thread: Thread, text: str) -> None:
        """A message of the bot's own in her topic (or to her curator without a group)."""
        try:
            if self.group_id is not None and thread.topic_id is not None:
                async with self.limiter:
                    await self.bot.send_message(self.group_id, text, message_thread_id=thread.topic_id)
            elif self.group_id is None:
                curator = await self._curator_for(thread)
                if curator is not None:
                    await self.bot.send_message(curator, text)
        except TelegramAPIError as exc:
            log.warning("relay post: %s", type(exc).__name__)

    # ------------------------------------------------------------ from the curators

    async def from_curator(self, message: Message, thread: Thread, profile: Profile) -> None:
        """A curator's answer (in the topic, or a reply in her private chat) goes to the participant;
        ``!…`` and ``/note …`` stay with the team."""
        app = self.context
        text = text_of(message) or ""
        note = text.startswith("!") or text.startswith("/note")
        async with app.db() as session:
            row_id, _ = await relay.add(
                session,
                conversation_id=thread.id,
                inbound=False,
                author_id=profile.user_id,
                source_chat_id=message.chat.id,
                source_message_id=message.message_id,
                target_chat_id=thread.user_id,
                kind=kind_of(message),
                text=text or None,
                reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
                now=app.now(),
                note=note,
            )
        if not note:
            await self.deliver(row_id)

    # ------------------------------------------------------------ delivery

    async def deliver(self, row_id: int) -> bool:
        """Sends one outbox row; True when it reached the other side."""
        app = self.context
        async with app.db() as session:
            task = await relay.claim(session, message_id=row_id, now=app.now())
        if task is None:
            return False
        async with app.db() as session:
            thread = await relay.get(session, task.conversation_id)
        if thread is None:
            return False
        to_group = task.inbound and self.group_id is not None and task.target_chat_id == self.group_id
        if task.inbound and task.target_chat_id is None:
            task_target = await self._curator_for(thread) if self.group_id is None else self.group_id
        else:
            task_target = task.target_chat_id
        if task_target is None or (to_group and thread.topic_id is None):
            async with app.db() as session:
                await relay.give_back(
                    session, message_id=task.id, error="no_target", final=task.attempts >= relay.MAX_ATTEMPTS
                )
            return False
        reply = (
            ReplyParameters(message_id=task.reply_to_target, allow_sending_without_reply=True)
            if task.reply_to_target
            else None
        )
        try:
            if to_group:
                async with self.limiter:
                    sent = await self.bot.copy_message(
                        task_target,
                        task.source_chat_id,
                        task.source_message_id,
                        message_thread_id=thread.topic_id,
                        reply_parameters=reply,
                    )
            else:
                sent = await self.bot.copy_message(
                    task_target, task.source_chat_id, task.source_message_id, reply_parameters=reply
                )
        except TelegramForbiddenError:
            await self._failed(task, thread, "blocked")
            if not task.inbound:
                async with app.db() as session:
                    await users.set_blocked(session, thread.user_id, True)
            return False
        except TelegramBadRequest as exc:
            if "thread not found" in exc.message.lower() and to_group:
                assert self.group_id is not None  # to_group
                async with app.db() as session:
                    await relay.set_topic(
                        session, conversation_id=thread.id, group_chat_id=self.group_id, topic_id=None, now=app.now()
                    )
                    await relay.give_back(session, message_id=task.id, error="topic_gone", final=False)
                await self._ensure_topic(thread)
                return False
            await self._failed(task, thread, "not_copied")
            return False
        except TelegramAPIError as exc:  # 429/5xx/timeouts after the session's own retries
            async with app.db() as session:
                await relay.give_back(
                    session, message_id=task.id, error=type(exc).__name__, final=task.attempts >= relay.MAX_ATTEMPTS
                )
            log.warning("relay %s: %s, left for the sweep", task.id, type(exc).__name__)
            return False
        async with app.db() as session:
            await relay.delivered(
                session,
                message_id=task.id,
                target_chat_id=task_target,
                target_message_id=sent.message_id,
                now=app.now(),
            )
        return True

    async def _failed(self, task: Task, thread: Thread, why: str) -> None:
        app = self.context
        async with app.db() as session:
            await relay.give_back(session, message_id=task.id, error=why, final=True)
        if why == "blocked" and task.inbound:
            return
        # To the topic; without a group, to the curator who wrote (or hers), in that person's language.
        to = (
            None
            if self.group_id is not None
            else (task.source_chat_id if not task.inbound else await self._curator_for(thread))
        )
        locale = await self._team_locale(to)
        with self.i18n.context(), self.i18n.use_locale(locale):
            if why == "blocked":
                text = gettext("⛔ She has blocked the bot: the message did not reach her. Reach her another way.")
            else:
                text = gettext(
                    "⚠️ Telegram would not pass on this message ({kind}). Please send it another way."
                ).format(kind=task.kind)
        if to is None:
            await self._post(thread, text)
            return
        try:
            await self.bot.send_message(to, text)
        except TelegramAPIError as exc:
            log.warning("relay failure notice: %s", type(exc).__name__)

    async def _team_locale(self, person: int | None) -> str:
        """The group reads the bot in DEFAULT_LOCALE; a curator in her private chat, in hers."""
        if person is None:
            return self.i18n.default_locale
        return await notify.recipient_locale(self.context.db, person, self.i18n.default_locale)

    async def sweep(self) -> int:
        """Sends what the immediate send could not (the scheduler runs it every few seconds)."""
        app = self.context
        async with app.db() as session:
            ids = await relay.due(session, now=app.now(), older_than=SWEEP_AFTER)
        done = 0
        for row_id in ids:
            try:
                done += await self.deliver(row_id)
            except Exception as exc:  # the database went away: the next sweep tries again
                log.error("relay sweep %s: %s", row_id, type(exc).__name__)
        return done

    # ------------------------------------------------------------ edits

    async def edited(self, message: Message) -> bool:
        """An edit of a relayed message is made to its copy too (text and captions)."""
        app = self.context
        async with app.db() as session:
            other = await relay.counterpart_of(session, chat_id=message.chat.id, message_id=message.message_id)
        if other is None:
            return False
        try:
            if message.text is not None:
                await self.bot.edit_message_text(
                    message.text,
                    chat_id=other.chat_id,
                    message_id=other.message_id,
                    entities=message.entities,
                    parse_mode=None,
                )
            elif message.caption is not None:
                await self.bot.edit_message_caption(
                    chat_id=other.chat_id,
                    message_id=other.message_id,
                    caption=message.caption,
                    caption_entities=message.caption_entities,
                    parse_mode=None,
                )
            else:
                return False
        except TelegramAPIError as exc:
            log.warning("relay edit: %s", type(exc).__name__)
            return False
        async with app.db() as session:
            await relay.update_text(
                session, chat_id=message.chat.id, message_id=message.message_id, text=text_of(message)
            )
        return True

    # ------------------------------------------------------------ closing and rating

    async def tell_closed(self, user_id: int, conversation_id: int) -> None:
        stars = [InlineKeyboardButton(text="⭐" * n, callback_data=f"rt:{conversation_id}:{n}") for n in range(1, 6)]
        markup = InlineKeyboardMarkup(inline_keyboard=[stars[:3], stars[3:]])

        def render() -> str:
            return gettext(
                "The curator has closed this conversation. If you want to say more, just write: it opens again.\n\n"
                "How was it to talk with us? Tap the stars."
            )

        await notify.tell(self.bot, self.i18n, self.context.db, user_id, render, reply_markup=markup)

    async def forget(self, user_id: int) -> None:
        """She deleted her data: the conversation, its history, and her topic go."""
        app = self.context
        async with app.db() as session:
            thread = await relay.forget(session, user_id=user_id, now=app.now())
        if thread is not None and thread.group_chat_id is not None and thread.topic_id is not None:
            try:
                await self.bot.delete_forum_topic(thread.group_chat_id, thread.topic_id)
            except TelegramAPIError as exc:
                log.warning("relay: topic not deleted: %s", type(exc).__name__)
