"""``python -m bot`` runs the bot; ``python -m bot keygen`` prints a new ENCRYPTION_KEY;
``python -m bot migrate`` applies database migrations and exits."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

USAGE = "usage: python -m bot [run | migrate | keygen]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "run"
    if command in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    if command == "keygen":
        from cryptography.fernet import Fernet

        print(Fernet.generate_key().decode())
        return 0
    if command not in {"run", "migrate"}:
        print(USAGE, file=sys.stderr)
        return 2

    from pydantic import ValidationError

    from bot.config import Settings, describe_error

    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 2
    if command == "migrate":
        _configure_logging(settings.log_level)
        return asyncio.run(_migrate(settings))
    from bot.app import build
    from bot.config import ConfigurationError

    try:
        app = build(settings)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    asyncio.run(app.serve())
    return 0


def _configure_logging(level: str) -> None:
    from bot import logs

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logs.install()  # names, usernames, phones and message texts never reach the log
    if level != "DEBUG":
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


async def _migrate(settings: Settings) -> int:
    from db import migrate
    from db.engine import create_engine

    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    print("migrations applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
