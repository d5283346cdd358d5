"""``python -m bot`` runs the bot; ``python -m bot keygen`` prints a new ENCRYPTION_KEY;
``python -m bot migrate`` applies database migrations and exits; ``python -m bot healthcheck`` exits 0 when
the database answers, 1 when it does not (the Docker image's HEALTHCHECK)."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

USAGE = "usage: python -m bot [run | migrate | keygen | healthcheck]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "run"
    if command in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    # Each command imports only what it needs: keygen and healthcheck start in a fraction of the
    # time the bot takes to import aiogram and its screens.
    if command == "keygen":
        from cryptography.fernet import Fernet  # noqa: PLC0415  (deferred: see above)

        print(Fernet.generate_key().decode())
        return 0
    if command not in {"run", "migrate", "healthcheck"}:
        print(USAGE, file=sys.stderr)
        return 2

    from pydantic import ValidationError  # noqa: PLC0415  (deferred: see above)

    from bot.config import Settings, describe_error  # noqa: PLC0415  (deferred: see above)

    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 2
    if command == "healthcheck":
        return asyncio.run(_healthcheck(settings))
    if command == "migrate":
        _configure_logging(settings.log_level)
        return asyncio.run(_migrate(settings))
    # Importing aiogram, the screens and the services makes some 400 000 objects, none of them
    # garbage: the collector would walk them all again and again while they are made (0.7 s of the
    # start-up, measured), and on every full collection while the bot serves (a stall of 0.2-0.3 s
    # for everyone, and a quarter of the CPU per update under load). So it is off until they exist,
    # and then they are moved where it never looks (``gc.freeze``); what serving makes is collected
    # as usual. The few cycles the imports leave (2 000 objects) are not worth a full collection.
    gc.disable()
    try:
        from bot.app import build  # noqa: PLC0415  (deferred: aiogram, the screens, the handlers)
        from bot.config import ConfigurationError  # noqa: PLC0415  (deferred: see above)

        try:
            app = build(settings)
        except ConfigurationError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 2
        gc.freeze()
    finally:
        gc.enable()
    _configure_logging(settings.log_level)
    from aiogram.exceptions import TelegramUnauthorizedError  # noqa: PLC0415  (deferred: see above)

    try:
        asyncio.run(app.serve())
    except TelegramUnauthorizedError:
        print("Telegram refused BOT_TOKEN (401 Unauthorized): check the token @BotFather gave", file=sys.stderr)
        return 2
    return 0


def _configure_logging(level: str) -> None:
    from bot import logs  # noqa: PLC0415  (deferred: see main)

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logs.install()  # names, usernames, phones and message texts never reach the log
    if level != "DEBUG":
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        # APScheduler logs every tick of every job ("Running job", "executed successfully") at INFO;
        # the jobs log what they did themselves. Its warnings (a missed run) and errors still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def _healthcheck(settings: Settings) -> int:
    """0 when the database answers ``SELECT 1`` within 10 s, else 1 with the error's type on one line."""
    from sqlalchemy import text  # noqa: PLC0415  (deferred: see main)

    from db.engine import create_engine  # noqa: PLC0415  (deferred: see main)

    engine = create_engine(settings.database_url)
    try:
        async with asyncio.timeout(10):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is "unhealthy"; the type says which, the message may hold a URL
        print(f"unhealthy: the database did not answer ({type(exc).__name__})", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print("ok")
    return 0


async def _migrate(settings: Settings) -> int:
    from db import migrate  # noqa: PLC0415  (deferred: see main)
    from db.engine import create_engine  # noqa: PLC0415  (deferred: see main)

    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    print("migrations applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
