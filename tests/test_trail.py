"""The trail of recent message ids ("hide the chat"): an id is written once however often its screen
is edited, and noted again after her chat's ids were forgotten."""

from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.jobs.trail import MessageTrail
from bot.services import discreet

CHAT = 1_170_000_001


async def test_an_edited_screen_is_noted_once_and_again_after_forgetting(
    engine: AsyncEngine, session_factory: async_sessionmaker
) -> None:
    trail = MessageTrail(session_factory, lambda: datetime.now(UTC))
    inserts: list[int] = []  # values bound by each INSERT: three a row

    def seen(_conn, _cursor, statement: str, parameters, *_args) -> None:
        if "recent_messages" in statement and statement.lstrip().upper().startswith("INSERT"):
            inserts.append(len(parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        trail.note(CHAT, 7)
        await trail.flush()
        for _ in range(5):  # five taps editing the same screen
            trail.note(CHAT, 7)
        trail.note(CHAT, 8)  # a new message
        await trail.flush()
        assert inserts == [3, 3]  # the first note, then only the new id: one row each
        async with session_factory() as session:
            assert await discreet.recent(session, chat_id=CHAT, now=datetime.now(UTC)) == [7, 8]
        await trail.forget(CHAT)
        trail.note(CHAT, 7)  # the screen is edited again after "hide the chat"
        await trail.flush()
        async with session_factory() as session:
            assert await discreet.recent(session, chat_id=CHAT, now=datetime.now(UTC)) == [7]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
        await trail.forget(CHAT)
