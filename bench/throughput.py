"""The bot against a bare aiogram bot: throughput, answer latency, memory and start-up, one run.

For each database (a SQLite file in a temp folder; PostgreSQL when ``--postgres-url`` or
``TEST_POSTGRES_URL`` names a server, in a fresh database created there and dropped after), starts
``python -m bench.bare_bot`` (the same screens with nothing behind them) and then ``python -m bot``,
each in its own process against the fake Bot API of the tests (which runs in this process, with the
simulated people, flood control off). At 1, 10 and 100 people at once each person walks the
navigation loop /start → What is the programme → Next ×3 → ☰ Menu → Where to get help → Housing →
◀ Back (``--rounds`` times), waiting for every answer as a person would. Printed per level: updates
a second, answer p50/p99, CPU per update of the bot's process (less its idle CPU), and the ratios to the bare bot; then
start-up (spawn to the first getUpdates, database already migrated) and RSS after the 100-person load.

    .venv/bin/python -m bench.throughput                         # SQLite, and PostgreSQL if TEST_POSTGRES_URL
    .venv/bin/python -m bench.throughput --postgres-url postgresql+asyncpg://postgres@127.0.0.1:55412/postgres
    .venv/bin/python -m bench.throughput --people 10 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from fake_bot_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH"
STEPS = (
    ("send", "/start", "What would you like"),
    ("press", "What is the programme", "What is a restorative programme"),
    ("press", "Next", "Only if you want it"),
    ("press", "Next", "Nobody takes sides"),
    ("press", "Next", "step by step"),
    ("send", "☰ Menu", "What would you like"),
    ("press", "Where to get help", "What do you need help with"),
    ("press", "Housing", "Housing ·"),
    ("press", "Back", "What do you need help with"),
)
IDLE_SECONDS = 5.0
GOAL = {"throughput": 0.5, "p99": 2.0, "rss": 1.25, "startup": 1.3}


@dataclass
class Level:
    people: int
    updates: int
    elapsed: float
    latencies: list[float]
    firsts: list[float]  # each person's first answer (of the latencies): her first contact with the bot
    cpu: float  # seconds of the bot process's CPU during the load
    idle: float  # of which the process would have spent idle (its background jobs), at its idle rate

    @property
    def rate(self) -> float:
        return self.updates / self.elapsed

    def q(self, n: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[n - 1]

    def q_after_first(self, n: int) -> float:
        """The quantile of the answers after each person's first one."""
        rest = list(self.latencies)
        for first in self.firsts:
            rest.remove(first)
        return statistics.quantiles(rest, n=100, method="inclusive")[n - 1]

    @property
    def cpu_ms(self) -> float:
        """CPU per update, without what the process spends when nobody writes (timers, pollers)."""
        return max(self.cpu - self.idle, 0.0) * 1000 / self.updates


@dataclass
class Run:
    startup: float
    idle_cpu: float = 0.0  # CPU seconds a second with nobody writing
    rss_mib: float = 0.0
    levels: dict[int, Level] = field(default_factory=dict)


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def walk(fake: FakeTelegram, latencies: list[float], rounds: int = 1, firsts: list[float] | None = None) -> None:
    user = fake.user(language_code="en")
    for step, (kind, what, expected) in enumerate(STEPS * rounds):
        started = time.perf_counter()
        if kind == "send":
            await user.send(what)
        else:
            await user.press(what)
        await user.expect(expected, timeout=120, predicate=lambda m: bool(m.buttons))
        latencies.append(time.perf_counter() - started)
        if step == 0 and firsts is not None:
            firsts.append(latencies[-1])


class Process:
    """One bot process against a fake Bot API of its own."""

    def __init__(self, module: str, env: dict[str, str], cwd: str) -> None:
        self.module, self.env, self.cwd = module, env, cwd
        self.run: Run | None = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        self.fake = await self._stack.enter_async_context(FakeTelegram(token=TOKEN))
        env = {**self.env, "TELEGRAM_API_URL": self.fake.url}
        prefix = os.environ.get("BENCH_BOT_PREFIX", "").split() if self.module == "bot" else []
        began = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *prefix, "-m", self.module, cwd=self.cwd, env=env
        )
        while not self.fake.polling:
            if self.proc.returncode is not None:
                raise SystemExit(f"{self.module} did not start")
            await asyncio.sleep(0.01)
        self.run = Run(startup=time.perf_counter() - began)
        await walk(self.fake, [])  # warm-up: first queries, caches
        cpu, began = _cpu(self.proc.pid), time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        self.run.idle_cpu = (_cpu(self.proc.pid) - cpu) / (time.perf_counter() - began)

    async def load(self, people: int, rounds: int) -> None:
        assert self.run is not None
        latencies: list[float] = []
        firsts: list[float] = []
        # This process plays Telegram and the people for both bots: a collection of its own garbage
        # (0.2 s at 10 people) would stall every person at once and be counted against whichever bot
        # it fell on. It collects between levels instead, never during one.
        gc.collect()
        gc.disable()
        cpu = _cpu(self.proc.pid)
        started = time.perf_counter()
        try:
            await asyncio.gather(*(walk(self.fake, latencies, rounds, firsts) for _ in range(people)))
        finally:
            gc.enable()
        elapsed = time.perf_counter() - started
        used = _cpu(self.proc.pid) - cpu
        self.run.levels[people] = Level(
            people, len(latencies), elapsed, latencies, firsts, used, self.run.idle_cpu * elapsed
        )
        self.run.rss_mib = _rss_mib(self.proc.pid)

    async def stop(self) -> None:
        try:
            if getattr(self, "proc", None) is not None and self.proc.returncode is None:
                self.proc.send_signal(signal.SIGTERM)
                await self.proc.wait()
        finally:
            await self._stack.aclose()


async def measure(bare: Process, bot: Process, levels: list[int], rounds: int) -> None:
    """Start-ups one after the other; then each level on the bare bot and at once on the bot, so that
    what else the machine is doing weighs on both alike."""
    try:
        await bare.start()
        await bot.start()
        for people in levels:
            await bare.load(people, rounds)
            await bot.load(people, rounds)
    finally:
        await bot.stop()
        await bare.stop()


async def migrate(url: str) -> None:
    from db import migrate as migrations
    from db.engine import create_engine

    engine = create_engine(url)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def report(backend: str, bare: Run, bot: Run) -> list[bool]:
    verdicts = []
    print(f"\n== {backend}")
    print("people | bare upd/s  p50   p99  cpu/upd | bot upd/s  p50   p99  cpu/upd | throughput ratio | p99 ratio")
    for people, b in bare.levels.items():
        r = bot.levels[people]
        rate, p99 = r.rate / b.rate, r.q(99) / b.q(99)
        ok = rate >= GOAL["throughput"] and p99 <= GOAL["p99"]
        verdicts.append(ok)
        print(
            f"{people:6d} | {b.rate:9.0f} {b.q(50) * 1000:5.0f} {b.q(99) * 1000:5.0f} {b.cpu_ms:5.1f} ms"
            f" | {r.rate:8.0f} {r.q(50) * 1000:5.0f} {r.q(99) * 1000:5.0f} {r.cpu_ms:5.1f} ms"
            f" | {rate:16.2f} | {p99:9.2f}  {'ok' if ok else 'MISSED'}"
        )
    # Every person is new to the bot: her first /start is her first contact (the bot registers her and
    # sends its welcome before the menu), the bare bot's is a /start like any other. Shown apart, the
    # verdict above stays on every answer.
    print("first contact (each person's first answer), and p99 of the answers after it:")
    for people, b in bare.levels.items():
        r = bot.levels[people]
        print(
            f"{people:6d} | first p50/max bare {statistics.median(b.firsts) * 1000:4.0f}/{max(b.firsts) * 1000:4.0f} ms"
            f", bot {statistics.median(r.firsts) * 1000:4.0f}/{max(r.firsts) * 1000:4.0f} ms"
            f" | p99 after it bare {b.q_after_first(99) * 1000:4.0f} ms, bot {r.q_after_first(99) * 1000:4.0f} ms,"
            f" ratio {r.q_after_first(99) / b.q_after_first(99):.2f}"
        )
    print(
        f"idle CPU (nobody writing; subtracted from cpu/upd): bare {bare.idle_cpu * 100:.1f} %, "
        f"bot {bot.idle_cpu * 100:.1f} % of a core"
    )
    rss, startup = bot.rss_mib / bare.rss_mib, bot.startup / bare.startup
    verdicts += [rss <= GOAL["rss"], startup <= GOAL["startup"]]
    print(
        f"RSS after the load: bare {bare.rss_mib:.0f} MiB, bot {bot.rss_mib:.0f} MiB, ratio {rss:.2f}"
        f"  {'ok' if verdicts[-2] else 'MISSED'}"
    )
    print(
        f"start-up: bare {bare.startup:.2f} s, bot {bot.startup:.2f} s, ratio {startup:.2f}"
        f"  {'ok' if verdicts[-1] else 'MISSED'}"
    )
    return verdicts


async def main(levels: list[int], rounds: int, backends: list[str], postgres_url: str | None) -> int:
    key = Fernet.generate_key().decode()
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "ENCRYPTION_KEY": key,
        "CONTENT_DIR": str(ROOT / "content"),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.setdefault("ENCRYPTION_KEY", key)
    print(
        f"goal: throughput >= {GOAL['throughput']} of the bare bot's, p99 <= {GOAL['p99']}x, "
        f"RSS <= {GOAL['rss']}x, start-up <= {GOAL['startup']}x; {rounds} round(s) of {len(STEPS)} steps a person"
    )
    verdicts: list[bool] = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url, drop = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", None
            else:
                if not postgres_url:
                    print("\n== postgresql: skipped (no --postgres-url / TEST_POSTGRES_URL)")
                    verdicts.append(False)
                    continue
                name = f"bench_{uuid.uuid4().hex[:8]}"
                server, _, _ = postgres_url.rpartition("/")
                await _admin(postgres_url, f'CREATE DATABASE "{name}"')
                url, drop = f"{server}/{name}", f'DROP DATABASE "{name}"'
            try:
                await migrate(url)
                bare = Process("bench.bare_bot", base, tmp)
                bot = Process("bot", {**base, "DATABASE_URL": url}, tmp)
                await measure(bare, bot, levels, rounds)
            finally:
                if drop:
                    await _admin(postgres_url or "", drop)
            assert bare.run is not None and bot.run is not None
            verdicts += report(backend, bare.run, bot.run)
    print("\nall goals met" if all(verdicts) else "\nsome goals missed")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, nargs="+", default=[1, 10, 100], help="levels, people at once")
    # Five rounds: 45 answers a person, so the p99 of one person is not simply her slowest answer of 18.
    parser.add_argument("--rounds", type=int, default=5, help="times each person walks the loop")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.people, args.rounds, args.backends, args.postgres_url)))
