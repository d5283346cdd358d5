"""The reminder engine end to end: rows in the database, the sender of the running bot, the fake
Bot API. Only the test runs the sender (``app.run_reminders()``; the sender's own loop is held after
its first run), and the clock is the test's.

The database outlives a test: the test renderer sends only rows carrying this test's token and
drops any other "test" row an earlier test may have left behind.
"""

import asyncio
import itertools
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiogram.utils.i18n import gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.jobs.outgoing import Drop, Outgoing
from bot.services import reminders
from bot.services.reminders import Claimed
from db.models import ReminderState, User
from tests.conftest import Clock
from tests.e2e.people import at_menu

pytestmark = pytest.mark.both_backends  # docs/DEVELOPING.md "Tests": which tests run on both

KIND = "test"
POLL = 300  # the longest REMINDER_POLL_SECONDS: the job never fires during a test


class Engine:
    """The test's kind of reminder, registered on one or more running bots."""

    def __init__(self, *apps: Any) -> None:
        self.token = uuid.uuid4().hex
        self.rendered: list[tuple[int, str]] = []
        self.unreachable: list[int] = []
        for app in apps:
            app.reminders.register(KIND, self.render, self.on_unreachable)
        self.app = apps[0]

    async def render(self, session: AsyncSession, claimed: Claimed, locale: str) -> Outgoing | Drop:
        payload = claimed.payload or {}
        if payload.get("t") != self.token:
            return Drop("foreign")
        if payload.get("boom"):
            raise RuntimeError("a secret text that must not reach the log")
        if payload.get("drop"):
            return Drop("too_late")
        self.rendered.append((claimed.id, locale))
        return Outgoing(f"ping {claimed.id} · {gettext('Start again from the menu')}")

    async def on_unreachable(self, claimed: Claimed) -> None:
        self.unreachable.append(claimed.id)

    async def add(self, user_id: int, *, due_in: timedelta = timedelta(0), **payload: Any) -> int:
        app = self.app
        due = app.context.now() + due_in
        async with app.context.db() as session:
            assert await reminders.add(
                session,
                kind=KIND,
                recipient_id=user_id,
                due_at=due,
                now=app.context.now(),
                payload={"t": self.token, **payload},
            )
            await session.commit()
            rows = [r for r in await reminders.for_recipient(session, user_id, kinds=[KIND]) if r.due_at == due]
        return rows[0].id

    async def row(self, reminder_id: int) -> reminders.ReminderView:
        async with self.app.context.db() as session:
            view = await reminders.get(session, reminder_id)
        assert view is not None
        return view


def pings(fake: Any, user_id: int) -> list[str]:
    return [
        c.params["text"]
        for c in fake.calls_of("sendMessage")
        if c.ok and str(c.params.get("chat_id")) == str(user_id) and str(c.params.get("text", "")).startswith("ping")
    ]


async def _bot(start_bot: Any, clock: Clock, **settings: Any) -> Any:
    app = await start_bot(clock=clock, reminder_poll_seconds=POLL, **settings)
    # The test counts what each of its runs did: the sender's own loop (which wakes at the due time
    # of any row the shared test database holds) stays out of the way after its first run.
    await app.sender.hold()
    return app


async def test_a_due_reminder_is_delivered_once_in_her_language(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock)
    engine = Engine(app)
    user = fake.user(language_code="ru")
    await user.send("/start")
    await user.expect("Что вы хотите сделать")
    rid = await engine.add(user.id)

    counts = await app.run_reminders()
    assert counts["sent"] == 1
    assert pings(fake, user.id) == [f"ping {rid} · Начать заново с меню"]
    assert engine.rendered == [(rid, "ru")]
    row = await engine.row(rid)
    assert row.state is ReminderState.SENT and row.attempts == 1 and row.done_at == clock.now
    assert row.claimed_by == app.reminders.worker_id

    assert (await app.run_reminders())["sent"] == 0
    assert len(pings(fake, user.id)) == 1


async def test_a_reminder_waits_for_its_time(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock)
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id, due_in=timedelta(hours=1))

    assert (await app.run_reminders())["sent"] == 0
    clock.now += timedelta(minutes=59)
    assert (await app.run_reminders())["sent"] == 0
    assert pings(fake, user.id) == []
    clock.now += timedelta(minutes=1)
    assert (await app.run_reminders())["sent"] == 1
    assert pings(fake, user.id) == [f"ping {rid} · Start again from the menu"]


async def test_429_and_502_are_retried_by_the_engine_and_delivered(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock, telegram_retry_attempts=1)  # no retries in the session layer
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id)

    fake.fail("sendMessage", 429, retry_after=1, chat_id=user.id)
    assert (await app.run_reminders())["retried"] == 1
    row = await engine.row(rid)
    assert (row.state, row.attempts, row.last_error) == (ReminderState.PENDING, 1, "TelegramRetryAfter")
    assert row.due_at == clock.now + timedelta(seconds=30)

    clock.now = row.due_at
    fake.fail("sendMessage", 502, "Bad Gateway", chat_id=user.id)
    assert (await app.run_reminders())["retried"] == 1
    row = await engine.row(rid)
    assert (row.state, row.attempts, row.last_error) == (ReminderState.PENDING, 2, "TelegramServerError")
    assert row.due_at == clock.now + timedelta(seconds=60)  # backed off

    clock.now = row.due_at
    assert (await app.run_reminders())["sent"] == 1
    assert pings(fake, user.id) == [f"ping {rid} · Start again from the menu"]
    assert (await engine.row(rid)).state is ReminderState.SENT


async def test_the_session_layer_retries_first(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock)  # TELEGRAM_RETRY_ATTEMPTS=5
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id)
    fake.fail("sendMessage", 502, "Bad Gateway", times=2, chat_id=user.id)
    assert (await app.run_reminders())["sent"] == 1
    row = await engine.row(rid)
    assert row.state is ReminderState.SENT and row.attempts == 1


async def test_attempts_run_out(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock, telegram_retry_attempts=1, reminder_max_attempts=2)
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id)
    fake.fail("sendMessage", 502, "Bad Gateway", times=None, chat_id=user.id)
    assert (await app.run_reminders())["retried"] == 1
    clock.now += timedelta(minutes=1)
    assert (await app.run_reminders())["failed"] >= 1
    fake.clear_faults()
    row = await engine.row(rid)
    assert (row.state, row.attempts, row.last_error) == (ReminderState.FAILED, 2, "TelegramServerError")
    clock.now += timedelta(hours=2)
    await app.run_reminders()
    assert pings(fake, user.id) == []


async def test_a_blocked_recipient_is_given_up_and_reported(start_bot, fake, session: AsyncSession) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock)
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id)
    await user.block()

    await app.run_reminders()
    row = await engine.row(rid)
    assert (row.state, row.last_error, row.attempts) == (ReminderState.FAILED, "blocked", 1)
    assert engine.unreachable == [rid]
    tries = [c for c in fake.calls_of("sendMessage") if str(c.params.get("text", "")).startswith(f"ping {rid} ")]
    assert [c.ok for c in tries] == [False]  # a 403 is not retried
    session.expire_all()
    person = await session.get(User, user.id)
    assert person is not None and person.blocked_bot
    await session.commit()


async def test_a_403_alone_marks_her_unreachable(start_bot, fake, session: AsyncSession) -> None:
    """No my_chat_member update this time: only the engine can learn she blocked the bot."""
    clock = Clock()
    app = await _bot(start_bot, clock)
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id)
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=user.id)
    counts = await app.run_reminders()
    assert counts["sent"] == 0
    assert (await engine.row(rid)).last_error == "blocked"
    assert engine.unreachable == [rid]
    session.expire_all()
    person = await session.get(User, user.id)
    assert person is not None and person.blocked_bot
    await session.commit()


async def test_unknown_kind_waits_and_a_broken_renderer_retries(start_bot, fake, caplog) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock)
    engine = Engine(app)
    user = await at_menu(fake)
    dropped = await engine.add(user.id, drop=True)
    broken = await engine.add(user.id, due_in=timedelta(seconds=1), boom=True)
    async with app.context.db() as session:
        await reminders.add(session, kind="t_nobody_renders", recipient_id=user.id, due_at=clock.now, now=clock.now)
        await session.commit()
        (unknown,) = await reminders.for_recipient(session, user.id, kinds=["t_nobody_renders"])

    clock.now += timedelta(seconds=1)
    with caplog.at_level(logging.INFO):
        counts = await app.run_reminders()
    assert counts["dropped"] >= 1 and counts["retried"] == 1 and counts["failed"] == 0
    assert pings(fake, user.id) == []
    row = await engine.row(dropped)
    assert (row.state, row.last_error) == (ReminderState.DROPPED, "too_late")
    row = await engine.row(broken)
    assert (row.state, row.last_error) == (ReminderState.PENDING, "RuntimeError")
    row = await engine.row(unknown.id)
    # Nobody here can word it: it waits, unclaimed, for an instance that can (a rolling update).
    assert (row.state, row.attempts) == (ReminderState.PENDING, 0)
    assert "secret text" not in caplog.text
    assert "RuntimeError" in caplog.text


async def test_a_restart_before_the_due_time_loses_nothing(start_bot, fake) -> None:
    clock = Clock()
    first = await _bot(start_bot, clock)
    engine = Engine(first)
    user = await at_menu(fake)
    rid = await engine.add(user.id, due_in=timedelta(hours=1))
    await first.test_stop()

    clock.now += timedelta(hours=2)
    second = await _bot(start_bot, clock)
    second.reminders.register(KIND, engine.render, engine.on_unreachable)
    engine.app = second
    assert (await second.run_reminders())["sent"] == 1
    assert (await second.run_reminders())["sent"] == 0
    assert pings(fake, user.id) == [f"ping {rid} · Start again from the menu"]


async def test_a_claim_of_an_instance_that_died_returns_after_the_lease(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock, reminder_lease_seconds=60)
    engine = Engine(app)
    user = await at_menu(fake)
    rid = await engine.add(user.id)
    async with app.context.db() as session:  # an instance claims it and dies before sending
        (claimed,) = await reminders.claim_due(session, now=clock.now, worker="dead", kinds=[KIND])
    assert claimed.id == rid

    assert (await app.run_reminders())["sent"] == 0
    clock.now += timedelta(seconds=61)
    assert (await app.run_reminders())["sent"] == 1
    row = await engine.row(rid)
    assert row.state is ReminderState.SENT and row.attempts == 2
    assert len(pings(fake, user.id)) == 1


async def test_messages_to_one_chat_are_spaced(start_bot, fake) -> None:
    clock = Clock()
    app = await _bot(start_bot, clock)
    engine = Engine(app)
    user = await at_menu(fake)
    for seconds in range(3):
        await engine.add(user.id, due_in=timedelta(seconds=-seconds))
    assert (await app.run_reminders())["sent"] == 3
    times = [
        c.timestamp
        for c in fake.calls_of("sendMessage")
        if str(c.params.get("chat_id")) == str(user.id) and str(c.params.get("text", "")).startswith("ping")
    ]
    assert len(times) == 3
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))


async def test_two_instances_send_each_reminder_once(backend: str, start_bot, fake) -> None:
    if backend != "postgresql":
        pytest.skip("two instances behind one database is a PostgreSQL deployment (SQLite is one process)")
    clock = Clock()
    first = await _bot(start_bot, clock)
    people = [fake.user() for _ in range(40)]
    for person in people:
        await person.send("/start")
    await asyncio.gather(*(p.expect("What would you like", timeout=30) for p in people))
    second = await _bot(start_bot, clock)
    engine = Engine(first, second)
    for app in (first, second):
        app.reminders.batch = 5  # many small claims, so the two really interleave
    ids = [await engine.add(p.id) for p in people]

    a, b = await asyncio.gather(first.run_reminders(), second.run_reminders())
    assert a["sent"] + b["sent"] == 40
    assert a["sent"] > 0 and b["sent"] > 0
    for person, rid in zip(people, ids, strict=True):
        assert pings(fake, person.id) == [f"ping {rid} · Start again from the menu"]
    workers = {(await engine.row(rid)).claimed_by for rid in ids}
    assert workers == {first.reminders.worker_id, second.reminders.worker_id}
