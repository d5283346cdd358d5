"""How long the monthly monitoring report takes for a big region: figures, XLSX and PNG.

Fills a fresh, migrated SQLite file (or the PostgreSQL database given) with N cases of one region
spread over a year, each with its accounting card, two participants, consent decisions, two
meetings and, for every third, an agreement with weekly check-ins; then times ``report.build``
and the two files for one month and one half-year, as ``/report`` does; fails above 5 s.

    .venv/bin/python -m bench.report                 # 10 000 cases, SQLite
    .venv/bin/python -m bench.report --cases 50000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import cast

from cryptography.fernet import Fernet
from sqlalchemy import Table, insert, select

from bot.services import report
from bot.services.cases import Rules
from bot.services.users import Profile
from db import migrate
from db.engine import create_engine, create_session_factory
from db.models import (
    AccountingCard,
    Agreement,
    AgreementItem,
    Base,
    Case,
    CaseResult,
    Checkin,
    ConsentEvent,
    Meeting,
    Participant,
    ProgrammeType,
    Region,
    Role,
    SurveyAnswer,
)
from db.types import configure_encryption

REGION = "bench_region"
ZONE = "Asia/Yekaterinburg"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TYPES = tuple(t.value for t in ProgrammeType)
RESULTS = tuple(r.value for r in CaseResult)


def table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


async def fill(url: str, cases: int) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    rng = random.Random(14)
    name = "Анна"  # encrypted by the column type on insert
    async with factory() as session:
        session.add(Region(code=REGION, name={"ru": "Бенч", "en": "Bench"}, timezone=ZONE, position=999))
        await session.commit()
    start = NOW - timedelta(days=365)
    batch = 2000
    for first in range(0, cases, batch):
        rows = []
        for n in range(first, min(cases, first + batch)):
            created = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            started = created + timedelta(days=rng.randrange(1, 6))
            closed = started + timedelta(days=rng.randrange(10, 60)) if rng.random() < 0.7 else None
            if closed is not None and closed > NOW:
                closed = None
            rows.append(
                {
                    "code": f"B{n:07d}",
                    "first_name": name,
                    "region_code": REGION,
                    "release_date": created.date(),
                    "parole": rng.random() < 0.5,
                    "programme_type": rng.choice(TYPES),
                    "stage": rng.randrange(1, 6),
                    "stage_since": started,
                    "programme_started": started if started < NOW else None,
                    "closed_at": closed,
                    "created_at": created,
                }
            )
        async with factory() as session:
            conn = await session.connection()
            await conn.execute(insert(table(Case)), rows)
            ids = (
                await session.execute(
                    select(Case.id, Case.created_at, Case.closed_at).where(Case.code.in_([r["code"] for r in rows]))
                )
            ).all()
            cards, people = [], []
            for case_id, created_at, closed_at in ids:
                cards.append(
                    {
                        "case_id": case_id,
                        "source": rng.randrange(1, 10),
                        "conflict_type": rng.randrange(1, 14),
                        "nature": rng.randrange(1, 3),
                        "earlier": rng.randrange(1, 4),
                        "result": rng.choice(RESULTS) if closed_at else None,
                        "report_date": (closed_at + timedelta(days=rng.randrange(0, 3))).date() if closed_at else None,
                        "updated_at": NOW,
                    }
                )
                for kind in ("woman", "relative"):
                    people.append(
                        {
                            "case_id": case_id,
                            "kind": kind,
                            "first_name": name,
                            "approval": "approved",
                            "created_at": created_at,
                        }
                    )
            await conn.execute(insert(table(AccountingCard)), cards)
            await conn.execute(insert(table(Participant)), people)
            participants = (
                await session.execute(
                    select(Participant.id, Participant.case_id, Case.created_at)
                    .join(Case, Case.id == Participant.case_id)
                    .where(Participant.case_id.in_([i for i, _, _ in ids]))
                )
            ).all()
            consents, meetings = [], []
            for pid, _case_id, created_at in participants:
                for purpose in ("data", "participation"):
                    consents.append(
                        {
                            "participant_id": pid,
                            "user_id": 1,
                            "purpose": purpose,
                            "decision": "agree" if rng.random() < 0.9 else "withdraw",
                            "text_version": "v",
                            "locale": "ru",
                            "at": created_at + timedelta(days=1),
                        }
                    )
            for case_id, created_at, _ in ids:
                for kind, state, days in (("preliminary", "booked", 3), ("general", "fixed", 12)):
                    meetings.append(
                        {
                            "case_id": case_id,
                            "kind": kind,
                            "starts_at": created_at + timedelta(days=days),
                            "duration_min": 60,
                            "timezone": ZONE,
                            "format": "in_person",
                            "state": state,
                            "created_at": created_at,
                            "updated_at": created_at,
                        }
                    )
            await conn.execute(insert(table(ConsentEvent)), consents)
            await conn.execute(insert(table(Meeting)), meetings)
            for case_id, created_at, _ in ids[::3]:
                agreement_id = (
                    await conn.execute(
                        insert(table(Agreement)).returning(table(Agreement).c.id),
                        {
                            "case_id": case_id,
                            "valid_until": (created_at + timedelta(days=90)).date(),
                            "state": "active",
                            "created_at": created_at + timedelta(days=12),
                        },
                    )
                ).scalar_one()
                item_id = (
                    await conn.execute(
                        insert(table(AgreementItem)).returning(table(AgreementItem).c.id),
                        {"agreement_id": agreement_id, "position": 1, "text": name, "repeat": "weekly:6"},
                    )
                ).scalar_one()
                woman = next(pid for pid, cid, _ in participants if cid == case_id)
                await conn.execute(
                    insert(table(Checkin)),
                    [
                        {
                            "item_id": item_id,
                            "participant_id": woman,
                            "due_date": (created_at + timedelta(days=12 + 7 * w)).date(),
                            "state": rng.choice(("done", "done", "missed", "more_time")),
                        }
                        for w in range(1, 9)
                    ],
                )
            await session.commit()
    async with factory() as session:
        answers = [
            {"survey": "general", "question": "q1", "region_code": REGION, "score": rng.randrange(1, 6), "month": m}
            for m in ("2026-10", "2026-11")
            for _ in range(200)
        ]
        await (await session.connection()).execute(insert(table(SurveyAnswer)), answers)
        await session.commit()
    await engine.dispose()


async def measure(url: str, period: report.Period) -> tuple[report.Figures, float, float, float]:
    from bot.i18n import create_i18n
    from bot.wording.report_files import chart_png, workbook_bytes
    from tests.conftest import CONTENT

    engine = create_engine(url)
    factory = create_session_factory(engine)
    admin = Profile(1, Role.ADMIN, None, None, None, NOW, False, False)
    began = time.perf_counter()
    async with factory() as session:
        figures = await report.build(session, actor=admin, period=period, region=REGION, rules=Rules(), now=NOW)
    built = time.perf_counter()
    i18n = create_i18n(CONTENT, "ru")
    with i18n.context(), i18n.use_locale("ru"):
        workbook_bytes(figures, "ru")
        xlsx_done = time.perf_counter()
        chart_png(figures)
    done = time.perf_counter()
    await engine.dispose()
    return figures, built - began, xlsx_done - built, done - xlsx_done


async def main(cases: int, database_url: str | None) -> int:
    configure_encryption([Fernet.generate_key().decode()])
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        began = time.perf_counter()
        await fill(url, cases)
        print(f"filled {cases} cases in {time.perf_counter() - began:.1f} s")
        worst = 0.0
        for period in (report.month(2026, 11), report.half(2026, 2)):
            figures, query, xlsx, png = await measure(url, period)
            total = query + xlsx + png
            worst = max(worst, total)
            print(
                f"report {period.key}: {figures.cases} cases in the period, {figures.closed} closed; "
                f"figures {query:.2f} s, xlsx {xlsx:.2f} s, png {png:.2f} s, total {total:.2f} s"
            )
    return 0 if worst < 5 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.cases, args.database_url)))
