"""The curator hand-off as Telegram sees it: copies between a participant's private chat and her
topic in the curators' group (or, without a group, her curator's private chat).

Every copy is first written to ``relay_messages`` (the outbox), then sent at once — beside her
update's handler, never inside it; what the immediate send could not finish (a crash, a 429 storm, a
topic still being made) the one sender sends later (``RelayLane``, a lane of ``bot/jobs/sender.py``).
Sends to the group take their turn from the shared pacer (``GROUP_MESSAGES_PER_MINUTE``, Telegram
allows about 20; urgent marks first), and a 429 waits for ``retry_after`` in the session's retry
layer — nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable, Sequence
from datetime import datetime
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

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.pacer import Priority
from bot.jobs.relaying.common import kind_of, text_of
from bot.jobs.relaying.room import TeamRoom
from bot.jobs.sender import Lane, Sender
from bot.services import relay, users
from bot.services.relay import Task, Thread
from bot.services.users import Profile

log = logging.getLogger(__name__)
SWEEP_AFTER = relay.SWEEP_AFTER


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


class Relay(TeamRoom):
    """Copies between her private chat and the team, through the outbox (``relay_messages``)."""

    def __init__(self, context: AppContext, bot: Bot, i18n: I18n, sender: Sender) -> None:
        super().__init__(context, bot, i18n, sender.pacer)
        self.lane = RelayLane(self, sender)
        self._lanes: dict[int, list[Any]] = {}  # conversation -> [its lock, how much work waits on it]
        self._tasks: set[asyncio.Task[None]] = set()

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

    async def tell_the_team(self, thread: Thread, render: Callable[[], str]) -> None:
        """A message of the bot's own about her, in her topic (made first if need be) or to her
        curator; ``render`` words it in the reader's language (the group's, or the curator's)."""
        if self.group_id is not None and thread.topic_id is None:
            thread = await self._ensure_topic(thread)
        reader = None if self.group_id is not None else await self._curator_for(thread)
        with self.i18n.context(), self.i18n.use_locale(await self._team_locale(reader)):
            text = render()
        await self._post(thread, text)

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
        except TelegramAPIError as exc:
            await self._not_sent(task, thread, exc, to_group=to_group)
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

    async def _not_sent(self, task: Task, thread: Thread, exc: TelegramAPIError, *, to_group: bool) -> None:
        """Telegram refused a copy: she blocked the bot (final), her topic is gone (made again, the
        row waits), a copy Telegram will never pass (final), or 429/5xx/timeouts after the session's
        own retries (the row waits for the sender)."""
        app = self.context
        if isinstance(exc, TelegramForbiddenError):
            await self._failed(task, thread, "blocked")
            if not task.inbound:
                async with app.db() as session:
                    await users.set_blocked(session, thread.user_id, True, now=app.now())
            return
        if isinstance(exc, TelegramBadRequest):
            if "thread not found" in exc.message.lower() and to_group:
                assert self.group_id is not None  # to_group
                async with app.db() as session:
                    await relay.set_topic(
                        session, conversation_id=thread.id, group_chat_id=self.group_id, topic_id=None, now=app.now()
                    )
                    await relay.give_back(session, message_id=task.id, error="topic_gone", final=False)
                await self._ensure_topic(thread)
                self.lane.kick()
                return
            await self._failed(task, thread, "not_copied")
            return
        async with app.db() as session:
            await relay.give_back(
                session, message_id=task.id, error=type(exc).__name__, final=task.attempts >= relay.MAX_ATTEMPTS
            )
        log.warning("relay %s: %s, left for the sender", task.id, type(exc).__name__)
        self.lane.kick()  # it sleeps until this row is due again

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
