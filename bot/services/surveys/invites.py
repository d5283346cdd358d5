"""Invites and answers: one question at a time, each answer stored anonymously (coarse times, random
ids)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, parse, reminders
from bot.services.errors import Invalid
from bot.services.surveys.content import Question, Survey, get
from bot.services.surveys.model import (
    _OPEN,
    ACTIVE,
    ANSWER_ID_SPACE,
    DONE,
    EXPIRED,
    PENDING,
    REMINDER_KIND,
    SCALE,
    TEXT_MAX,
    Closed,
    Stale,
)
from db import upsert
from db.models import Case, SurveyAnswer, SurveyInvite
from db.transaction import rollback_on_error


def _month(now: datetime) -> datetime:
    """The first moment of ``now``'s month: all that a finished invite keeps of its times, so it cannot
    be lined up with the answers (which keep the month only, under random ids)."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _coarse(now: datetime) -> dict[str, datetime]:
    month = _month(now)
    return {"created_at": month, "expires_at": month, "updated_at": month}


def _close(row: SurveyInvite, state: str, now: datetime) -> None:
    row.state = state
    for name, value in _coarse(now).items():
        setattr(row, name, value)


@dataclass(frozen=True, slots=True)
class Current:
    """The question an invite is at."""

    invite_id: int
    survey: Survey
    index: int
    question: Question

    @property
    def total(self) -> int:
        return len(self.survey.questions)


@dataclass(frozen=True, slots=True)
class Step:
    """After an answer or a skip: the next question, or ``None`` when the survey is done."""

    invite_id: int
    next: Current | None

    @property
    def done(self) -> bool:
        return self.next is None


async def invite(
    session: AsyncSession,
    *,
    user_id: int,
    survey: str,
    ref: str,
    case_id: int | None,
    due_at: datetime,
    now: datetime,
    expire_days: int,
) -> bool:
    """Asks ``user_id`` the survey ``survey`` about ``ref`` (e.g. "meeting:12", "agreement:3:1m") at
    ``due_at``; True when the invite is new. Once per (person, survey, ref): a repeat is ignored.

    Adds the invite and its reminder (kind ``survey``) and does NOT commit: call it inside the
    transaction of the action that wants the survey. It expires ``expire_days`` after ``due_at``.
    """
    get(survey)  # an unknown survey is a programming error: raise before writing
    if len(ref) > 32:
        raise ValueError("ref: at most 32 characters")
    result = await session.execute(
        upsert.insert(session, SurveyInvite)
        .values(
            user_id=user_id,
            survey=survey,
            ref=ref,
            case_id=case_id,
            state=PENDING,
            question=0,
            created_at=now,
            expires_at=due_at + timedelta(days=expire_days),
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[SurveyInvite.user_id, SurveyInvite.survey, SurveyInvite.ref])
        .returning(SurveyInvite.id)
    )
    invite_id = result.scalar()
    if invite_id is None:
        return False
    # One reminder per invite (reminders.add tells two surveys due at one moment apart by payload).
    await reminders.add(
        session,
        kind=REMINDER_KIND,
        recipient_id=user_id,
        due_at=due_at,
        now=now,
        case_id=case_id,
        payload={"invite": invite_id},
    )
    return True


async def forget(session: AsyncSession, *, user_id: int) -> int:
    """Her invites go (she deleted her data); the answers stay, as they never named her. Does NOT
    commit. Her pending survey reminders find no invite and drop."""
    result = await session.execute(
        delete(SurveyInvite).where(SurveyInvite.user_id == user_id).execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def _current(row: SurveyInvite) -> Current | None:
    try:
        survey = get(row.survey)
    except KeyError:
        return None
    if not 0 <= row.question < len(survey.questions):
        return None
    return Current(row.id, survey, row.question, survey.questions[row.question])


async def deliver(session: AsyncSession, *, invite_id: int, now: datetime) -> Current | None:
    """The reminder is going out: the invite becomes active and its current question is returned;
    ``None`` when it is done, expired (it is marked so) or gone. Commits."""
    async with rollback_on_error(session):
        row = await session.get(SurveyInvite, invite_id, populate_existing=True)
        if row is None or row.state not in _OPEN:
            await session.commit()
            return None
        if row.expires_at <= now:
            _close(row, EXPIRED, now)
            await session.commit()
            return None
        current = _current(row)
        if current is None:
            await session.commit()
            return None
        row.state, row.updated_at = ACTIVE, now
        await session.commit()
        return current


async def current(session: AsyncSession, *, user_id: int, now: datetime) -> Current | None:
    """The survey she is answering: her active, unexpired invite she was last asked in. Does not
    commit (a read)."""
    row = await session.scalar(
        select(SurveyInvite)
        .where(SurveyInvite.user_id == user_id, SurveyInvite.state == ACTIVE, SurveyInvite.expires_at > now)
        .order_by(SurveyInvite.updated_at.desc(), SurveyInvite.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return _current(row) if row is not None else None


def _check(question: Question, value: str | None) -> dict[str, Any]:
    """The columns of the answer, or ``Invalid``."""
    if question.kind == "scale":
        if value is None or not parse.digits(value) or int(value) not in SCALE:
            raise Invalid(question.key)
        return {"score": int(value)}
    if question.kind == "choice":
        if value not in {o.key for o in question.options}:
            raise Invalid(question.key)
        return {"choice": value}
    text = (value or "").strip()
    if not text:
        raise Invalid(question.key)
    return {"text": text[:TEXT_MAX]}


async def _advance(
    session: AsyncSession, *, invite_id: int, user_id: int, question_index: int, now: datetime
) -> tuple[SurveyInvite, Current]:
    """Moves the invite past ``question_index`` with one conditional UPDATE: of two taps, one wins.
    Raises ``Closed`` / ``Stale`` (after a rollback) otherwise."""
    row = await session.get(SurveyInvite, invite_id, populate_existing=True)
    if row is None or row.user_id != user_id:
        if row is not None:  # someone else's invite: a forged button
            audit.record(
                session, actor_id=user_id, action="denied", object_type="survey_invite", object_id=invite_id, now=now
            )
            await session.commit()
        else:
            await session.rollback()
        raise Stale(invite_id)
    if row.state in _OPEN and row.expires_at <= now:
        _close(row, EXPIRED, now)
        await session.commit()
        raise Closed(invite_id)
    if row.state == EXPIRED:
        await session.rollback()
        raise Closed(invite_id)
    at = _current(row)
    if row.state != ACTIVE or at is None or row.question != question_index:
        await session.rollback()
        raise Stale(invite_id)
    last = question_index + 1 >= at.total
    result = await session.execute(
        update(SurveyInvite)
        .where(
            SurveyInvite.id == invite_id,
            SurveyInvite.state == ACTIVE,
            SurveyInvite.question == question_index,
        )
        .values(
            question=question_index if last else question_index + 1,
            state=DONE if last else ACTIVE,
            # Done: the invite keeps only the month, like the answers.
            **(_coarse(now) if last else {"updated_at": now}),
        )
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], result).rowcount:
        await session.rollback()
        raise Stale(invite_id)
    return row, at


def _next(row: SurveyInvite, at: Current) -> Step:
    index = at.index + 1
    if index >= at.total:
        return Step(row.id, None)
    return Step(row.id, Current(row.id, at.survey, index, at.survey.questions[index]))


async def answer(
    session: AsyncSession,
    *,
    invite_id: int,
    user_id: int,
    question_index: int,
    value: str | None,
    now: datetime,
) -> Step:
    """Stores her answer to the current question, apart from her, and moves on. Commits.

    Raises ``Stale`` (not her current question: nothing stored), ``Closed`` (expired), ``Invalid``
    (the value does not fit the question)."""
    async with rollback_on_error(session, passing=(Stale, Closed, Invalid)):
        row, at = await _advance(session, invite_id=invite_id, user_id=user_id, question_index=question_index, now=now)
        try:
            columns = _check(at.question, value)
        except Invalid:
            await session.rollback()
            raise
        stage = region = None
        if row.case_id is not None:
            found = (await session.execute(select(Case.stage, Case.region_code).where(Case.id == row.case_id))).first()
            if found is not None:
                stage, region = found
        session.add(
            SurveyAnswer(
                # A random id: the order of the rows does not follow the order of the answers.
                id=secrets.randbelow(ANSWER_ID_SPACE) + 1,
                survey=at.survey.key,
                question=at.question.key,
                stage=stage,
                region_code=region,
                month=now.strftime("%Y-%m"),
                **columns,
            )
        )
        await session.commit()
    return _next(row, at)


async def skip(session: AsyncSession, *, invite_id: int, user_id: int, question_index: int, now: datetime) -> Step:
    """She skips the current question: nothing is stored, the invite moves on. Commits. Raises
    ``Stale`` or ``Closed`` like ``answer``."""
    async with rollback_on_error(session, passing=(Stale, Closed)):
        row, at = await _advance(session, invite_id=invite_id, user_id=user_id, question_index=question_index, now=now)
        await session.commit()
    return _next(row, at)


async def expire(session: AsyncSession, *, now: datetime) -> int:
    """Invites not finished by their time → expired (the daily job). Commits; returns how many."""
    async with rollback_on_error(session):
        result = await session.execute(
            update(SurveyInvite)
            .where(SurveyInvite.state.in_(_OPEN), SurveyInvite.expires_at <= now)
            .values(state=EXPIRED, **_coarse(now))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return int(cast(CursorResult[Any], result).rowcount)
