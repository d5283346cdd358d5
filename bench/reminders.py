"""How fast a backlog of due reminders drains, with Telegram's flood control on.

Queues N due reminders for P people (10 000 for 1 000 by default, all due at once: the worst
morning after downtime), starts ``python -m bot`` against the fake Bot API with Telegram's limits
switched on (30 messages a second overall, 1 a second per chat, 429 above), and watches every
``sendMessage``. Prints the rate against ``SEND_RATE_PER_SECOND``, the lag of each message beyond
what that rate forces (the k-th message cannot go before start + k / rate), 429s, duplicates and
losses.

    .venv/bin/python -m bench.reminders
    .venv/bin/python -m bench.reminders --reminders 2000 --people 200
    .venv/bin/python -m bench.reminders --database-url postgresql+asyncpg://postgres@127.0.0.1:55432/bench
    .venv/bin/python -m bench.reminders --instances 2 --database-url postgresql+asyncpg://…   # shared limits

With ``--instances N``, N bot processes share the database and the backlog; the rate they reach
together is compared with the one configured for each (the limits are shared, ``SHARED_SEND_LIMITS``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import delete, func, insert, select

from bot.services import notices, reminders
from db import migrate
from db.engine import create_engine
from db.models import Reminder, ReminderState
from db.types import configure_encryption
from fake_bot_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


async def queue(url: str, recipients: list[int], count: int) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    now = datetime.now(UTC)
    rows = [
        {
            "kind": notices.KIND,
            "recipient_id": recipients[i % len(recipients)],
            "due_at": now,
            "state": ReminderState.PENDING.value,
            "attempts": 0,
            "payload": {"bench": i},
            "once_key": reminders.once_key(None, {"bench": i}),
            "text": f"Reminder {i}",
            "created_at": now,
        }
        for i in range(count)
    ]
    async with engine.begin() as conn:
        await conn.execute(delete(Reminder))
        for start in range(0, len(rows), 1000):
            await conn.execute(insert(Reminder), rows[start : start + 1000])
    await engine.dispose()


def _chat(call: Any) -> int | None:
    try:
        return int(call.params.get("chat_id"))
    except (TypeError, ValueError):
        return None


async def main(count: int, people: int, rate: float, database_url: str | None, instances: int = 1) -> None:
    key = Fernet.generate_key().decode()
    configure_encryption([key])
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        async with FakeTelegram(token="123456:BENCH") as fake:
            fake.rate_limit(per_chat_per_second=1, global_per_second=30)
            people_ = [fake.user(language_code="en") for _ in range(people)]
            for person in people_:
                person.chat.started = True  # they have written to the bot before (no /start traffic here)
            recipients = [person.id for person in people_]
            await queue(url, recipients, count)
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": str(ROOT),
                "BOT_TOKEN": "123456:BENCH",
                "TELEGRAM_API_URL": fake.url,
                "DATABASE_URL": url,
                "ENCRYPTION_KEY": key,
                "CONTENT_DIR": str(ROOT / "content"),
                "LOG_LEVEL": "WARNING",
                "SEND_RATE_PER_SECOND": str(rate),
                **(
                    {"SHARED_SEND_LIMITS": os.environ["SHARED_SEND_LIMITS"]}
                    if "SHARED_SEND_LIMITS" in os.environ
                    else {}
                ),
            }
            bots = [
                await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp, env=env)
                for _ in range(instances)
            ]
            wanted = set(recipients)
            try:
                deadline = time.monotonic() + count / rate * 3 + 120
                seen, delivered = 0, 0  # counted as they come: a scan of every call would stall the fake
                while time.monotonic() < deadline and all(b.returncode is None for b in bots) and delivered < count:
                    calls = fake.calls
                    for call in calls[seen:]:
                        delivered += call.method.lower() == "sendmessage" and call.ok and _chat(call) in wanted
                    seen = len(calls)
                    await asyncio.sleep(0.5)
                await asyncio.sleep(2)  # anything sent twice would show now
            finally:
                for bot in bots:
                    if bot.returncode is None:
                        bot.send_signal(signal.SIGTERM)
                for bot in bots:
                    await bot.wait()
            senders = await _senders(url)
    calls = [c for c in fake.calls_of("sendMessage") if _chat(c) in wanted]
    ok = sorted((c for c in calls if c.ok), key=lambda c: c.timestamp)
    refused = len(calls) - len(ok)
    texts = Counter(str(c.params.get("text")) for c in ok)
    duplicates = sum(n - 1 for n in texts.values() if n > 1)
    lost = count - len(texts)
    if len(ok) < 2:
        raise SystemExit(f"only {len(ok)} messages were sent")
    start = ok[0].timestamp
    elapsed = ok[-1].timestamp - start
    lags = [c.timestamp - (start + k / rate) for k, c in enumerate(ok)]
    q = statistics.quantiles(lags, n=100)
    achieved = (len(ok) - 1) / elapsed
    backend = url.split(":", 1)[0]
    print(f"backend {backend}: {count} due reminders for {people} people, SEND_RATE_PER_SECOND={rate:g}")
    print(f"sent {len(ok)} in {elapsed:.1f} s: {achieved:.1f}/s = {achieved / rate:.3f} of the configured rate")
    print(f"lag beyond what the rate forces: p50 {q[49]:.2f} s, p99 {q[98]:.2f} s, max {max(lags):.2f} s")
    print(f"answered 429 (or refused): {refused}; duplicates: {duplicates}; lost: {lost}")
    if instances > 1:
        print(f"{instances} instances; rows each sent: {', '.join(str(n) for n in senders)}")


async def _senders(url: str) -> list[int]:
    """How many rows each instance sent (by the worker that held the claim)."""
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.state == ReminderState.SENT.value)
            .group_by(Reminder.claimed_by)
        )
        counts = sorted((n for (n,) in rows), reverse=True)
    await engine.dispose()
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=25.0, help="SEND_RATE_PER_SECOND for the bot")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--instances", type=int, default=1, help="bot processes sharing the database")
    args = parser.parse_args()
    asyncio.run(main(args.reminders, args.people, args.rate, args.database_url, args.instances))
