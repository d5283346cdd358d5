"""The team's side of the relay: the curators' group (its pace, her topic, the header and the case
card, urgent marks) or, without a group, her curator's private chat; and what she is told when her
first message arrives. ``Relay`` (``relay.py``) builds on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
)
from aiogram.types import Message
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy import select

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.pacer import Pacer, Priority
from bot.jobs.relaying.common import NUDGE_KIND, mention
from bot.services import audit, catalog, meetings, relay, reminders, users
from bot.services.cases import latest_decisions
from bot.services.formatting import format_when
from bot.services.relay import Thread
from bot.wording.labels import DECISIONS_TEAM, STAGE_NAMES, label
from db.models import Case, Participant, User

log = logging.getLogger(__name__)


class TeamRoom:
    """Where the team reads her: the group's topics, or a curator's private chat."""

    def __init__(self, context: AppContext, bot: Bot, i18n: I18n, pacer: Pacer) -> None:
        self.context = context
        self.bot = bot
        self.i18n = i18n
        self.group_id = context.settings.curator_chat_id
        self.pacer = pacer
        self._group_interval = 60.0 / context.settings.group_messages_per_minute
        self._waiting: set[asyncio.Task[Any]] = set()  # sends waiting for the group's turn
        self._closing = False

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

    async def _case_lines(self, thread: Thread, locale: str, *, actor_id: int | None) -> tuple[list[str], str | None]:
        """The card's lines about her case (stage, consents, next meeting; the reading audited) and her
        curator's name."""
        lines: list[str] = []
        app = self.context
        async with app.db() as session:
            curator_name = None
            if thread.curator_id:
                curator = await session.get(User, thread.curator_id)
                curator_name = curator.display_name if curator else None
            if thread.case_id:
                case = await session.get(Case, thread.case_id)
                participant = None
                if case is not None:
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
        return lines, curator_name

    async def post_card(self, thread: Thread, *, actor_id: int | None) -> None:
        """The case card at the top of her topic: stage, consents, next meeting, her curator."""
        locale = await self._team_locale(None if self.group_id is not None else await self._curator_for(thread))
        lines, curator_name = await self._case_lines(thread, locale, actor_id=actor_id)
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

    async def _team_locale(self, person: int | None) -> str:
        """The group reads the bot in DEFAULT_LOCALE; a curator in her private chat, in hers."""
        if person is None:
            return self.i18n.default_locale
        return await notify.recipient_locale(self.context.db, person, self.i18n.default_locale)
