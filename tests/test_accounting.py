"""bot/services/accounting.py: the accounting card, closing a case with its result, the report deadline."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import accounting, cases
from db.models import AccountingCard, Case, ProgrammeType, Role
from tests.factories import NOW, REGION_A, REGION_B, RULES, Ids, audit_rows, ensure_regions, register

_ids = Ids(1_410_000_000, __name__)
person = _ids.person
TODAY = date(2026, 11, 20)


def test_codes_follow_the_source() -> None:
    books = accounting.load()
    assert set(books) == {"ru", "en"}
    ru, en = books["ru"], books["en"]
    assert len(ru["source"].codes) == 9
    assert len(ru["conflict_type"].codes) == 13
    assert len(ru["programme_type"].codes) == 7
    assert len(ru["earlier"].codes) == 3
    assert len(ru["no_result_reason"].codes) == 5
    assert len(ru["nature"].codes) == 2
    assert len(ru["result"].codes) == 7
    assert ru["source"].codes["8"] == "«почтовый ящик»"
    assert ru["result"].codes["without_meeting"] == "разрешение ситуации без примирительной встречи"
    for key in accounting.CODED:
        assert ru[key].section.startswith("Приложение 6, п.")
        assert en[key].section.startswith("Appendix 6, item")
    assert accounting.words("nature", 1, "en") == "criminal"
    assert accounting.words("nature", None, "en") is None


def test_codes_that_disagree_are_refused(tmp_path: Path) -> None:
    source = Path(accounting.DEFAULT_DIR)
    (tmp_path / "ru.yaml").write_text((source / "ru.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    en = (source / "en.yaml").read_text(encoding="utf-8").replace('    9: "other"\n', "")
    (tmp_path / "en.yaml").write_text(en, encoding="utf-8")
    with pytest.raises(accounting.CodesError, match="source"):
        accounting.load(tmp_path)


def test_clean() -> None:
    assert accounting.clean("source", "3", today=TODAY) == 3
    assert accounting.clean("result", "no_change", today=TODAY) == "no_change"
    assert accounting.clean("territory", "  Пермь,   Ленинский район ", today=TODAY) == "Пермь, Ленинский район"
    assert accounting.clean("situation_date", "01.11.2026", today=TODAY) == date(2026, 11, 1)
    assert accounting.clean("participants", "3", today=TODAY) == 3
    for key, raw in (
        ("source", "10"),
        ("source", "x"),
        ("conflict_type", "0"),
        ("territory", ""),
        ("territory", "x" * 121),
        ("report_date", "32.11.2026"),
        ("participants", "-1"),
        ("participants", "51"),
        ("offence", "1"),
    ):
        with pytest.raises(cases.Invalid):
            accounting.clean(key, raw, today=TODAY)


async def test_card_is_prefilled_and_filled_with_buttons(session: AsyncSession) -> None:
    await ensure_regions(session)
    # Region B: team people of region A would crowd the end-to-end tests' pickers.
    staff = await person(session, Role.STAFF, scope=REGION_B)
    facilitator = await person(session, Role.FACILITATOR, scope=REGION_B)
    registered = await register(session, staff, facilitator_id=facilitator.user_id, region_code=REGION_B)
    await cases.move_stage(
        session, actor=facilitator, case_id=registered.case_id, to_stage=2, reason="r", now=NOW + timedelta(days=1)
    )
    card = await accounting.open_card(session, actor=facilitator, case_id=registered.case_id, now=NOW)
    assert card.values["handed_date"] == date(2026, 11, 21)  # the day of stage 2, in Moscow
    assert card.values["territory"] == "Тестовый регион"
    assert card.values["participants"] == 1  # the woman
    assert card.values["programme_type"] == ProgrammeType.FAMILY_CONFERENCE.value
    assert card.facilitator_id == facilitator.user_id and card.can_edit
    assert len(await audit_rows(session, facilitator.user_id, "card_viewed")) == 1

    for key, raw, stored in (
        ("source", "7", 7),
        ("conflict_type", "2", 2),
        ("nature", "2", 2),
        ("earlier", "1", 1),
        ("institution", "КЦСОН", "КЦСОН"),
        ("situation_date", "15.10.2026", date(2026, 10, 15)),
        ("representatives", "0", 0),
        ("programme_type", "family_reconciliation", "family_reconciliation"),
    ):
        value = await accounting.set_field(
            session, actor=facilitator, case_id=registered.case_id, key=key, raw=raw, now=NOW, today=TODAY
        )
        assert value == stored
    row = await session.get(AccountingCard, registered.case_id)
    case = await session.get(Case, registered.case_id)
    assert row is not None and case is not None
    assert (row.source, row.conflict_type, row.nature, row.earlier) == (7, 2, 2, 1)
    assert row.situation_date == date(2026, 10, 15) and row.updated_by == facilitator.user_id
    assert case.programme_type == "family_reconciliation"
    await session.commit()
    edits = await audit_rows(session, facilitator.user_id, "card_edited")
    assert [(e.details or {})["field"] for e in edits][:2] == ["source", "conflict_type"]

    with pytest.raises(cases.Invalid):  # the result is given by closing the case
        await accounting.set_field(
            session, actor=facilitator, case_id=registered.case_id, key="result", raw="agreement", now=NOW, today=TODAY
        )


async def test_who_fills_the_card(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_B)
    curator = await person(session, Role.CURATOR, scope=REGION_B)
    registered = await register(session, staff, curator_id=curator.user_id, region_code=REGION_B)
    other_staff = await person(session, Role.STAFF, scope=REGION_A)
    for actor in (curator, other_staff):
        with pytest.raises(cases.Refused):
            await accounting.set_field(
                session, actor=actor, case_id=registered.case_id, key="source", raw="1", now=NOW, today=TODAY
            )
        with pytest.raises(cases.Refused):
            await accounting.close(
                session, actor=actor, case_id=registered.case_id, result="agreement", reason=None, now=NOW
            )
        assert len(await audit_rows(session, actor.user_id, "denied")) == 2
    card = await accounting.open_card(session, actor=curator, case_id=registered.case_id, now=NOW)
    assert not card.can_edit  # the curator reads it


async def test_closing_at_any_stage_with_result_and_report_deadline(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await register(session, staff)  # stage 1
    with pytest.raises(cases.Invalid) as missing:
        await accounting.close(
            session, actor=staff, case_id=registered.case_id, result="no_change", reason=None, now=NOW
        )
    assert missing.value.field == "no_result_reason"
    with pytest.raises(cases.Invalid):
        await accounting.close(session, actor=staff, case_id=registered.case_id, result="won", reason=None, now=NOW)
    await accounting.close(session, actor=staff, case_id=registered.case_id, result="no_change", reason=1, now=NOW)
    case = await session.get(Case, registered.case_id)
    row = await session.get(AccountingCard, registered.case_id)
    assert case is not None and row is not None
    assert case.closed_at == NOW and case.stage == 1
    assert (row.result, row.no_result_reason) == ("no_change", 1)
    await session.commit()
    closed = await audit_rows(session, staff.user_id, "case_closed")
    details = [e.details or {} for e in closed]
    assert [(d["result"], d["reason"], d["stage"]) for d in details] == [("no_change", 1, 1)]

    # The report is due one working day after the closing (Friday 20.11 → Monday 23.11).
    view = await cases.open_case(session, actor=staff, case_id=registered.case_id, rules=RULES, now=NOW)
    assert view.deadline is not None and (view.deadline.kind, view.deadline.due) == ("report", date(2026, 11, 23))
    assert view.closed_at == NOW and view.result == "no_change"
    assert registered.case_id not in [
        line.id for line in await cases.list_cases(session, actor=staff, rules=RULES, now=NOW, only_overdue=True)
    ]
    later = NOW + timedelta(days=4)  # Tuesday 24.11
    overdue = await cases.list_cases(session, actor=staff, rules=RULES, now=later, only_overdue=True)
    mine = [line for line in overdue if line.id == registered.case_id]
    assert mine and mine[0].deadline is not None and mine[0].deadline.kind == "report"
    assert registered.case_id not in [
        line.id for line in await cases.list_cases(session, actor=staff, rules=RULES, now=later)
    ]

    await accounting.set_field(
        session, actor=staff, case_id=registered.case_id, key="report_date", raw="24.11.2026", now=later, today=TODAY
    )
    overdue = await cases.list_cases(session, actor=staff, rules=RULES, now=later, only_overdue=True)
    assert registered.case_id not in [line.id for line in overdue]

    # A positive result drops a reason given by mistake; the closing moment stays the first one.
    await accounting.close(
        session, actor=staff, case_id=registered.case_id, result="without_meeting", reason=3, now=later
    )
    row = await session.get(AccountingCard, registered.case_id)
    case = await session.get(Case, registered.case_id)
    assert row is not None and case is not None
    assert (row.result, row.no_result_reason, case.closed_at) == ("without_meeting", None, NOW)
    await session.commit()


async def test_protocol_fields(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await register(session, staff)
    await accounting.save_protocol(
        session,
        actor=staff,
        case_id=registered.case_id,
        fields={"position_1": " хочет видеть детей ", "no_repeat": "звонить", "nonsense": "x", "further": " "},
        now=NOW,
    )
    row = await session.get(AccountingCard, registered.case_id)
    assert row is not None and row.protocol == {"position_1": "хочет видеть детей", "no_repeat": "звонить"}
    await session.commit()


async def test_a_closed_case_sends_no_meeting_reminder(session: AsyncSession) -> None:
    from bot.services import meetings
    from db.models import Meeting

    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await register(session, staff)
    meeting = Meeting(
        case_id=registered.case_id,
        kind="general",
        starts_at=NOW + timedelta(days=3),
        duration_min=60,
        timezone="Asia/Barnaul",
        format="in_person",
        state="fixed",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(meeting)
    await session.commit()
    target = await meetings.reminder_target(session, meeting_id=meeting.id, recipient_id=staff.user_id, now=NOW)
    assert target is not None
    await accounting.close(session, actor=staff, case_id=registered.case_id, result="deepened", reason=2, now=NOW)
    assert await meetings.reminder_target(session, meeting_id=meeting.id, recipient_id=staff.user_id, now=NOW) is None
    # Other tests count every fixed general meeting in the shared database: leave none behind.
    await session.delete(await session.get(Meeting, meeting.id))
    await session.commit()


async def test_protocol_missing_once_an_agreement_is_recorded(session: AsyncSession) -> None:
    from db.models import Agreement

    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await register(session, staff)
    assert not await accounting.protocol_missing(session, case_id=registered.case_id)
    session.add(Agreement(case_id=registered.case_id, valid_until=date(2027, 2, 1), state="active", created_at=NOW))
    await session.commit()
    assert await accounting.protocol_missing(session, case_id=registered.case_id)
    await accounting.save_protocol(session, actor=staff, case_id=registered.case_id, fields={"agreed": "да"}, now=NOW)
    assert not await accounting.protocol_missing(session, case_id=registered.case_id)
