"""What an idle bot costs the database: transactions and statements while nobody writes.

Starts the bot in this process (the same ``build``/``serve`` as ``python -m bot``) against the fake
Bot API with long polling and nothing to do, lets it settle, then counts for ``--seconds`` (30 by
default) every transaction its engine begins and every statement it runs (SQLAlchemy events), and on
PostgreSQL the database's own ``pg_stat_database.xact_commit`` delta (which also sees connections
outside the engine, such as the sender's LISTEN).

    .venv/bin/python -m bench.idle
    .venv/bin/python -m bench.idle --database-url postgresql+asyncpg://postgres@127.0.0.1:55432/idle
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import event

from bot.config import Settings
from fake_bot_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


async def _commits(connection: Any) -> int | None:
    if connection is None:
        return None
    value = await connection.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    await asyncio.sleep(0.6)  # the statistics are sent at most every 0.5 s
    return int(value or 0)


async def measure(url: str, seconds: float, settle: float) -> dict[str, Any]:
    from bot.app import build

    async with FakeTelegram(token="123456:IDLE-token") as fake:
        settings = Settings(
            _env_file=None,
            bot_token="123456:IDLE-token",
            telegram_api_url=fake.url,
            database_url=url,
            encryption_key=Fernet.generate_key().decode(),
            content_dir=str(ROOT / "content"),
        )
        app = build(settings)
        counts = {"transactions": 0, "statements": 0}
        sync = app.engine.sync_engine
        event.listen(sync, "begin", lambda _c: counts.__setitem__("transactions", counts["transactions"] + 1))
        event.listen(
            sync,
            "before_cursor_execute",
            lambda *_a: counts.__setitem__("statements", counts["statements"] + 1),
        )
        task = asyncio.create_task(app.serve(handle_signals=False))
        await asyncio.wait_for(app.ready.wait(), 60)
        stats = None
        if url.startswith("postgresql"):  # one connection of its own, open throughout
            import asyncpg  # type: ignore[import-untyped]
            from sqlalchemy.engine import make_url

            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            stats = await asyncpg.connect(dsn)
        await asyncio.sleep(settle)
        before = dict(counts)
        commits = await _commits(stats)
        await asyncio.sleep(seconds)
        after = dict(counts)
        commits_after = await _commits(stats)
        if stats is not None:
            await stats.close()
        await app.stop()
        await asyncio.wait_for(task, 60)
    result: dict[str, Any] = {k: (after[k] - before[k]) / seconds for k in counts}
    if commits is not None and commits_after is not None:
        result["xact_commit"] = (commits_after - commits - 1) / seconds  # less the measuring query's own
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/idle.sqlite3"
        result = asyncio.run(measure(url, args.seconds, args.settle))
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    line = ", ".join(f"{k} {v:.2f}/s" for k, v in result.items())
    print(f"idle bot on {backend}, {args.seconds:g} s after {args.settle:g} s: {line}")


if __name__ == "__main__":
    main()
