"""A case's deadlines in working days: the handoff, the programme window, the report."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.services import workdays
from bot.services.cases.model import Deadline, Rules
from db.models import (
    Case,
)


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def deadline_of(case: Case, *, rules: Rules, today: date, timezone: str, reported: bool = False) -> Deadline | None:
    """What the case is waiting for now, and by when, counted on the production calendar.

    Stage 1: the case reaches the facilitator within ``handoff`` working days of its start: the
    registration for parole (the court's decision is what sets the case going), otherwise the later
    of registration and release (preparation runs for months before a release at the end of term).
    Stages 2-3: the general meeting within ``programme_max`` working days of stage 2.
    Stage 4: the report within ``report`` working days of the meeting.
    A closed case: the report (its date on the accounting card, ``reported``) within ``report``
    working days of the closing.
    """
    if case.closed_at is not None:
        if reported:
            return None
        kind, due = "report", workdays.add_working_days(local_date(case.closed_at, timezone), rules.report)
    elif case.stage == 1:
        start = local_date(case.created_at, timezone)
        if not case.parole:
            start = max(start, case.release_date)
        kind, due = "handoff", workdays.add_working_days(start, rules.handoff)
    elif case.stage in (2, 3):
        started = case.programme_started or case.stage_since
        kind, due = "programme", workdays.add_working_days(local_date(started, timezone), rules.programme_max)
    elif case.stage == 4:
        kind, due = "report", workdays.add_working_days(local_date(case.stage_since, timezone), rules.report)
    else:
        return None
    # Late once a working day has passed since the due day: a weekend after a Friday deadline is not.
    late = workdays.working_days_between(due, today) if today > due else 0
    return Deadline(kind, due, late > 0, late)


def programme_window(case: Case, *, rules: Rules, timezone: str) -> tuple[date, date] | None:
    """Earliest and latest end of the programme (10-30 working days from stage 2), once it started."""
    if case.programme_started is None:
        return None
    start = local_date(case.programme_started, timezone)
    return workdays.add_working_days(start, rules.programme_min), workdays.add_working_days(start, rules.programme_max)
