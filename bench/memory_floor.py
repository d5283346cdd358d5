"""The least memory any bot on this project's required stack can take, next to issue 12's RSS goal.

Imports, in one fresh process with the garbage collector off, what ``bench.bare_bot`` imports
(aiogram), then what the bot cannot do without — SQLAlchemy's async ORM with aiosqlite (the stack),
cryptography's Fernet (data encrypted at rest), pymorphy3 with its Russian dictionary loaded (the
crisis detector reads every message from the first one), aiogram_dialog, APScheduler, Babel and
pydantic-settings (the stack) — and prints VmRSS after each. No line of the project is imported.
Compare the last figure with 1.25 × the bare bot's RSS after its load (``bench.throughput``).

    .venv/bin/python -m bench.memory_floor
"""

from __future__ import annotations

import gc
import importlib
from pathlib import Path
from typing import Any

STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aiogram (what bench.bare_bot imports)", ("aiogram", "aiogram.client.session.aiohttp")),
    ("SQLAlchemy 2 async ORM, aiosqlite", ("sqlalchemy.orm", "sqlalchemy.ext.asyncio", "aiosqlite")),
    ("cryptography's Fernet (data encrypted at rest)", ("cryptography.fernet",)),
    ("pymorphy3 and its Russian dictionary (the crisis detector)", ("pymorphy3",)),
    (
        "aiogram_dialog, APScheduler, Babel, pydantic-settings",
        ("aiogram_dialog", "apscheduler.schedulers.asyncio", "babel.dates", "babel.support", "pydantic_settings"),
    ),
)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def use(module: Any) -> None:
    """What makes a library take its memory: a key made and used, the dictionary loaded and read."""
    name = module.__name__
    if name == "cryptography.fernet":
        module.Fernet(module.Fernet.generate_key()).encrypt(b"x")
    elif name == "pymorphy3":
        module.MorphAnalyzer(lang="ru").parse("хочу")


def main() -> None:
    gc.disable()
    before = None
    for label, modules in STEPS:
        for name in modules:
            use(importlib.import_module(name))
        now = rss_mib()
        added = "" if before is None else f"  (+{now - before:.1f})"
        print(f"{now:7.1f} MiB  {'' if before is None else '+ '}{label}{added}")
        before = now


if __name__ == "__main__":
    main()
