"""Revision 0008_i19: every reminder gets its ``once_key``; twins left by the old race are kept apart."""

from pathlib import Path

from sqlalchemy import text

from bot.services import reminders
from db import migrate
from db.engine import create_engine
from tests.conftest import fresh_database


async def test_existing_reminders_get_their_key(backend: str, tmp_path: Path) -> None:
    engine = create_engine(await fresh_database(backend, tmp_path))
    insert = text(
        "INSERT INTO reminders (kind, recipient_id, due_at, state, attempts, payload, created_at) "
        "VALUES ('checkin', 1, '2026-12-01 03:00:00', 'pending', 0, :payload, '2026-11-20 05:00:00')"
    )
    try:
        await migrate.upgrade(engine, "0007")
        async with engine.begin() as conn:
            # Without a meeting the old key did not hold: two rows for one message could exist.
            for payload in ('{"checkin": 1, "step": "day"}', '{"step": "day", "checkin": 1}', '{"checkin": 2}'):
                await conn.execute(insert, {"payload": payload})
        await migrate.upgrade(engine, "0008_i19")
        async with engine.connect() as conn:
            keys = (await conn.execute(text("SELECT once_key FROM reminders ORDER BY id"))).scalars().all()
        assert keys[0] == reminders.once_key(None, {"checkin": 1, "step": "day"})
        assert keys[1] not in (keys[0], None)  # the twin: kept, under a key of its own
        assert keys[2] == reminders.once_key(None, {"checkin": 2})
        async with engine.begin() as conn:
            # From now on the same reminder is refused by the key, also without a meeting.
            clash = text(
                "INSERT INTO reminders (kind, recipient_id, due_at, state, attempts, once_key, created_at) "
                "VALUES ('checkin', 1, '2026-12-01 03:00:00', 'pending', 0, :key, '2026-11-20 05:00:00') "
                "ON CONFLICT DO NOTHING"
            )
            assert (await conn.execute(clash, {"key": keys[2]})).rowcount == 0
        await migrate.downgrade(engine, "0007")
    finally:
        await engine.dispose()
