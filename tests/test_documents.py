"""bot/services/documents.py: the agreement, the protocol and the report filled from the case."""

import io
from datetime import date, timedelta

import docx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import accounting, cases, documents
from db.models import Agreement, AgreementItem, ItemResponsible, Participant, Role
from tests.factories import NOW, REGION_B, Ids, audit_rows, ensure_regions, register

_ids = Ids(1_420_000_000, __name__)
person = _ids.person


def text_of(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


async def test_forms_are_filled_from_the_case(session: AsyncSession) -> None:
    await ensure_regions(session)
    # Region B: team people of region A would crowd the end-to-end tests' pickers.
    staff = await person(session, Role.STAFF, scope=REGION_B)
    facilitator = await person(session, Role.FACILITATOR, name="Ирина Петровна", scope=REGION_B)
    curator = await person(session, Role.CURATOR, scope=REGION_B)
    registered = await register(
        session,
        staff,
        facilitator_id=facilitator.user_id,
        curator_id=curator.user_id,
        first_name="Светлана",
        region_code=REGION_B,
    )
    mother = Participant(
        case_id=registered.case_id,
        kind="relative",
        first_name="Галина",
        relation="mother",
        approval="approved",
        created_at=NOW,
    )
    session.add(mother)
    agreement = Agreement(
        case_id=registered.case_id,
        recorded_by=facilitator.user_id,
        valid_until=date(2027, 2, 20),
        consequences="Собираемся ещё раз с ведущей",
        state="active",
        created_at=NOW,
    )
    session.add(agreement)
    await session.flush()
    calls = AgreementItem(agreement_id=agreement.id, position=1, text="Звонить маме по воскресеньям", repeat="weekly:6")
    visit = AgreementItem(
        agreement_id=agreement.id, position=2, text="Забрать детей на выходные", due_date=date(2026, 12, 5)
    )
    session.add_all([calls, visit])
    await session.flush()
    session.add_all(
        [
            ItemResponsible(item_id=calls.id, participant_id=registered.woman_participant_id),
            ItemResponsible(item_id=visit.id, participant_id=mother.id),
        ]
    )
    await session.commit()
    await accounting.save_protocol(
        session, actor=facilitator, case_id=registered.case_id, fields={"agreed": "Договорились о звонках"}, now=NOW
    )
    await accounting.set_field(
        session, actor=facilitator, case_id=registered.case_id, key="source", raw="7", now=NOW, today=NOW.date()
    )
    await accounting.close(
        session, actor=facilitator, case_id=registered.case_id, result="agreement", reason=None, now=NOW
    )

    context = await documents.context_of(
        session, actor=facilitator, case_id=registered.case_id, now=NOW + timedelta(hours=1)
    )
    files = {d.form: d for d in documents.render_all(context)}
    assert set(files) == {"agreement", "protocol", "report"}
    assert files["report"].filename == f"report_{context['code']}.docx"

    agreement_text = text_of(files["agreement"].content)
    assert "Светлана — участница программы" in agreement_text and "Галина — мать" in agreement_text
    assert "Звонить маме по воскресеньям (регулярно)" in agreement_text
    assert "Забрать детей на выходные (до 05.12.2026)" in agreement_text
    assert "Собираемся ещё раз с ведущей" in agreement_text
    assert "Договор заключён 20.11.2026 сроком по 20.02.2027." in agreement_text
    assert "Ирина Петровна" in agreement_text

    protocol_text = text_of(files["protocol"].content)
    assert "Договорились о звонках" in protocol_text and "Светлана" in protocol_text

    report_text = text_of(files["report"].content)
    assert "заключён 20.11.2026, действует по 20.02.2027" in report_text
    assert "примирение сторон: заключён договор" in report_text
    assert "родители (законные представители), другие члены семьи" in report_text
    assert "Светлана" not in report_text and "Галина" not in report_text
    assert "{{" not in report_text + agreement_text + protocol_text
    assert len(await audit_rows(session, facilitator.user_id, "documents_made")) == 1

    with pytest.raises(cases.Refused):
        await documents.context_of(session, actor=curator, case_id=registered.case_id, now=NOW)
    assert len(await audit_rows(session, curator.user_id, "denied")) == 1
