"""The accounting card filled with buttons, a case closed with its result, the forms to sign as DOCX, and
/report as an XLSX workbook and a PNG chart — all through the running bot and the fake Bot API."""

import io
from datetime import UTC, datetime

import docx
from openpyxl import load_workbook

from fake_bot_api import BotMessage
from tests.conftest import Clock
from tests.e2e.people import register_case, team_member


def is_document(suffix: str):
    def check(message: BotMessage) -> bool:
        return message.document is not None and message.document[0].endswith(suffix)

    return check


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


async def test_card_closing_documents_and_report(start_bot, fake, session, monkeypatch) -> None:
    await start_bot(clock=Clock(datetime(2026, 11, 18, 9, 0, tzinfo=UTC)))
    staff = await team_member(fake, session, "staff")
    facilitator = await team_member(fake, session, "facilitator", name="Ирина")
    code, _ = await register_case(staff, facilitator=facilitator.first_name)

    # The card: what the case knows is there already; codes are pressed, the rest typed.
    await staff.press("Accounting card")
    card = await staff.expect("Accounting card · case", predicate=lambda m: m.has_button("Territory"))
    assert "Family conference (with the extended family)".lower() in card.text.lower()
    await staff.press("Source of information about the people involved")
    await staff.expect("Appendix 6, item 4", predicate=lambda m: m.has_button("5 · came on their own"))
    await staff.press("5 · came on their own")
    await staff.expect("5 · came on their own", predicate=lambda m: m.has_button("Institution"))
    await staff.press("Institution")
    await staff.expect("Type the institution")
    await staff.send("КЦСОН Ленинского района")
    await staff.expect("Saved.")
    await staff.expect("КЦСОН Ленинского района", predicate=lambda m: m.has_button("Date of the report"))
    await staff.press("Date of the situation")
    await staff.expect("Type the date of the situation")
    await staff.send("not a date")
    await staff.expect("does not fit this field")
    await staff.send("01.11.2026")
    await staff.expect("Saved.")
    await staff.expect("November 1, 2026", predicate=lambda m: m.has_button("Back"))
    await staff.press("Back")
    await staff.expect(f"Case {code}", predicate=lambda m: m.has_button("Close the case"))

    # The protocol's free fields, typed once; skipped ones stay blank.
    await staff.press("Meeting protocol")
    await staff.expect("Protocol, 1 of 6", predicate=lambda m: m.has_button("Skip ➡️"))
    await staff.send("Хочет жить с детьми")
    await staff.expect("Protocol, 2 of 6")
    await staff.send("Мама готова помочь")
    await staff.expect("Protocol, 3 of 6")
    await staff.send("Договорились созваниваться по воскресеньям")
    await staff.expect("Protocol, 4 of 6", predicate=lambda m: m.has_button("Skip ➡️"))
    await staff.send("Говорить, а не молчать")
    for n in (5, 6):
        await staff.expect(f"Protocol, {n} of 6", predicate=lambda m: m.has_button("Skip ➡️"))
        await staff.press("Skip ➡️")
    await staff.expect("The protocol is saved")
    await staff.expect(f"Case {code}", predicate=lambda m: m.has_button("Close the case"))

    # Closing at stage 1, with the result and the reason.
    await staff.press("Close the case")
    await staff.expect("What is the result", predicate=lambda m: m.has_button("the situation did not change"))
    await staff.press("the situation did not change")
    await staff.expect(
        "no positive result", predicate=lambda m: m.has_button("4 · one of the people cannot be reached")
    )
    await staff.press("4 · one of the people cannot be reached")
    await staff.expect("The case is closed with its result")
    await staff.expect("Closed: the situation did not change", predicate=lambda m: m.has_button("Documents"))
    await staff.send("/overdue")
    await staff.expect("Nothing is overdue")  # the report is due tomorrow

    # The forms, to the one who asked and to the facilitator.
    await staff.press("Documents")
    received = {}
    for person in (staff, facilitator):
        for form in ("agreement", "protocol", "report"):
            message = await person.expect(predicate=is_document(f"{form}_{code}.docx"))
            assert message.document is not None
            received[(person.id, form)] = docx_text(message.document[1])
    protocol = received[(facilitator.id, "protocol")]
    assert "Хочет жить с детьми" in protocol and "Как сделать, чтобы подобное не повторилось?" in protocol
    assert "Анна" in received[(staff.id, "agreement")]  # the parties sign it
    report_doc = received[(staff.id, "report")]
    assert code in report_doc and "ситуация не изменилась" in report_doc
    assert "личное обращение" in report_doc and "КЦСОН Ленинского района" in report_doc
    assert "Анна" not in report_doc  # the report names no participant

    # The monthly report: a workbook and a chart (and a word first when it takes a while).
    monkeypatch.setattr("handlers.reports.PROGRESS_AFTER", 0)
    await staff.send("/report 2026-11")
    await staff.expect("Preparing the report")
    workbook = await staff.expect(predicate=is_document(".xlsx"))
    assert "Monitoring report for 2026-11" in workbook.text
    chart = await staff.expect(predicate=is_document(".png"))
    assert workbook.document is not None and chart.document is not None
    book = load_workbook(io.BytesIO(workbook.document[1]))
    assert book.sheetnames[:3] == ["Summary", "Cases", "Results"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["region"] == "altai_krai"
    assert summary["closed in the period"] >= 1
    assert chart.document[1].startswith(b"\x89PNG")

    await staff.send("/report someday")
    await staff.expect("Which period?")
    nobody = await team_member(fake, session, "curator", name="Вера")
    await nobody.send("/report 2026-11")
    await nobody.expect("only for the programme team")
    assert not [m for m in nobody.messages if m.document is not None]
