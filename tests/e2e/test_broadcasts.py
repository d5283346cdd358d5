"""Broadcasts end to end: the composer, the sender in the running bot, the fake Bot API's faults,
a restart, and ``python -m bot`` killed mid-broadcast."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import create_engine, create_session_factory
from db.models import Broadcast, BroadcastDelivery, Region, User
from tests.conftest import CONTENT, ROOT, TELEGRAM_PER_CHAT_INTERVAL, TEST_KEY, Clock
from tests.e2e.people import team_member

TEXT = "<b>Important</b>: the office is closed on Monday"
PLAIN = "Important: the office is closed on Monday"


async def _region(session: Any) -> str:
    code = f"zz_e2e_bc_{time.time_ns() % 10**9}"
    session.add(Region(code=code, name={"ru": code, "en": code}, timezone="Asia/Barnaul", position=995))
    await session.commit()
    return code


async def _people(fake: Any, session: Any, region: str, n: int, role: str = "woman") -> list[Any]:
    """People of a region of their own, written straight into the database (they opened the bot)."""
    people = [fake.user(first_name="Вера") for _ in range(n)]
    now = datetime.now(UTC)
    for person in people:
        person.chat.started = True  # she has opened the bot before
        session.add(
            User(id=person.id, role=role, region=region, first_seen=now, last_seen=now, blocked_bot=False, locale="en")
        )
    await session.commit()
    return people


def _got(fake: Any, person: Any, text: str = PLAIN) -> int:
    return sum(1 for m in fake.sent_messages(person.id) if text in (m.text or m.caption or ""))


async def _until(predicate: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def compose(staff: Any, text: str = TEXT, *, role: str = "Participants (women)") -> Any:
    """Staff write a broadcast to one role of their region and reach the confirm screen."""
    await staff.send("/broadcast")
    await staff.expect("New broadcast")
    await staff.send(text)
    await staff.expect("Add a link button", predicate=lambda m: m.has_button("No button"))
    await staff.press("No button")
    await staff.expect("Who gets it", predicate=lambda m: m.has_button("👥 Roles"))
    await staff.press("👥 Roles")
    await staff.expect("Which roles?", predicate=lambda m: m.has_button("▫️ " + role))
    await staff.press("▫️ " + role)
    await staff.expect("Which roles?", predicate=lambda m: m.has_button("✅ " + role))
    await staff.press("◀ Back")
    await staff.expect("Who gets it", predicate=lambda m: m.has_button("Next ▶"))
    await staff.press("Next ▶")
    await staff.expect("Preview")
    return await staff.expect("Ready.", predicate=lambda m: m.has_button("📣 Send now"))


async def test_compose_preview_count_send_and_report(bot, fake, session) -> None:
    region = await _region(session)
    women = await _people(fake, session, region, 5)
    await _people(fake, session, region, 2, role="relative")
    staff = await team_member(fake, session, "staff", region=region)
    ready = await compose(staff)
    assert "5 people will receive it" in ready.text
    assert _got(fake, staff) == 1  # the preview, exactly as sent
    preview = next(m for m in fake.sent_messages(staff.id) if PLAIN in (m.text or ""))
    assert any(e.get("type") == "bold" for e in preview.data.get("entities", []))
    await staff.press("📣 Send now")
    await staff.expect("sending to 5 people")
    await staff.expect("finished")
    report = staff.last
    assert report is not None
    assert "Delivered: 5 of 5" in report.text
    for woman in women:
        assert _got(fake, woman) == 1
    # Each delivery settled, once: nothing is left that could send her a second copy.
    session.expire_all()
    rows = (
        await session.execute(
            select(BroadcastDelivery.user_id, BroadcastDelivery.state).where(
                BroadcastDelivery.user_id.in_([w.id for w in women])
            )
        )
    ).all()
    await session.commit()
    assert sorted(tuple(r) for r in rows) == sorted((w.id, "sent") for w in women)


async def test_bad_input_is_refused_with_a_reason(bot, fake, session) -> None:
    region = await _region(session)
    staff = await team_member(fake, session, "staff", region=region)
    await staff.send("/broadcast")
    await staff.expect("New broadcast")
    await staff.send("<b>bold <i>and</b>")
    await staff.expect("formatting is broken")
    await staff.send("x" * 4097)
    await staff.expect("too long: 4097 characters")
    await staff.send("Hello")
    await staff.expect("Add a link button")
    await staff.send("Site\nhttp://example.org")
    await staff.expect("must start with https://")
    await staff.send("Site\nhttps://example.org")
    await staff.expect("Who gets it", predicate=lambda m: m.has_button("Next ▶"))
    await staff.press("Next ▶")  # nobody chosen yet
    answer = await staff.expect_callback_answer()
    assert "Nobody matches" in answer.get("text", "")


async def test_429_storm_pauses_the_whole_sender(bot, fake, session) -> None:
    region = await _region(session)
    women = await _people(fake, session, region, 6)
    staff = await team_member(fake, session, "staff", region=region)
    await compose(staff)
    for woman in women[:3]:  # only the broadcast's sends: the bot's own answers are not in the storm
        fake.fail("sendMessage", 429, retry_after=1, times=1, chat_id=woman.id)
    mark = len(fake.calls)
    await staff.press("📣 Send now")
    await staff.expect("finished", timeout=30)
    assert all(_got(fake, w) == 1 for w in women)
    ids = {w.id for w in women}
    calls = [c for c in fake.calls[mark:] if c.method == "sendMessage" and int(c.params.get("chat_id", 0)) in ids]
    refused = [c for c in calls if not c.ok]
    assert len(refused) == 3
    # After a 429, no call at all (to anyone) for about retry_after.
    first = refused[0].timestamp
    after = [c.timestamp for c in calls if c.timestamp > first and c.ok]
    assert after and min(after) - first >= 0.9


async def test_403_and_5xx(bot, fake, session) -> None:
    region = await _region(session)
    women = await _people(fake, session, region, 4)
    staff = await team_member(fake, session, "staff", region=region)
    await compose(staff)
    women[0].chat.blocked = True  # she blocked the bot, and the bot has not heard of it yet
    fake.fail("sendMessage", 502, times=2, chat_id=women[1].id)
    await staff.press("📣 Send now")
    await staff.expect("finished", timeout=30)
    assert staff.last is not None
    report = staff.last.text
    assert "Delivered: 3 of 4" in report and "Blocked the bot: 1" in report
    assert all(_got(fake, w) == 1 for w in women[1:])
    session.expire_all()
    assert (await session.get(User, women[0].id)).blocked_bot is True
    await session.commit()


@pytest.mark.both_backends
async def test_scheduled_broadcast_survives_a_restart(start_bot, fake, session) -> None:
    clock = Clock()
    app = await start_bot(clock=clock)
    region = await _region(session)
    women = await _people(fake, session, region, 3)
    staff = await team_member(fake, session, "staff", region=region)
    await compose(staff)
    local = (clock.now + timedelta(days=1)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Barnaul"))
    await staff.press("📅 Choose a time")
    await staff.expect("Which day?")
    await staff.press(str(local.day))
    await staff.expect("What time?")
    await staff.send("10:00")
    await staff.expect("Time:", predicate=lambda m: any(b.startswith("✅") for b in m.all_buttons))
    assert staff.last is not None
    label = next(b for b in staff.last.all_buttons if b.startswith("✅"))
    await staff.press(label)
    await staff.expect("will go to 3 people")
    await app.test_stop()
    clock.now += timedelta(days=2)
    app = await start_bot(clock=clock)
    await app.run_broadcasts()
    await staff.expect("finished")
    assert all(_got(fake, w) == 1 for w in women)


async def test_cancel_from_the_list(start_bot, fake, session) -> None:
    await start_bot()
    region = await _region(session)
    await _people(fake, session, region, 2)
    staff = await team_member(fake, session, "staff", region=region)
    await compose(staff)
    await staff.press("📅 Choose a time")
    await staff.expect("Which day?")
    day = (datetime.now(UTC) + timedelta(days=2)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Barnaul")).day
    await staff.press(str(day))
    await staff.expect("What time?")
    await staff.send("10:00")
    await staff.expect("Time:")
    assert staff.last is not None
    label = next(b for b in staff.last.all_buttons if b.startswith("✅"))
    await staff.press(label)
    await staff.expect("will go to 2 people")
    await staff.send("/broadcasts")
    listing = await staff.expect("Recent broadcasts")
    cancel = next(b for b in listing.all_buttons if b.startswith("✖️"))
    await staff.press(cancel)
    await staff.expect("cancelled")


async def test_rate_limits_hold(start_bot, fake, session) -> None:
    await start_bot(send_per_chat_interval_seconds=TELEGRAM_PER_CHAT_INTERVAL)  # Telegram's own pause per chat
    region = await _region(session)
    women = await _people(fake, session, region, 70)
    staff = await team_member(fake, session, "staff", region=region)
    await compose(staff)
    fake.rate_limit(per_chat_per_second=1, global_per_second=30)
    mark = len(fake.calls)
    await staff.press("📣 Send now")
    await staff.expect("finished", timeout=30)
    assert all(_got(fake, w) == 1 for w in women)
    sends = [c for c in fake.calls[mark:] if c.method in ("sendMessage", "editMessageText")]
    assert all(c.ok for c in sends), [c for c in sends if not c.ok][:3]
    times = sorted(c.timestamp for c in sends)
    peak = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert peak <= 30
    per_chat: dict[Any, list[float]] = {}
    for c in sends:
        if c.method == "sendMessage":
            per_chat.setdefault(c.params["chat_id"], []).append(c.timestamp)
    for stamps in per_chat.values():
        stamps.sort()
        assert all(b - a >= 0.99 for a, b in itertools.pairwise(stamps))
    recipients = [c for c in sends if c.method == "sendMessage" and int(c.params["chat_id"]) in {w.id for w in women}]
    span = max(c.timestamp for c in recipients) - min(c.timestamp for c in recipients)
    print(f"\nbroadcast of {len(recipients)}: {span:.2f}s, {len(recipients) / span:.1f}/s overall, peak {peak}/s")


# ------------------------------------------------------------------ killed mid-broadcast


def _env(fake: Any, database_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": TEST_KEY,
        "CONTENT_DIR": str(CONTENT),
        "LOG_LEVEL": "INFO",
        "TELEGRAM_TIMEOUT": "3",
        "BROADCAST_LEASE_SECONDS": "5",
        "BROADCAST_RATE_PER_SECOND": "10",
    }


@pytest.mark.both_backends
async def test_killed_mid_broadcast_resumes_without_duplicates(fake, database_url, tmp_path) -> None:
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    async with factory() as session:
        region = await _region(session)
        women = await _people(fake, session, region, 60)
        now = datetime.now(UTC)
        row = Broadcast(
            author_id=None,
            kind="text",
            text=TEXT,
            audience={"roles": ["woman"], "regions": [region]},
            state="sending",
            total=len(women),
            created_at=now,
            started_at=now,
        )
        session.add(row)
        await session.flush()
        session.add_all(
            BroadcastDelivery(broadcast_id=row.id, user_id=w.id, state="pending", attempts=0) for w in women
        )
        await session.commit()
        broadcast_id = row.id
    fake.delay("sendMessage", 0.05, times=None)
    ids = {w.id for w in women}

    def delivered() -> int:
        return sum(1 for w in women if _got(fake, w))

    async def spawn() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=_env(fake, database_url),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    proc = await spawn()
    try:
        await _until(lambda: delivered() >= 20, timeout=60)
        # Kill while a message is held in the fake (not yet accepted) and every accepted one is
        # recorded as sent: the window where a crash could repeat a message is closed at this moment.
        # (Watching the clock for a quiet 30 ms instead was missed by a busy machine.)
        fake.clear_faults()
        fake.delay("sendMessage", 600, times=None)  # from now on every send hangs in the fake

        async def accepted_and_recorded() -> bool:
            if not fake.held:
                return False
            accepted = sum(
                1 for c in fake.calls if c.method == "sendMessage" and c.ok and int(c.params.get("chat_id", 0)) in ids
            )
            async with factory() as session:
                sent = await session.scalar(
                    select(func.count())
                    .select_from(BroadcastDelivery)
                    .where(BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state == "sent")
                )
                await session.rollback()
            return sent == accepted

        deadline = asyncio.get_running_loop().time() + 120  # only matters if it never settles
        settled = 0  # twice in a row, 0.1 s apart: a send still in its 0.05 s delay has landed by then
        while settled < 2:
            assert asyncio.get_running_loop().time() < deadline, "the accepted sends were never all recorded"
            await asyncio.sleep(0.1 if settled else 0.02)
            settled = settled + 1 if await accepted_and_recorded() else 0
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        at_kill = delivered()
        assert at_kill < len(women)
        fake.clear_faults()
        # What the dead instance held would return once BROADCAST_LEASE_SECONDS had passed: the test
        # moves those claims back by that much rather than wait it out.
        lease = timedelta(seconds=int(_env(fake, database_url)["BROADCAST_LEASE_SECONDS"]) + 1)
        async with factory() as session:
            held = (
                await session.scalars(
                    select(BroadcastDelivery).where(
                        BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state == "sending"
                    )
                )
            ).all()
            assert held  # the sends hanging in the fake when it died
            for delivery in held:
                assert delivery.claimed_at is not None
                delivery.claimed_at -= lease
            await session.commit()
        proc = await spawn()
        await _until(lambda: delivered() == len(women), timeout=90)
        # A second copy would be sent before the process below has stopped (it finishes what it holds).
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        fake.clear_faults()
    counts = Counter({w.id: _got(fake, w) for w in women})
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    async with factory() as session:
        states = Counter(
            (
                await session.scalars(
                    select(BroadcastDelivery.state).where(BroadcastDelivery.broadcast_id == broadcast_id)
                )
            ).all()
        )
        await session.commit()
    await engine.dispose()
    assert states == {"sent": len(women)}, states
    print(f"\nkilled after {at_kill} of {len(women)}; resumed, each got exactly one")
