"""What the bot sends on its own, through the pacer: Telegram's limits kept with flood control on,
one person's many messages never holding up the others', and a stop that gives the rest back."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.services import notices, reminders
from db.models import RelayMessage, Reminder, ReminderState
from tests.conftest import TELEGRAM_PER_CHAT_INTERVAL, Clock, fresh_database
from tests.e2e.people import at_menu

WEDNESDAY_11 = datetime(2026, 12, 2, 11, 0, tzinfo=ZoneInfo("Asia/Barnaul")).astimezone(UTC)


def _people(fake: Any, n: int) -> list[Any]:
    people = [fake.user() for _ in range(n)]
    for person in people:
        person.chat.started = True  # they wrote to the bot before
    return people


async def _queue(app: Any, people: list[Any], each: int, tag: str) -> list[str]:
    texts = []
    now = app.context.now()
    async with app.context.db() as session:
        for person in people:  # one person's messages one after another: the hardest order
            for i in range(each):
                text = f"{tag} {person.id} {i}"
                await reminders.add(
                    session,
                    kind=notices.KIND,
                    recipient_id=person.id,
                    due_at=now,
                    now=now,
                    payload={"n": text},
                    text=text,
                )
                texts.append(text)
        await session.commit()
    app.reminders.kick()
    return texts


def _sent(fake: Any, tag: str) -> list[Any]:
    return [c for c in fake.calls_of("sendMessage") if str(c.params.get("text", "")).startswith(tag)]


async def _until(predicate: Any, seconds: float = 120) -> None:
    for _ in range(int(seconds / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_a_backlog_keeps_telegrams_limits(start_bot, fake, backend, tmp_path) -> None:
    fake.rate_limit(per_chat_per_second=1, global_per_second=30)
    app = await start_bot(
        database_url=await fresh_database(backend, tmp_path),
        send_rate_per_second=20,
        send_per_chat_interval_seconds=TELEGRAM_PER_CHAT_INTERVAL,  # Telegram's limits are what is tested
    )
    texts = await _queue(app, _people(fake, 12), 5, "backlog")
    await _until(lambda: sum(c.ok for c in _sent(fake, "backlog")) >= len(texts))
    calls = [c for c in _sent(fake, "backlog") if c.ok]
    assert Counter(str(c.params["text"]) for c in calls) == Counter(texts)  # each once, none lost
    times = sorted(c.timestamp for c in calls)
    # Twelve people's five messages each took at least what 60 messages need at 20 a second: the
    # rate held (a busy machine only adds to this floor). Whether Telegram ever answered 429 is
    # measured by bench/reminders.py on a quiet machine, not asserted here: a machine busy enough to
    # stall the fake server bunches requests up at its end.
    assert times[-1] - times[0] >= 59 / 20 * 0.9
    # And not five seconds a person, one person after another: people are served side by side (one
    # after another, the first twelve would reach three people).
    in_order = sorted(calls, key=lambda c: c.timestamp)
    assert len({str(c.params["chat_id"]) for c in in_order[:12]}) >= 6


@pytest.mark.both_backends
async def test_a_stop_mid_backlog_gives_the_rest_back_at_once(start_bot, fake, backend, tmp_path) -> None:
    database_url = await fresh_database(backend, tmp_path)
    app = await start_bot(database_url=database_url, send_rate_per_second=5)
    texts = await _queue(app, _people(fake, 30), 2, "stopped")
    await _until(lambda: len(_sent(fake, "stopped")) >= 5)
    await app.test_stop()
    async with app.context.db() as session:
        rows = await session.execute(select(Reminder.state, func.count()).group_by(Reminder.state))
        states = {state: count for state, count in rows.all()}
        await session.rollback()
    assert ReminderState.SENDING.value not in states  # nothing waits for a lease to run out
    assert states.get(ReminderState.PENDING.value, 0) > 0
    await start_bot(database_url=database_url, send_rate_per_second=30)
    await _until(lambda: len(_sent(fake, "stopped")) >= len(texts))
    assert Counter(str(c.params["text"]) for c in _sent(fake, "stopped")) == Counter(texts)  # each once


async def test_crisis_words_do_not_wait_for_a_busy_curators_group(start_bot, fake, session) -> None:
    """Several people write to a person at once, so the group's 20-a-minute limit makes a queue of
    copies minutes long; a woman who wrote to a person too, then writes crisis words, gets the
    crisis screen while that queue is still there, and her next /start is answered as well."""
    group = fake.supergroup(title="Кураторы", forum=True, chat_id=-1_002_000_000_000 - next(fake._user_ids))
    await start_bot(clock=Clock(WEDNESDAY_11), curator_chat_id=group.id, group_messages_per_minute=20)
    writers = [await at_menu(fake) for _ in range(4)]
    her = await at_menu(fake)
    for person in [*writers, her]:
        await person.press("💬 Write to a person")
        await person.expect("Write to a person", predicate=lambda m: m.has_button("☰ Menu"))
    for person in writers:
        for n in range(3):
            await person.send(f"a question, part {n}")
    await her.send("I have a question too")
    await her.send("мне очень плохо, не хочу больше жить")
    await her.expect("If you or your children are in danger", timeout=30)
    mine = await session.scalar(
        select(RelayMessage.state).where(RelayMessage.author_id == her.id).order_by(RelayMessage.id).limit(1)
    )
    await session.commit()
    # Her own question was still queued behind the others' for the group: she did not wait for it.
    assert mine in ("pending", "sending")
    await her.send("/start")
    await her.expect("What would you like", timeout=30)


@pytest.mark.both_backends
async def test_two_instances_on_one_database_keep_one_set_of_limits(start_bot, fake, backend, tmp_path) -> None:
    """Two bots share the database and the backlog: together they keep the rate one may use, and a
    person whose two messages went to different instances still gets them a second apart."""
    if backend != "postgresql":
        pytest.skip("several instances share PostgreSQL; SQLite is one instance's database")
    database_url = await fresh_database(backend, tmp_path)
    # Telegram's own pause per chat: the limit this test checks.
    limits = {"send_rate_per_second": 10, "send_per_chat_interval_seconds": TELEGRAM_PER_CHAT_INTERVAL}
    first = await start_bot(database_url=database_url, **limits)
    second = await start_bot(database_url=database_url, **limits)
    for app in (first, second):
        app.reminders.batch = 10  # small claims, so both instances take part of the backlog
    texts = await _queue(first, _people(fake, 30), 2, "shared")
    second.reminders.kick()
    await _until(lambda: len(_sent(fake, "shared")) >= len(texts))
    calls = _sent(fake, "shared")
    assert Counter(str(c.params["text"]) for c in calls) == Counter(texts)  # each once, none lost
    async with first.context.db() as session:
        senders = (
            await session.execute(
                select(Reminder.claimed_by, func.count())
                .where(Reminder.state == ReminderState.SENT.value)
                .group_by(Reminder.claimed_by)
            )
        ).all()
        await session.rollback()
    assert len(senders) == 2, senders  # both instances sent part of it
    times = sorted(c.timestamp for c in calls)
    # 60 messages at 10 a second between them (each alone would allow 10: 3 s together, not 6).
    assert times[-1] - times[0] >= 59 / 10 * 0.9
    for person in {str(c.params["chat_id"]) for c in calls}:
        hers = sorted(c.timestamp for c in calls if str(c.params["chat_id"]) == person)
        assert hers[1] - hers[0] >= 0.9  # one a second to her, whichever instance sent
