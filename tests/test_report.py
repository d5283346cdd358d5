"""bot/services/report.py and bot/wording/report_files.py: every figure of the monitoring report, checked on a
hand-made set of cases in a region of its own (the test database is shared by the whole run)."""

import io
import itertools
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import report
from bot.services.cases import Rules
from db.models import (
    AccountingCard,
    Agreement,
    AgreementItem,
    Attendance,
    Case,
    Checkin,
    ConsentEvent,
    Meeting,
    Participant,
    Region,
    Role,
    SurveyAnswer,
)
from tests.factories import Ids, audit_rows

_ids = Ids(1_400_000_000, __name__)
person = _ids.person
REGION = "zz_report_r1"
OTHER = "zz_report_r2"
ZONE = "Europe/Moscow"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
NOVEMBER = report.month(2026, 11)
_codes = itertools.count(1)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)  # noon in Moscow


def add_case(session: AsyncSession, region: str, created: date, **kw: object) -> Case:
    case = Case(
        code=f"R{next(_codes):07d}",
        first_name="Анна",
        region_code=region,
        release_date=kw.pop("release_date", date(2026, 1, 1)),
        parole=kw.pop("parole", True),
        programme_type=kw.pop("programme_type", "family_conference"),
        stage=kw.pop("stage", 1),
        stage_since=at(created),
        created_at=at(created),
        **kw,
    )
    session.add(case)
    return case


async def hand_made_set(session: AsyncSession) -> dict[str, Case]:
    """Cases A-C count in November; D (December), E (closed in October) and F (other region) do not."""
    if await session.get(Region, REGION) is not None:
        raise AssertionError("the hand-made set is built once per database")
    session.add(Region(code=REGION, name={"ru": "Отчётный", "en": "Report"}, timezone=ZONE, position=990))
    session.add(Region(code=OTHER, name={"ru": "Другой", "en": "Other"}, timezone=ZONE, position=991))
    await session.flush()
    c: dict[str, Case] = {}
    c["A"] = add_case(
        session,
        REGION,
        date(2026, 10, 20),
        stage=4,
        programme_started=at(date(2026, 10, 21)),
        closed_at=at(date(2026, 11, 10)),
    )
    c["B"] = add_case(
        session,
        REGION,
        date(2026, 11, 2),
        stage=2,
        programme_type="family_reconciliation",
        programme_started=at(date(2026, 11, 3)),
    )
    c["C"] = add_case(
        session,
        REGION,
        date(2026, 11, 5),
        stage=3,
        programme_type="harm_repair",
        programme_started=at(date(2026, 11, 20)),
        closed_at=at(date(2026, 11, 25)),
    )
    c["D"] = add_case(session, REGION, date(2026, 12, 1))
    c["E"] = add_case(session, REGION, date(2026, 9, 1), closed_at=at(date(2026, 10, 15)))
    c["F"] = add_case(session, OTHER, date(2026, 11, 10))
    await session.flush()
    session.add_all(
        [
            AccountingCard(
                case_id=c["A"].id,
                source=1,
                conflict_type=2,
                nature=2,
                result="agreement",
                report_date=date(2026, 11, 11),
                updated_at=NOW,
            ),
            AccountingCard(case_id=c["B"].id, source=5, conflict_type=2, nature=1, updated_at=NOW),
            AccountingCard(case_id=c["C"].id, result="no_change", no_result_reason=2, updated_at=NOW),
        ]
    )
    woman_a = Participant(case_id=c["A"].id, kind="woman", first_name="Анна", approval="approved", created_at=NOW)
    woman_b = Participant(case_id=c["B"].id, kind="woman", first_name="Анна", approval="approved", created_at=NOW)
    session.add_all([woman_a, woman_b])
    await session.flush()
    for participant, purpose, decision, day in (
        (woman_b, "data", "agree", date(2026, 11, 3)),
        (woman_b, "participation", "agree", date(2026, 11, 3)),
        (woman_b, "participation", "withdraw", date(2026, 11, 15)),
        (woman_a, "data", "agree", date(2026, 10, 20)),  # October
    ):
        session.add(
            ConsentEvent(
                participant_id=participant.id,
                user_id=1,
                purpose=purpose,
                decision=decision,
                text_version="v",
                locale="ru",
                at=at(day),
            )
        )
    for case, kind, state, day in (
        (c["B"], "preliminary", "booked", date(2026, 11, 10)),  # held
        (c["B"], "preliminary", "open", date(2026, 11, 11)),  # offered, nobody took it
        (c["B"], "general", "withdrawn", date(2026, 11, 28)),  # an option not chosen
        (c["C"], "general", "called_off", date(2026, 11, 20)),
        (c["B"], "preliminary", "booked", date(2026, 12, 5)),  # December
        (c["C"], "preliminary", "booked", date(2026, 11, 18)),  # she said she cannot come: missed
    ):
        session.add(
            Meeting(
                case_id=case.id,
                kind=kind,
                starts_at=at(day),
                duration_min=60,
                timezone=ZONE,
                format="in_person",
                state=state,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    await session.flush()
    missed = await session.scalar(select(Meeting.id).where(Meeting.case_id == c["C"].id, Meeting.state == "booked"))
    assert missed is not None
    session.add(Attendance(meeting_id=missed, participant_id=woman_a.id, coming=False, at=NOW))
    agreement = Agreement(
        case_id=c["A"].id, valid_until=date(2027, 2, 10), state="active", created_at=at(date(2026, 11, 10))
    )
    session.add(agreement)
    await session.flush()
    item = AgreementItem(agreement_id=agreement.id, position=1, text="звонить", repeat="weekly:6")
    session.add(item)
    await session.flush()
    for day, state in (
        (date(2026, 11, 15), "done"),
        (date(2026, 11, 22), "missed"),
        (date(2026, 11, 29), "more_time"),
        (date(2026, 12, 6), "open"),  # December
    ):
        session.add(Checkin(item_id=item.id, participant_id=woman_a.id, due_date=day, state=state))
    for question, scores, month_ in (
        ("q1", (5, 4, 4, 3, 5), "2026-11"),
        ("q2", (5, 5, 5, 5), "2026-11"),  # four answers: not shown
        ("q1", (1, 1, 1, 1, 1), "2026-10"),  # October
    ):
        for score in scores:
            session.add(
                SurveyAnswer(survey="general", question=question, region_code=REGION, score=score, month=month_)
            )
    await session.commit()
    return c


@pytest.fixture
async def figures(session: AsyncSession) -> report.Figures:
    if await session.get(Region, REGION) is None:
        await hand_made_set(session)
    staff = await person(session, Role.STAFF, scope=REGION)
    return await report.build(session, actor=staff, period=NOVEMBER, region=None, rules=Rules(), now=NOW)


def test_periods() -> None:
    today = date(2026, 12, 3)
    assert report.parse_period(None, today=today) == report.month(2026, 11)
    assert report.parse_period("", today=date(2027, 1, 9)) == report.month(2026, 12)
    assert report.parse_period("2026-11", today=today).key == "2026-11"
    assert report.parse_period("11.2026", today=today).end == date(2026, 12, 1)
    h2 = report.parse_period("2026-h2", today=today)
    assert (h2.start, h2.end, h2.key) == (date(2026, 7, 1), date(2027, 1, 1), "2026-H2")
    assert report.parse_period("H1 2026", today=today).months == [f"2026-0{m}" for m in range(1, 7)]
    for bad in ("2026-13", "nov", "1990-01", "2026-H3"):
        with pytest.raises(report.BadPeriod):
            report.parse_period(bad, today=today)


async def test_case_figures(figures: report.Figures) -> None:
    assert figures.region == REGION
    assert (figures.cases, figures.opened, figures.closed) == (3, 2, 2)
    assert dict(figures.by_stage) == {2: 1}
    assert dict(figures.by_type) == {"family_conference": 1, "family_reconciliation": 1, "harm_repair": 1}
    assert dict(figures.by_source) == {1: 1, 5: 1, None: 1}
    assert dict(figures.by_conflict) == {2: 2, None: 1}
    assert dict(figures.by_nature) == {2: 1, 1: 1, None: 1}
    assert dict(figures.by_result) == {"agreement": 1, "no_change": 1}
    assert dict(figures.by_reason) == {2: 1}


async def test_deadline_figures(figures: report.Figures) -> None:
    # Hand-off: B entered stage 2 on 3.11 (due 5.11: 4.11 is a holiday), C on 20.11 (due 9.11).
    assert figures.deadlines["handoff"] == report.Step(1, 2)
    assert figures.deadlines["handoff"].percent == 50.0
    # Programme: A and C both closed within 30 working days of stage 2.
    assert figures.deadlines["programme"] == report.Step(2, 2)
    # Report: A's on the next working day; C's is missing and was due on 26.11.
    assert figures.deadlines["report"] == report.Step(1, 2)


async def test_consent_meeting_agreement_figures(figures: report.Figures) -> None:
    assert dict(figures.consents) == {
        ("data", "agree"): 1,
        ("participation", "agree"): 1,
        ("participation", "withdraw"): 1,
    }
    assert figures.meetings["offered"] == 5
    assert figures.meetings["held"] == 1
    assert figures.meetings["held_preliminary"] == 1
    assert figures.meetings["held_general"] == 0
    assert figures.meetings["missed"] == 2  # one called off, one she could not come to
    assert figures.meetings["missed_preliminary"] == 1
    assert figures.meetings["called_off"] == 1
    assert figures.agreements == 1
    assert dict(figures.checkins) == {"done": 1, "missed": 1, "more_time": 1}
    assert figures.items_kept == report.Step(1, 3)
    assert figures.items_kept.percent == 33.3


async def test_survey_and_history_figures(figures: report.Figures) -> None:
    assert figures.surveys == [report.QuestionFigure("general", "q1", 5, 4.2)]
    assert figures.history == [
        ("2026-06", 0, 0),
        ("2026-07", 0, 0),
        ("2026-08", 0, 0),
        ("2026-09", 1, 0),
        ("2026-10", 1, 1),
        ("2026-11", 2, 2),
    ]


async def test_half_year(session: AsyncSession, figures: report.Figures) -> None:
    admin = await person(session, Role.ADMIN)
    h2 = await report.build(session, actor=admin, period=report.half(2026, 2), region=REGION, rules=Rules(), now=NOW)
    # A, B, C, E (September to October), and D (1 December).
    assert (h2.cases, h2.opened, h2.closed) == (5, 5, 3)
    assert h2.history[-1] == ("2026-12", 1, 0)


async def test_access_and_audit(session: AsyncSession, figures: report.Figures) -> None:
    staff = await person(session, Role.STAFF, scope=REGION)
    own = await report.build(session, actor=staff, period=NOVEMBER, region=OTHER, rules=Rules(), now=NOW)
    assert own.region == REGION  # staff read their own region, whatever they ask for
    rows = await audit_rows(session, staff.user_id, "report_built")
    assert [(r.object_id, (r.details or {})["period"]) for r in rows] == [(REGION, "2026-11")]

    admin = await person(session, Role.ADMIN)
    other = await report.build(session, actor=admin, period=NOVEMBER, region=OTHER, rules=Rules(), now=NOW)
    assert (other.cases, other.opened) == (1, 1)
    everything = await report.build(session, actor=admin, period=NOVEMBER, region=None, rules=Rules(), now=NOW)
    assert everything.region is None and everything.cases >= 4
    with pytest.raises(report.UnknownRegion):
        await report.build(session, actor=admin, period=NOVEMBER, region="nowhere", rules=Rules(), now=NOW)

    for refused in (await person(session, Role.STAFF), await person(session, Role.FACILITATOR, scope=REGION)):
        with pytest.raises(report.Refused):
            await report.build(session, actor=refused, period=NOVEMBER, region=REGION, rules=Rules(), now=NOW)
        assert len(await audit_rows(session, refused.user_id, "denied")) == 1


async def test_workbook_and_chart(figures: report.Figures) -> None:
    from bot.i18n import create_i18n
    from bot.wording.report_files import chart_png, workbook_bytes
    from tests.conftest import CONTENT

    i18n = create_i18n(CONTENT, "en")
    with i18n.context(), i18n.use_locale("en"):
        data = workbook_bytes(figures, "en")
        png = chart_png(figures)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "Cases", "Results", "Consents and meetings", "Surveys", "By month"]
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["cases open during the period"][0] == 3
    assert summary["opened in the period"][0] == 2
    assert summary["closed in the period"][0] == 2
    assert summary["hand the case to the facilitator"][:3] == (1, 2, 50)
    assert summary["write the report"][:3] == (1, 2, 50)
    assert summary["items kept, %"][0] == 33.3
    results = [row for row in book["Results"].iter_rows(values_only=True) if row and row[0] == "agreement"]
    assert results == [("agreement", "reconciliation: agreement signed", 1, 50)]
    surveys = list(book["Surveys"].iter_rows(values_only=True))
    assert ("general", "q1", 5, 4.2) in surveys and not any(r[1] == "q2" for r in surveys)
    text = "\n".join(str(cell) for ws in book for row in ws.iter_rows(values_only=True) for cell in row)
    assert "Анна" not in text  # no names, ever
    assert png.startswith(b"\x89PNG") and len(png) > 1000
