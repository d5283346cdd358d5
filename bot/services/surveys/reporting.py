"""The report: aggregates per survey and question, only where enough answers exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import Refused
from bot.services.surveys.content import Question, Survey, definitions
from bot.services.surveys.model import MIN_ANSWERS, SCALE
from bot.services.users import Profile
from db.models import Role, SurveyAnswer


@dataclass(frozen=True, slots=True)
class QuestionStats:
    question: Question
    shown: bool  # at least ``min_answers`` answers; otherwise nothing below is filled in
    count: int = 0
    mean: float | None = None  # scales
    distribution: dict[int, int] = field(default_factory=dict)  # scales: 1..5 -> answers
    choices: dict[str, int] = field(default_factory=dict)  # choices: option key -> answers


@dataclass(frozen=True, slots=True)
class SurveyStats:
    survey: Survey
    questions: tuple[QuestionStats, ...]


@dataclass(frozen=True, slots=True)
class Report:
    region: str | None  # None: every region (admins)
    min_answers: int
    surveys: tuple[SurveyStats, ...]


async def report(
    session: AsyncSession,
    *,
    actor: Profile,
    region: str | None = None,
    min_answers: int = MIN_ANSWERS,
    now: datetime,
) -> Report:
    """Aggregates per survey and question, only where at least ``min_answers`` answers exist.

    Staff see the answers of their ``scope_region`` (``region`` is ignored; without a scope they see
    nothing), admins every region or the one asked for. Free text is counted, never returned.
    The read is audited. Commits."""
    if actor.role not in (Role.STAFF, Role.ADMIN):
        audit.record(session, actor_id=actor.user_id, action="denied", object_type="survey_report", now=now)
        await session.commit()
        raise Refused("survey_report")
    if actor.role == Role.STAFF:
        region = actor.scope_region
    restrict = actor.role == Role.STAFF or region is not None
    tally = _Tally()
    if not (restrict and region is None):  # staff without a region: nothing
        await tally.read(session, [SurveyAnswer.region_code == region] if restrict else [])
    audit.record(
        session,
        actor_id=actor.user_id,
        action="survey_report_viewed",
        object_type="region",
        object_id=region if restrict else "all",
        now=now,
    )
    await session.commit()
    out = [
        SurveyStats(survey, tuple(tally.stats(survey_key, question, min_answers) for question in survey.questions))
        for survey_key, survey in definitions().items()
    ]
    return Report(region if restrict else None, min_answers, tuple(out))


@dataclass(slots=True)
class _Tally:
    """Answers counted per (survey, question): in all, per score, per option."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    scores: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    choices: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    async def read(self, session: AsyncSession, scope: list[ColumnElement[bool]]) -> None:
        rows = await session.execute(
            select(SurveyAnswer.survey, SurveyAnswer.question, SurveyAnswer.score, SurveyAnswer.choice, func.count())
            .where(*scope)
            .group_by(SurveyAnswer.survey, SurveyAnswer.question, SurveyAnswer.score, SurveyAnswer.choice)
        )
        for survey_key, question_key, score, choice, n in rows.all():
            key = (survey_key, question_key)
            self.counts[key] = self.counts.get(key, 0) + n
            if score is not None:
                self.scores.setdefault(key, {})[score] = self.scores.setdefault(key, {}).get(score, 0) + n
            if choice is not None:
                self.choices.setdefault(key, {})[choice] = self.choices.setdefault(key, {}).get(choice, 0) + n

    def stats(self, survey_key: str, question: Question, min_answers: int) -> QuestionStats:
        n = self.counts.get((survey_key, question.key), 0)
        if n < min_answers:
            return QuestionStats(question, shown=False)
        if question.kind == "scale":
            dist = {s: self.scores.get((survey_key, question.key), {}).get(s, 0) for s in SCALE}
            total = sum(dist.values())
            mean = sum(s * c for s, c in dist.items()) / total if total else None
            return QuestionStats(question, True, n, mean, dist)
        if question.kind == "choice":
            got = self.choices.get((survey_key, question.key), {})
            return QuestionStats(question, True, n, choices={o.key: got.get(o.key, 0) for o in question.options})
        return QuestionStats(question, True, n)
