"""The monitoring report as files: an XLSX workbook (openpyxl) and a PNG chart (matplotlib).

Labels go through gettext (the caller sets the reader's locale), code words come from
``content/accounting``. matplotlib is imported inside ``chart_png`` only: it is slow to import
and the bot must start fast.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aiogram.utils.i18n import gettext
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import N_
from bot.services import accounting
from bot.services.report import STEPS, Figures, Step
from bot.wording.labels import DEADLINES, STAGE_NAMES, label

CONSENT_PURPOSES = {"data": N_("personal data"), "participation": N_("taking part in the meetings")}
CONSENT_DECISIONS = {
    "agree": N_("given"),
    "decline": N_("declined"),
    "ask": N_("wants to ask first"),
    "withdraw": N_("withdrawn"),
}
CHECKIN_STATES = {
    "done": N_("kept"),
    "missed": N_("missed, no answer"),
    "more_time": N_("asked for more time"),
    "help": N_("asked for help"),
    "open": N_("not answered yet"),
}


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _heading(sheet: Worksheet, text: str) -> None:
    if sheet.max_row > 1 or sheet.cell(1, 1).value is not None:
        sheet.append([])
    sheet.append([text])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True)


def _counts(sheet: Worksheet, title: str, key: str | None, counts: Any, order: Iterable[Any], locale: str) -> None:
    """A block: code, its words, count, share of the total."""
    _heading(sheet, title)
    sheet.append([gettext("code"), gettext("meaning"), gettext("count"), "%"])
    whole = sum(counts.values())
    for code in order:
        n = counts.get(code, 0)
        if key is None:
            words = label(STAGE_NAMES, code)
        elif code is None:
            words = gettext("not filled in")
        else:
            words = accounting.words(key, code, locale) or ""
        sheet.append(["" if code is None else code, words, n, _percent(n, whole)])
    sheet.append(["", gettext("total"), whole, 100.0 if whole else None])


def _codes(key: str, locale: str, counts: Any) -> list[Any]:
    codes: list[Any] = list(accounting.field(key, locale).codes)
    if key not in ("programme_type", "result"):
        codes = [int(c) for c in codes]
    return [*codes, None] if counts.get(None) else codes


def workbook_bytes(figures: Figures, locale: str) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    _summary(summary, figures)
    _cases_and_results(book, figures, locale)
    _consents_and_meetings(book, figures)
    _surveys_and_months(book, figures)
    for ws in book.worksheets:
        ws.column_dimensions["A"].width = 12 if ws.title != summary.title else 48
        ws.column_dimensions["B"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _summary(summary: Any, figures: Figures) -> None:
    summary.title = gettext("Summary")[:31]
    region = figures.region or gettext("all regions")
    summary.append([gettext("Monitoring report on restorative programmes")])
    summary.cell(1, 1).font = Font(bold=True)
    summary.append([gettext("period"), figures.period.key])
    summary.append([gettext("region"), region])
    summary.append([gettext("No names: codes, counts and percentages only.")])
    _heading(summary, gettext("Cases"))
    summary.append([gettext("cases open during the period"), figures.cases])
    summary.append([gettext("opened in the period"), figures.opened])
    summary.append([gettext("closed in the period"), figures.closed])
    _heading(summary, gettext("Deadlines kept"))
    summary.append([gettext("step"), gettext("kept"), gettext("counted"), "%"])
    for step in STEPS:
        s: Step = figures.deadlines.get(step, Step(0, 0))
        summary.append([label(DEADLINES, step), s.kept, s.total, s.percent])
    _heading(summary, gettext("Agreements"))
    summary.append([gettext("agreements recorded"), figures.agreements])
    items = figures.items_kept
    summary.append([gettext("check-ins answered"), items.total])
    summary.append([gettext("items kept, %"), items.percent])


def _cases_and_results(book: Workbook, figures: Figures, locale: str) -> None:
    sheet = book.create_sheet(gettext("Cases")[:31])
    _counts(sheet, gettext("By stage (open at the end of the period)"), None, figures.by_stage, (1, 2, 3, 4, 5), locale)
    blocks: list[tuple[str, Counter[Any]]] = [
        ("programme_type", figures.by_type),
        ("source", figures.by_source),
        ("conflict_type", figures.by_conflict),
        ("nature", figures.by_nature),
    ]
    for key, counts in blocks:
        title = f"{accounting.field(key, locale).title} ({accounting.field(key, locale).section})"
        _counts(sheet, title, key, counts, _codes(key, locale, counts), locale)

    sheet = book.create_sheet(gettext("Results")[:31])
    results: list[tuple[str, Counter[Any]]] = [("result", figures.by_result), ("no_result_reason", figures.by_reason)]
    for key, counts in results:
        title = f"{accounting.field(key, locale).title} ({accounting.field(key, locale).section})"
        _counts(sheet, title, key, counts, _codes(key, locale, counts), locale)


def _consents_and_meetings(book: Workbook, figures: Figures) -> None:
    sheet = book.create_sheet(gettext("Consents and meetings")[:31])
    _heading(sheet, gettext("Consent decisions in the period"))
    sheet.append([gettext("consent to"), gettext("decision"), gettext("count")])
    for purpose, purpose_label in CONSENT_PURPOSES.items():
        for decision, decision_label in CONSENT_DECISIONS.items():
            n = figures.consents.get((purpose, decision), 0)
            sheet.append([gettext(purpose_label), gettext(decision_label), n])
    _heading(sheet, gettext("Meetings whose time fell in the period"))
    meetings = figures.meetings
    sheet.append([gettext("offered (slots and options)"), meetings.get("offered", 0)])
    sheet.append([gettext("held (taken or fixed, time passed)"), meetings.get("held", 0)])
    sheet.append([gettext("held: preliminary"), meetings.get("held_preliminary", 0)])
    sheet.append([gettext("held: general"), meetings.get("held_general", 0)])
    sheet.append([gettext("missed (called off, or someone could not come)"), meetings.get("missed", 0)])
    sheet.append([gettext("called off"), meetings.get("called_off", 0)])
    _heading(sheet, gettext("Agreement check-ins due in the period"))
    sheet.append([gettext("answer"), gettext("count"), "%"])
    whole = sum(figures.checkins.values())
    for state, state_label in CHECKIN_STATES.items():
        n = figures.checkins.get(state, 0)
        sheet.append([gettext(state_label), n, _percent(n, whole)])


def _surveys_and_months(book: Workbook, figures: Figures) -> None:
    sheet = book.create_sheet(gettext("Surveys")[:31])
    sheet.append([gettext("Only questions answered at least 5 times are shown.")])
    sheet.append([gettext("survey"), gettext("question"), gettext("answers"), gettext("mean (1-5)")])
    for q in figures.surveys:
        sheet.append([q.survey, q.question, q.answers, q.mean])

    sheet = book.create_sheet(gettext("By month")[:31])
    sheet.append([gettext("month"), gettext("opened"), gettext("closed")])
    for row in figures.history:
        sheet.append(list(row))


def chart_png(figures: Figures) -> bytes:
    """Cases opened and closed per month: the period's months against the months before."""
    # matplotlib (about 30 MiB) is imported when the first chart is drawn, not at start-up.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    months = [m for m, _, _ in figures.history]
    opened = [o for _, o, _ in figures.history]
    closed = [c for _, _, c in figures.history]
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot()
    positions = list(range(len(months)))
    width = 0.4
    ax.bar([p - width / 2 for p in positions], opened, width, label=gettext("opened"), color="#5b8def")
    ax.bar([p + width / 2 for p in positions], closed, width, label=gettext("closed"), color="#7cc47f")
    ax.set_xticks(positions, months)
    ax.set_ylabel(gettext("cases"))
    ax.set_title(
        gettext("Cases by month, {region}").format(region=figures.region or gettext("all regions")), fontsize=11
    )
    ax.legend()
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
