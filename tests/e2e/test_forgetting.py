"""Her traces, read as someone with the database would read them: canaries (her Telegram name, her
words, a survey answer) are nowhere in plain text — not in the SQLite file, not in a PostgreSQL dump,
not in a DEBUG log — and after "delete my data" no row of any table holds her Telegram id."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, String, Text, cast, func, or_, select
from sqlalchemy.engine import make_url

from bot.services import surveys
from db.models import Base, ConsentEvent, SurveyAnswer
from db.types import EncryptedJSON, EncryptedText, pseudonym
from tests.conftest import Clock
from tests.e2e.people import consent_screens, register_case, team_member

pytestmark = pytest.mark.both_backends  # docs/DEVELOPING.md "Tests": which tests run on both

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


def _canary(kind: str) -> str:
    """A word found nowhere else: letters only (a first name must be letters)."""
    return kind + "".join("абвгдежзиклмнопрстуф"[int(c, 16)] for c in uuid.uuid4().hex[:12])


async def rows_with(session: Any, user_id: int) -> dict[str, int]:
    """Every table of the metadata, every column that may hold a Telegram id (numbers, strings
    such as audit object ids and FSM keys, JSON payloads): how many rows still name her."""
    found: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        conditions = []
        for column in table.columns:
            if isinstance(column.type, EncryptedText | EncryptedJSON):
                continue
            if isinstance(column.type, BigInteger):
                conditions.append(column == user_id)
            elif isinstance(column.type, String | Text):
                conditions.append(column.like(f"%{user_id}%"))
            elif isinstance(column.type, JSON):
                conditions.append(cast(column, String).like(f"%{user_id}%"))
        if not conditions:
            continue
        count = await session.scalar(select(func.count()).select_from(table).where(or_(*conditions)))
        if count:
            found[table.name] = int(count)
    await session.commit()
    return found


async def decrypted_text(session: Any) -> str:
    """Every encrypted column of every table, decrypted: what the key holder could read."""
    parts: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedText | EncryptedJSON)]
        if not columns:
            continue
        for row in (await session.execute(select(*columns))).all():
            parts.extend(str(value) for value in row if value is not None)
    await session.commit()
    return "\n".join(parts)


def stored_bytes(database_url: str) -> str:
    """The database as it lies on disk: the SQLite files, or a plain-text PostgreSQL dump."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        data = b"".join(
            Path(url.database + suffix).read_bytes()
            for suffix in ("", "-wal", "-journal")
            if Path(url.database + suffix).exists()
        )
        return data.decode("utf-8", errors="replace")
    plain = url.set(drivername="postgresql")
    env = dict(os.environ, PGPASSWORD=plain.password or "")
    dump = subprocess.run(
        [
            PG_DUMP,
            "--data-only",
            "-h",
            plain.host or "127.0.0.1",
            "-p",
            str(plain.port or 5432),
            "-U",
            plain.username or "postgres",
            plain.database or "postgres",
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    return dump.stdout.decode("utf-8")


class _Log:
    """Everything logged at DEBUG while the bot runs, through the root logger's handlers."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.root = logging.getLogger()
        self.level = self.root.level

    def __enter__(self) -> _Log:
        self.root.addHandler(self.handler)  # before the bot starts: its start-up installs the filter
        self.root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self.root.removeHandler(self.handler)
        self.root.setLevel(self.level)

    @property
    def text(self) -> str:
        self.handler.flush()
        return self.stream.getvalue()


async def test_her_canaries_and_her_id_after_deletion(start_bot, fake, session, database_url) -> None:
    name, surname, handle = _canary("Имя"), _canary("Фамилия"), "h" + uuid.uuid4().hex[:12]
    words, question, answer = _canary("Слова"), _canary("Вопрос"), _canary("Ответ")
    case_name = _canary("Анкета")
    with _Log() as log:
        clock = Clock()
        app = await start_bot(clock=clock, reminder_poll_seconds=300)
        staff = await team_member(fake, session, "staff")
        curator = await team_member(fake, session, "curator", name="Ирина")
        _code, payload = await register_case(staff, name=case_name, curator=curator.first_name)
        woman = fake.user(name, last_name=surname, username=handle, language_code="en")
        # She agrees, then writes to a person twice.
        await consent_screens(woman, payload)
        await woman.press("Yes, I agree")
        await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
        await woman.press("I agree")
        await woman.expect("Thank you. 🌱", predicate=lambda m: m.has_button("Menu"))
        await curator.expect("taking part: agreed")
        await woman.send("/human")
        await woman.expect("Write to a person", predicate=lambda m: m.has_button("Menu"))
        await woman.send(words)
        await curator.expect(words)
        await woman.send(question)
        await curator.expect(question)
        # A feedback survey: she skips the scales and answers the last question in words.
        assert await surveys.invite(
            session,
            user_id=woman.id,
            survey="general",
            ref="test:" + uuid.uuid4().hex[:8],
            case_id=None,
            due_at=clock.now,
            now=clock.now,
            expire_days=14,
        )
        await session.commit()
        await app.run_reminders()
        await woman.expect("Question 1 of 5", predicate=lambda m: m.has_button("Skip"))
        for n in range(2, 6):
            await woman.press("Skip")
            await woman.expect(f"Question {n} of 5", predicate=lambda m: m.has_button("Skip"))
        await woman.send(answer)
        await woman.expect("Thank you for your answers")

        canaries = (name, surname, handle, words, question, answer, case_name)
        before = stored_bytes(database_url) + log.text
        assert [c for c in canaries if c in before] == []
        assert await rows_with(session, woman.id)  # the scan does see her while she is here
        assert words in await decrypted_text(session)

        await woman.send("/privacy")
        await woman.expect("What we keep", predicate=lambda m: m.has_button("Delete my data"))
        await woman.press("Delete my data")
        await woman.expect("This cannot be undone", predicate=lambda m: m.has_button("Yes, delete"))
        await woman.press("Yes, delete")
        await woman.expect("everything we kept about you is deleted")
        await curator.expect("deleted her data")
        await app.test_stop()  # every write of the bot is done (the dialog state it saves, the trail)

        assert await rows_with(session, woman.id) == {}
        after = stored_bytes(database_url) + log.text
        assert [c for c in canaries if c in after] == []
        if make_url(database_url).get_backend_name() == "postgresql":
            assert str(woman.id) not in stored_bytes(database_url)  # not even her number, in a dump
        readable = await decrypted_text(session)
        # Her words, her name and her Telegram profile are gone even for the key holder; the
        # anonymous answer stays (no row leads from it to her), and so does the first name the team
        # wrote on the case (README, Privacy).
        assert [c for c in (name, surname, handle, words, question) if c in readable] == []
        assert answer in readable
        assert await session.scalar(select(func.count()).where(SurveyAnswer.text.is_not(None))) >= 1
        # The proof stays under her pseudonym: agreed, then withdrawn.
        alias = pseudonym(woman.id)
        decisions = (await session.scalars(select(ConsentEvent.decision).where(ConsentEvent.user_id == alias))).all()
        assert sorted(decisions) == ["agree", "agree", "withdraw", "withdraw"]
