"""How many updates a second the whole bot handles, and how long a person waits for an answer.

Starts ``python -m bot`` in its own process against the fake Bot API server of the tests (which runs
in this process, with the simulated people), then lets N people walk the same path at once: /start,
open "What is the programme", press Next four times, back to the menu (three times over by
default). Every step waits for the bot's answer, as a person would. Both processes share the machine's two cores.

    .venv/bin/python -m bench.throughput                       # SQLite file in a temp folder
    .venv/bin/python -m bench.throughput --people 200
    .venv/bin/python -m bench.throughput --database-url postgresql+asyncpg://postgres@127.0.0.1:55432/bench
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
from pathlib import Path

from cryptography.fernet import Fernet

from fake_bot_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
STEPS = (
    ("send", "/start", "What would you like"),
    ("press", "What is the programme", "What is a restorative programme"),
    ("press", "Next", "Only if you want it"),
    ("press", "Next", "Nobody takes sides"),
    ("press", "Next", "step by step"),
    ("press", "Next", "Who will see what I write"),
    ("press", "Menu", "What would you like"),
)


async def walk(fake: FakeTelegram, latencies: list[float], rounds: int = 1) -> None:
    user = fake.user(language_code="en")
    for kind, what, expected in STEPS * rounds:
        started = time.perf_counter()
        if kind == "send":
            await user.send(what)
        else:
            await user.press(what)
        await user.expect(expected, timeout=60, predicate=lambda m: bool(m.buttons))
        latencies.append(time.perf_counter() - started)


async def main(people: int, rounds: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        async with FakeTelegram(token="123456:BENCH") as fake:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": str(ROOT),
                "BOT_TOKEN": "123456:BENCH",
                "TELEGRAM_API_URL": fake.url,
                "DATABASE_URL": url,
                "ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "CONTENT_DIR": str(ROOT / "content"),
                "LOG_LEVEL": "WARNING",
            }
            prefix = os.environ.get("BENCH_BOT_PREFIX", "").split()
            bot = await asyncio.create_subprocess_exec(sys.executable, *prefix, "-m", "bot", cwd=tmp, env=env)
            try:
                while not fake.polling:
                    if bot.returncode is not None:
                        raise SystemExit("the bot did not start")
                    await asyncio.sleep(0.1)
                await walk(fake, [])  # warm-up: first queries, caches
                latencies: list[float] = []
                started = time.perf_counter()
                await asyncio.gather(*(walk(fake, latencies, rounds) for _ in range(people)))
                elapsed = time.perf_counter() - started
            finally:
                bot.send_signal(signal.SIGTERM)
                await bot.wait()
    updates = people * rounds * len(STEPS)
    quantiles = statistics.quantiles(latencies, n=100)
    backend = url.split(":", 1)[0]
    print(f"backend {backend}, {people} people at once, {updates} updates in {elapsed:.1f} s")
    print(f"throughput: {updates / elapsed:.0f} updates/s")
    print(
        f"answer latency: p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="times each person walks the path")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.rounds, args.database_url))
