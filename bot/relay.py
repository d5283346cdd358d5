"""The curator hand-off as Telegram sees it: copies between a participant's private chat and her
topic in the curators' group (or, without a group, her curator's private chat).

Every copy is first written to ``relay_messages`` (the outbox), then sent at once — beside her
update's handler, never inside it; what the immediate send could not finish (a crash, a 429 storm, a
topic still being made) the one sender sends later (``RelayLane``, a lane of ``bot/sender.py``).
Sends to the group take their turn from the shared pacer (``GROUP_MESSAGES_PER_MINUTE``, Telegram
allows about 20; urgent marks first), and a 429 waits for ``retry_after`` in the session's retry
layer — nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Hashable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
)
from aiogram.types import Message, MessageId, ReplyParameters
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notify
from bot.context import AppContext
from bot.pacer import Priority
from bot.sender import Lane, Sender
from bot.services import audit, catalog, relay, reminders, users
from bot.services.relay import Task, Thread
from bot.services.users import Profile
from db.models import User

log = logging.getLogger(__name__)
NUDGE_KIND = "handoff_nudge"  # registered in bot/app.py (handlers.handoff.nudge_renderer)
SWEEP_AFTER = relay.SWEEP_AFTER
MEDIA_KINDS = ("text", "photo", "voice", "document", "video_note", "sticker", "location", "video", "audio")


def mention(user_id: int, name: str) -> str:
    """A name that notifies the person in a group (HTML)."""
    return f'<a href="tg://user?id={user_id}">{escape(name)}</a>'


def kind_of(message: Message) -> str:
    content = getattr(message.content_type, "value", str(message.content_type))
    return content if content in MEDIA_KINDS else content[:16]


def text_of(message: Message) -> str | None:
    return message.text or message.caption


class RelayLane(Lane):
    """The relay's lane of the one sender: what the immediate send did not finish (a crash, a 429
    storm, a topic being made, nobody on duty yet), ``SWEEP_AFTER`` after it was written or last
    tried, oldest first, one conversation's messages in their order."""

    name = "relay"
    priority = Priority.REPLY
    lease = relay.SEND_LEASE
    batch = 20
    in_flight = 20

    def __init__(self, owner: Relay, sender: Sender) -> None:
        super().__init__()
        self.owner = owner
        sender.add(self)
        self.sender_: Sender = sender

    async def claim(self, limit: int) -> Sequence[Task]:
        async with self.owner.context.db() as session:
            return await relay.claim_due(session, now=self.owner.context.now(), limit=limit)

    def chat(self, item: Task) -> Hashable:
        return item.target_chat_id if item.target_chat_id is not None else ("conversation", item.conversation_id)

    async def send(self, item: Task) -> str:
        async with self.owner.in_order(item.conversation_id):
            return "sent" if await self.owner._deliver(item, turn=self) else "retried"

    async def release(self, ids: list[int]) -> int:
        async with self.owner.context.db() as session:
            return await relay.release(session, ids)

    async def next_due(self, session: AsyncSession, now: datetime) -> datetime | None:
        return await relay.next_due(session, now=now)


class Relay:
    def __init__(self, context: AppContext, bot: Bot, i18n: I18n, sender: Sender) -> None:
        self.context = context
        self.bot = bot
        self.i18n = i18n
        self.group_id = context.settings.curator_chat_id
        self.pacer = sender.pacer
        self.lane = RelayLane(self, sender)
        self._group_interval = 60.0 / context.settings.group_messages_per_minute
        self._lanes: dict[int, list[Any]] = {}  # conversation -> [its lock, how much work waits on it]
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: set[asyncio.Task[Any]] = set()  # sends waiting for the group's turn
        self._closing = False

    # ------------------------------------------------------------ from the participant

    async def from_participant(self, message: Message, *, urgent: bool = False) -> Thread:
        """Her message goes to the team of her region (or the team on duty); crisis words put an
        urgent mark on it and ping the people on duty; a new waiting spell brings her an answer
        (it arrived, when a person answers) and a nudge for later. Returns her conversation.

        Her update's handler only writes the outbox row and answers her: the sends to the team
        (topic, header, urgent mark, the copy) run beside it, in her order, at the group's pace, so
        a busy group never holds up her next message — or her crisis words."""
        app = self.context
        now = app.now()
        urgent = urgent or app.crisis.detect(text_of(message))
        async with app.db() as session:
            thread = await relay.open_for(session, user_id=message.chat.id, now=now, default_region=app.default_region)
        target = self.group_id if self.group_id is not None else await self._curator_for(thread)
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
        self._beside(thread.id, self._to_the_team(thread, row_id, target, urgent=urgent))
        if started:
            await self._after_first_message(thread, target, message)
        return thread

    async def _to_the_team(self, thread: Thread, row_id: int, target: int | None, *, urgent: bool) -> None:
        if self.group_id is not None:
            if thread.topic_id is None:
                thread = await self._ensure_topic(thread)
            elif thread.reopened:
                await self._post(thread, await self._header_text(thread, self.i18n.default_locale))
        if urgent:
            await self._mark_urgent(thread, target)
        # Her earlier messages that still wait go first: the team reads them in her order.
        async with self.context.db() as session:
            waiting = await relay.waiting_in_outbox(session, thread.id)
        for earlier in waiting:
            if earlier != row_id:
                await self.deliver(earlier)
        await self.deliver(row_id)

    @contextlib.asynccontextmanager
    async def in_order(self, conversation_id: int) -> AsyncIterator[None]:
        """One conversation's sends one after another, in the order they asked (a lock per
        conversation, shared by the immediate sends and the sender's)."""
        lane = self._lanes.get(conversation_id)
        if lane is None:
            lane = self._lanes[conversation_id] = [asyncio.Lock(), 0]
        lane[1] += 1
        try:
            async with lane[0]:
                yield
        finally:
            lane[1] -= 1
            if lane[1] == 0:
                self._lanes.pop(conversation_id, None)

    def _beside(self, conversation_id: int, work: Coroutine[Any, Any, None]) -> None:
        """Runs ``work`` outside the handler, after the earlier work of the same conversation. What
        it cannot send stays in the outbox for the sender."""
        order = self.in_order(conversation_id)

        async def run() -> None:
            try:
                async with order:
                    await work
            except Exception as exc:
                log.error("relay: sending to the team failed with %s; the sender tries again", type(exc).__name__)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, seconds: float) -> None:
        """Shutdown: what waits for the group's turn is given up at once (nothing was sent; the
        outbox keeps it), the sends under way finish (up to ``seconds``)."""
        self._closing = True
        for waiting in list(self._waiting):
            waiting.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
            for task in pending:
                task.cancel()

    async def _take_group_turn(self, priority: Priority = Priority.REPLY) -> None:
        """Telegram's limit for the curators' group, shared with everything else the bot sends. On
        shutdown a send still waiting for its turn is given up (its row stays in the outbox)."""
        assert self.group_id is not None
        task = asyncio.current_task()
        if self._closing or task is None:
            raise asyncio.CancelledError
        self._waiting.add(task)
        try:
            await self.pacer.slot(self.group_id, interval=self._group_interval, priority=priority)
        finally:
            self._waiting.discard(task)

    @contextlib.asynccontextmanager
    async def _group_turn(self, priority: Priority = Priority.REPLY) -> AsyncIterator[None]:
        await self._take_group_turn(priority)
        yield

    async def _header_text(self, thread: Thread, locale: str, *, urgent: bool = False) -> str:
        """Who writes (first name or a short number, case code, region), in the reader's language."""
        async with self.context.db() as session:
            region = await relay.region_title(session, region_code=thread.region_code, locale=locale)
        with self.i18n.context(), self.i18n.use_locale(locale):
            who = self._who(thread)
            where = escape(region) if region else gettext("region not known")
            lines = []
            if urgent:
                lines.append(
                    gettext(
                        "🚨 <b>URGENT</b> · {who} · {region}\n"
                        "Her message below has crisis words: she may be in danger right now. "
                        "She has been shown the crisis numbers. Please answer her first."
                    ).format(who=who, region=where)
                )
            else:
                lines.append(gettext("💬 <b>{who}</b> · {region}").format(who=who, region=where))
            if self.group_id is None:
                lines.append(gettext("Reply to her message (or to this one) to answer; /close when you are done."))
            return "\n".join(lines)

    async def _mark_urgent(self, thread: Thread, target: int | None) -> None:
        """A visible urgent mark above her message, and a ping to the people on duty."""
        app = self.context
        async with app.db() as session:
            duty = await relay.on_duty(session, region_code=thread.region_code)
        if self.group_id is not None:
            text = await self._header_text(thread, self.i18n.default_locale, urgent=True)
            async with app.db() as session:
                names = [(uid, await users.display_name(session, uid)) for uid in duty[:5]]
                await session.commit()
            pings = " ".join(mention(uid, name or str(uid)) for uid, name in names)
            if pings:
                text += "\n" + pings
            try:
                async with self._group_turn(Priority.CRISIS):
                    await self.bot.send_message(
                        self.group_id,
                        text,
                        message_thread_id=thread.topic_id,  # None: the topic is being made, the general chat
                    )
            except TelegramAPIError as exc:
                log.warning("relay urgent mark: %s", type(exc).__name__)
            return
        for person in ([target] if target is not None else []) + [d for d in duty[:5] if d != target]:
            locale = await notify.recipient_locale(app.db, person, self.i18n.default_locale)
            text = await self._header_text(thread, locale, urgent=True)
            try:
                sent = await self.bot.send_message(person, text)
            except TelegramAPIError as exc:
                log.warning("relay urgent mark: %s", type(exc).__name__)
                continue
            if person == target:  # her message replies to it: it reads as hers
                async with app.db() as session:
                    await relay.record_header(
                        session,
                        conversation_id=thread.id,
                        user_id=thread.user_id,
                        curator_id=person,
                        message_id=sent.message_id,
                        now=app.now(),
                    )

    async def _header_for(self, thread: Thread, chat_id: int) -> int | None:
        """No-group mode: her header in this person's chat, sent once there; her messages reply to it."""
        app = self.context
        async with app.db() as session:
            found = await relay.header_in(session, conversation_id=thread.id, chat_id=chat_id)
        if found is not None:
            return found
        locale = await notify.recipient_locale(app.db, chat_id, self.i18n.default_locale)
        try:
            sent = await self.bot.send_message(chat_id, await self._header_text(thread, locale))
        except TelegramAPIError as exc:
            log.warning("relay header: %s", type(exc).__name__)
            return None
        async with app.db() as session:
            await relay.record_header(
                session,
                conversation_id=thread.id,
                user_id=thread.user_id,
                curator_id=chat_id,
                message_id=sent.message_id,
                now=app.now(),
            )
        return sent.message_id

    def _who(self, thread: Thread) -> str:
        name = escape(thread.first_name) if thread.first_name else f"#{thread.id}"
        if thread.case_code:
            return f"{name} · {thread.case_code}"
        return name

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
                    "Your message is saved. ✉️ It will reach the team as soon as a person is on duty, "
                    "and they will answer here. If it is urgent, press 🆘 — the numbers there answer at once."
                )
            )
        elif relay.in_hours(hours, now):
            await message.answer(
                gettext(
                    "Sent. ✉️ Your message has reached the team. A person will answer here today, "
                    "usually within {minutes} minutes (until {end})."
                ).format(minutes=settings.handoff_nudge_minutes, end=hours.end.strftime("%H:%M"))
            )
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
        """No-group mode: her assigned curator, else the first on duty for her region (a curator of
        her region, else of every region, else staff and admins)."""
        async with self.context.db() as session:
            if thread.curator_id is not None:
                assigned = await session.get(User, thread.curator_id)
                if assigned is not None and not assigned.blocked_bot:
                    await session.commit()
                    return thread.curator_id
            duty = await relay.on_duty(session, region_code=thread.region_code)
        return duty[0] if duty else None

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
        # (no case: a short number only; the header inside says her region)
        try:
            async with self._group_turn():
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
        from bot.wording.labels import DECISIONS_TEAM, STAGE_NAMES, label
        from db.models import Case, Participant

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
                        session,
                        actor_id=actor_id,
                        action="case_card_shown",
                        object_type="case",
                        object_id=case.id,
                        now=app.now(),
                    )
            await session.commit()
        lines.insert(0, await self._header_text(thread, locale))
        with self.i18n.context(), self.i18n.use_locale(locale):
            if not lines[1:]:
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
                async with self._group_turn():
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
        """Sends one outbox row at once (beside her update's handler); True when it reached the
        other side."""
        app = self.context
        if self.group_id is not None:
            async with app.db() as session:
                for_the_group = await relay.waits_for_the_team(session, row_id)
            if for_the_group:
                # The group's turn first, then the claim and the copy at once: a claim never waits in
                # the queue (where its lease could run out and the sender send it a second time).
                await self._take_group_turn()
        async with app.db() as session:
            task = await relay.claim(session, message_id=row_id, now=app.now())
        if task is None:
            return False
        return await self._deliver(task)

    async def _deliver(self, task: Task, turn: Any = None) -> bool:
        """Sends a claimed row. ``turn``: the sender's lane, whose slot is taken right before the copy
        (the immediate send took the group's turn before it claimed)."""
        app = self.context
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
            # Nobody on duty yet, or her topic is being made: it waits (never dropped) for the sender.
            async with app.db() as session:
                await relay.give_back(session, message_id=task.id, error="no_target", final=False)
            self.lane.kick()
            return False
        reply_to = task.reply_to_target
        if task.inbound and not to_group and reply_to is None:
            reply_to = await self._header_for(thread, task_target)  # her message reads as hers
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        if turn is not None:
            try:
                if to_group:
                    await turn.turn(task_target, interval=self._group_interval)
                else:
                    await turn.turn(task_target)
            except asyncio.CancelledError:
                raise
        sent: MessageId | Message
        try:
            if to_group:
                sent = await self.bot.copy_message(
                    task_target,
                    task.source_chat_id,
                    task.source_message_id,
                    message_thread_id=thread.topic_id,
                    reply_parameters=reply,
                )
            else:
                sent = await self._copy_to(task, task_target, reply)
        except TelegramForbiddenError:
            await self._failed(task, thread, "blocked")
            if not task.inbound:
                async with app.db() as session:
                    await users.set_blocked(session, thread.user_id, True, now=app.now())
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
                self.lane.kick()
                return False
            await self._failed(task, thread, "not_copied")
            return False
        except TelegramAPIError as exc:  # 429/5xx/timeouts after the session's own retries
            async with app.db() as session:
                await relay.give_back(
                    session, message_id=task.id, error=type(exc).__name__, final=task.attempts >= relay.MAX_ATTEMPTS
                )
            log.warning("relay %s: %s, left for the sender", task.id, type(exc).__name__)
            self.lane.kick()  # it sleeps until this row is due again
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

    async def _copy_to(self, task: Task, target: int, reply: ReplyParameters | None) -> MessageId | Message:
        """A copy to one person. A curator's words to a woman who asked for discreet notifications
        open with neutral words and stay under a spoiler, as the bot's own messages do: the chat list
        and the notification show nothing of them."""
        if not task.inbound and task.text:
            locale, quiet = await notify.recipient_prefs(self.context.db, target, self.i18n.default_locale)
            if quiet:
                with self.i18n.context(), self.i18n.use_locale(locale):
                    wrapped = notify.discreet(escape(task.text))
                if task.kind == "text":
                    return await self.bot.send_message(target, wrapped, reply_parameters=reply)
                return await self.bot.copy_message(
                    target, task.source_chat_id, task.source_message_id, caption=wrapped, reply_parameters=reply
                )
        return await self.bot.copy_message(target, task.source_chat_id, task.source_message_id, reply_parameters=reply)

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
        """Sends now what the immediate send could not (the sender does it by itself, ``SWEEP_AFTER``
        after a row was written or last tried); returns how many went."""
        found = await self.lane.sender_.run_once([self.lane], wait=True)
        return found.get(self.lane.name, Counter())["sent"]

    # ------------------------------------------------------------ edits

    async def edited(self, message: Message) -> bool | None:
        """An edit of a relayed message is made to its copy too (text and captions): True when it
        was; None when the message was never relayed (nobody else has it)."""
        app = self.context
        async with app.db() as session:
            other = await relay.counterpart_of(session, chat_id=message.chat.id, message_id=message.message_id)
        if other is None:
            return None
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
