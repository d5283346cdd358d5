"""The monitoring report (отчёт формы мониторинга, procedure 2.8 and 2.13): the figures of a month
or a half-year, counted from the accounting cards and what the bot recorded.

Codes, counts and percentages only: no query here reads a name, a text or a person's id.
Each sheet is one query (aggregated in SQL where it can be, otherwise a narrow row per case
that is counted here), never a query per case, so a big period stays fast. Staff read their
region, admins any region or all; every report is audited.

What is counted (``Figures``):
- cases: those open at some moment of the period, by their stage now (closed ones apart), by
  programme type, source, conflict type and nature; results and reasons of the cases closed in
  the period;
- deadlines kept, by step: the hand-off to the facilitator (entry to stage 2 in the period,
  within ``Rules.handoff`` working days of the start), the programme (closed in the period within
  ``Rules.programme_max`` working days of stage 2), the report (its date on the card within
  ``Rules.report`` working days of the closing; a report not yet due is not counted);
- consent decisions made in the period (given, declined, withdrawn) by purpose;
- meetings whose time fell in the period: offered (every slot and option), held (taken or fixed,
  past, nobody said "I cannot come"), missed (called off, or someone said "I cannot come");
- agreements recorded in the period; check-ins due in the period and how many were kept;
- survey answers of the period's months, per question, only where at least ``MIN_ANSWERS``
  answered;
- for the chart: cases opened and closed in each of the ``HISTORY`` months up to the period's end.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, case, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, workdays
from bot.services.cases import Rules
from bot.services.errors import Refused
from bot.services.surveys import MIN_ANSWERS
from bot.services.users import Profile
from db.models import (
    AccountingCard,
    Agreement,
    AgreementItem,
    Attendance,
    Case,
    Checkin,
    ConsentEvent,
    Meeting,
    MeetingState,
    Participant,
    Region,
    Role,
    SurveyAnswer,
)

HISTORY = 6  # months on the chart
STEPS = ("handoff", "programme", "report")


class BadPeriod(ValueError):
    """The period could not be read."""


class UnknownRegion(ValueError):
    """No region has this code."""


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # first day
    end: date  # the day after the last
    key: str  # "2026-11" or "2026-H2"

    @property
    def months(self) -> list[str]:
        out = []
        year, month = self.start.year, self.start.month
        while date(year, month, 1) < self.end:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def month(year: int, month_: int) -> Period:
    start = date(year, month_, 1)
    return Period(start, _next_month(start), f"{year:04d}-{month_:02d}")


def half(year: int, which: int) -> Period:
    start = date(year, 1 if which == 1 else 7, 1)
    end = date(year, 7, 1) if which == 1 else date(year + 1, 1, 1)
    return Period(start, end, f"{year:04d}-H{which}")


def parse_period(raw: str | None, *, today: date) -> Period:
    """ "2026-11", "11.2026", "2026-H2" (or "2026-h2", "H2 2026"); nothing: the month before ``today``."""
    text = (raw or "").strip().upper().replace(" ", "")
    if not text:
        last = date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)
        return month(last.year, last.month)
    patterns = (
        (r"(\d{4})-?H([12])", lambda m: half(int(m[1]), int(m[2]))),
        (r"H([12])[-.]?(\d{4})", lambda m: half(int(m[2]), int(m[1]))),
        (r"(\d{4})[-.](\d{1,2})", lambda m: month(int(m[1]), int(m[2]))),
        (r"(\d{1,2})[-.](\d{4})", lambda m: month(int(m[2]), int(m[1]))),
    )
    for pattern, build in patterns:
        found = re.fullmatch(pattern, text)
        if found:
            try:
                period = build(found)
            except ValueError:
                raise BadPeriod(raw) from None
            if abs(period.start.year - today.year) > 10:
                raise BadPeriod(raw)
            return period
    raise BadPeriod(raw)


@dataclass(frozen=True, slots=True)
class Step:
    kept: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.kept / self.total, 1) if self.total else None


@dataclass(frozen=True, slots=True)
class QuestionFigure:
    survey: str
    question: str
    answers: int
    mean: float | None  # for 1-5 scales


@dataclass
class Figures:
    region: str | None  # None: every region
    period: Period
    cases: int = 0  # open at some moment of the period
    opened: int = 0
    closed: int = 0
    by_stage: Counter[int] = field(default_factory=Counter)  # open at the end of the period... now
    by_type: Counter[str] = field(default_factory=Counter)
    by_source: Counter[int | None] = field(default_factory=Counter)
    by_conflict: Counter[int | None] = field(default_factory=Counter)
    by_nature: Counter[int | None] = field(default_factory=Counter)
    by_result: Counter[str | None] = field(default_factory=Counter)  # closed in the period
    by_reason: Counter[int] = field(default_factory=Counter)
    deadlines: dict[str, Step] = field(default_factory=dict)
    consents: Counter[tuple[str, str]] = field(default_factory=Counter)  # (purpose, decision)
    meetings: Counter[str] = field(default_factory=Counter)  # offered, held, called_off
    agreements: int = 0
    checkins: Counter[str] = field(default_factory=Counter)  # by state, due in the period
    surveys: list[QuestionFigure] = field(default_factory=list)
    history: list[tuple[str, int, int]] = field(default_factory=list)  # (month, opened, closed)

    @property
    def items_kept(self) -> Step:
        answered = sum(self.checkins.values()) - self.checkins.get("open", 0)
        return Step(self.checkins.get("done", 0), answered)


def _utc(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)


def _local(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


async def build(
    session: AsyncSession,
    *,
    actor: Profile,
    period: Period,
    region: str | None,
    rules: Rules,
    now: datetime,
    default_timezone: str = "Europe/Moscow",
) -> Figures:
    """The figures of ``period`` for ``region`` (staff: always their own). Audited; commits."""
    if actor.role not in (Role.STAFF, Role.ADMIN) or (actor.role == Role.STAFF and actor.scope_region is None):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="report", object_id=None, attempted="report", now=now
        )
        raise Refused("report")
    if actor.role == Role.STAFF:
        region = actor.scope_region
    zones: dict[str, str] = dict((await session.execute(select(Region.code, Region.timezone))).all())
    if region is not None and region not in zones:
        await session.rollback()
        raise UnknownRegion(region)
    # The period's bounds in the region's time (all regions: Moscow time).
    zone = zones[region] if region is not None else default_timezone
    start, end = _utc(period.start, zone), _utc(period.end, zone)
    in_region: ColumnElement[bool] = Case.region_code == region if region is not None else true()
    figures = Figures(region, period)
    await _cases(session, figures, in_region, start, end, zones, rules, now)
    await _consents(session, figures, in_region, start, end)
    await _meetings(session, figures, in_region, start, end, now)
    await _agreements(session, figures, in_region, start, end)
    await _surveys(session, figures, region, period)
    await _history(session, figures, in_region, period, zone)
    audit.record(
        session,
        actor_id=actor.user_id,
        action="report_built",
        object_type="region",
        object_id=region or "all",
        now=now,
        period=period.key,
    )
    await session.commit()
    return figures


async def _cases(
    session: AsyncSession,
    figures: Figures,
    in_region: ColumnElement[bool],
    start: datetime,
    end: datetime,
    zones: dict[str, str],
    rules: Rules,
    now: datetime,
) -> None:
    """One narrow row per case open in the period (codes and moments only), counted here."""
    rows = await session.execute(
        select(
            Case.region_code,
            Case.stage,
            Case.programme_type,
            Case.parole,
            Case.release_date,
            Case.created_at,
            Case.programme_started,
            Case.closed_at,
            AccountingCard.source,
            AccountingCard.conflict_type,
            AccountingCard.nature,
            AccountingCard.result,
            AccountingCard.no_result_reason,
            AccountingCard.report_date,
        )
        .outerjoin(AccountingCard, AccountingCard.case_id == Case.id)
        .where(in_region, Case.created_at < end, or_(Case.closed_at.is_(None), Case.closed_at >= start))
    )
    kept: Counter[str] = Counter()
    total: Counter[str] = Counter()
    # Many cases share a start day: count each (day, working days) on the calendar once.
    add_working_days = lru_cache(maxsize=4096)(workdays.add_working_days)
    for row in rows.all():
        zone = zones.get(row.region_code, "UTC")
        closed_day = _count_case(figures, row, zone, start, end)
        # Deadlines, by step, for the steps taken in the period.
        for step, met in _deadlines(row, closed_day, zone, start, end, rules, now, add_working_days):
            total[step] += 1
            kept[step] += met
    figures.deadlines = {step: Step(kept[step], total[step]) for step in STEPS}


def _count_case(figures: Figures, row: Row[*tuple[Any, ...]], zone: str, start: datetime, end: datetime) -> date | None:
    """Counts the case in the figures; returns the local day it closed, if it closed in the period."""
    figures.cases += 1
    figures.opened += row.created_at >= start
    figures.by_type[row.programme_type] += 1
    figures.by_source[row.source] += 1
    figures.by_conflict[row.conflict_type] += 1
    figures.by_nature[row.nature] += 1
    closed_at = row.closed_at
    closed_day = _local(closed_at, zone) if closed_at is not None and closed_at < end else None
    if closed_at is None or closed_at >= end:
        figures.by_stage[row.stage] += 1
    if closed_day is not None:
        figures.closed += 1
        figures.by_result[row.result] += 1
        if row.no_result_reason is not None:
            figures.by_reason[row.no_result_reason] += 1
    return closed_day


def _deadlines(
    row: Row[*tuple[Any, ...]],
    closed_day: date | None,
    zone: str,
    start: datetime,
    end: datetime,
    rules: Rules,
    now: datetime,
    add_working_days: Callable[[date, int], date],
) -> list[tuple[str, bool]]:
    """The steps of this case that count towards a deadline, each with whether it was kept."""
    steps: list[tuple[str, bool]] = []
    started = row.programme_started
    if started is not None and start <= started < end:
        begin = _local(row.created_at, zone)
        if not row.parole:
            begin = max(begin, row.release_date)
        steps.append(("handoff", _local(started, zone) <= add_working_days(begin, rules.handoff)))
    if closed_day is not None and started is not None:
        steps.append(("programme", closed_day <= add_working_days(_local(started, zone), rules.programme_max)))
    if closed_day is not None:
        due = add_working_days(closed_day, rules.report)
        if row.report_date is not None:
            steps.append(("report", row.report_date <= due))
        elif _local(now, zone) > due:
            steps.append(("report", False))
    return steps


async def _consents(
    session: AsyncSession, figures: Figures, in_region: ColumnElement[bool], start: datetime, end: datetime
) -> None:
    rows = await session.execute(
        select(ConsentEvent.purpose, ConsentEvent.decision, func.count())
        .join(Participant, Participant.id == ConsentEvent.participant_id)
        .join(Case, Case.id == Participant.case_id)
        .where(in_region, ConsentEvent.at >= start, ConsentEvent.at < end)
        .group_by(ConsentEvent.purpose, ConsentEvent.decision)
    )
    for purpose, decision, n in rows.all():
        figures.consents[(purpose, decision)] += n


async def _meetings(
    session: AsyncSession,
    figures: Figures,
    in_region: ColumnElement[bool],
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    past = case((Meeting.starts_at < now, 1), else_=0).label("past")
    someone_out = exists().where(Attendance.meeting_id == Meeting.id, Attendance.coming.is_(False))
    declined = case((someone_out, 1), else_=0).label("declined")
    rows = await session.execute(
        select(Meeting.kind, Meeting.state, past, declined, func.count())
        .join(Case, Case.id == Meeting.case_id)
        .where(in_region, Meeting.starts_at >= start, Meeting.starts_at < end)
        .group_by(Meeting.kind, Meeting.state, past, declined)
    )
    for kind, state, was, out, n in rows.all():
        figures.meetings["offered"] += n
        figures.meetings[f"offered_{kind}"] += n
        if state in (MeetingState.BOOKED.value, MeetingState.FIXED.value) and was:
            # Someone said "I cannot come": counted as missed, not held.
            key = "missed" if out else "held"
            figures.meetings[key] += n
            figures.meetings[f"{key}_{kind}"] += n
        if state == MeetingState.CALLED_OFF.value:
            figures.meetings["called_off"] += n
            figures.meetings["missed"] += n


async def _agreements(
    session: AsyncSession, figures: Figures, in_region: ColumnElement[bool], start: datetime, end: datetime
) -> None:
    figures.agreements = (
        await session.scalar(
            select(func.count())
            .select_from(Agreement)
            .join(Case, Case.id == Agreement.case_id)
            .where(in_region, Agreement.created_at >= start, Agreement.created_at < end)
        )
    ) or 0
    rows = await session.execute(
        select(Checkin.state, func.count())
        .join(AgreementItem, AgreementItem.id == Checkin.item_id)
        .join(Agreement, Agreement.id == AgreementItem.agreement_id)
        .join(Case, Case.id == Agreement.case_id)
        .where(in_region, Checkin.due_date >= figures.period.start, Checkin.due_date < figures.period.end)
        .group_by(Checkin.state)
    )
    for state, n in rows.all():
        figures.checkins[state] += n


async def _surveys(session: AsyncSession, figures: Figures, region: str | None, period: Period) -> None:
    scope = [SurveyAnswer.region_code == region] if region is not None else []
    rows = await session.execute(
        select(SurveyAnswer.survey, SurveyAnswer.question, func.count(), func.avg(SurveyAnswer.score))
        .where(*scope, SurveyAnswer.month.in_(period.months))
        .group_by(SurveyAnswer.survey, SurveyAnswer.question)
        .order_by(SurveyAnswer.survey, SurveyAnswer.question)
    )
    figures.surveys = [
        QuestionFigure(survey, question, n, round(float(mean), 2) if mean is not None else None)
        for survey, question, n, mean in rows.all()
        if n >= MIN_ANSWERS
    ]


async def _history(
    session: AsyncSession, figures: Figures, in_region: ColumnElement[bool], period: Period, zone: str
) -> None:
    """Opened and closed per month, the ``HISTORY`` months up to the period's last one."""
    last = date(period.end.year, period.end.month, 1)
    first = last
    months: list[date] = []
    for _ in range(HISTORY):
        first = date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)
        months.insert(0, first)
    since = _utc(months[0], zone)
    until = _utc(last, zone)
    rows = await session.execute(
        select(Case.created_at, Case.closed_at).where(
            in_region,
            or_(
                and_(Case.created_at >= since, Case.created_at < until),
                and_(Case.closed_at >= since, Case.closed_at < until),
            ),
        )
    )
    opened: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for created_at, closed_at in rows.all():
        if since <= created_at < until:
            opened[_local(created_at, zone).strftime("%Y-%m")] += 1
        if closed_at is not None and since <= closed_at < until:
            closed[_local(closed_at, zone).strftime("%Y-%m")] += 1
    figures.history = [(m.strftime("%Y-%m"), opened[m.strftime("%Y-%m")], closed[m.strftime("%Y-%m")]) for m in months]
