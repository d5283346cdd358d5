"""Feedback surveys: who is asked what (``SurveyInvite``), and answers kept apart from the person.

The questions live in ``content/surveys/<key>.yaml`` (both languages), checked at start-up by
``load`` and cached. A survey reaches her as a reminder row of kind ``survey`` (``invite`` adds
both in the caller's transaction); the renderer calls ``deliver``, which makes the invite active.
Then one question at a time: ``answer`` or ``skip`` the *current* question — a button of another
question (stale, double-tapped, forged) changes nothing. An invite not finished by its
``expires_at`` is expired (lazily by every read, and by the daily ``expire``).

Anonymity: a ``SurveyAnswer`` row knows its survey and question, the case's stage and region at
the moment of answering, the month — never the person, the case or the invite. Staff read only
aggregates (``report``), and only of questions with at least ``min_answers`` answers; free text is
counted, never shown.

``invite`` and ``forget`` do NOT commit (they run inside other services' transactions); every other
function that writes ends its transaction.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, parse, reminders
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db import upsert
from db.models import Case, Role, SurveyAnswer, SurveyInvite
from db.transaction import rollback_on_error

REMINDER_KIND = "survey"
KEYS = ("preliminary", "general", "followup_1m", "followup_3m", "final")
KINDS = ("scale", "choice", "text")
LANGS = ("ru", "en")
SCALE = (1, 2, 3, 4, 5)
MIN_ANSWERS = 5
ANSWER_ID_SPACE = 2**62  # random answer ids fit a signed 64-bit integer on both databases
TEXT_MAX = 3500  # a Telegram message is at most 4096 characters; an answer is stored whole up to this
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "content" / "surveys"

_KEY = re.compile(r"^[a-z0-9_]{1,32}$")
_OPTION_KEY = re.compile(r"^[a-z0-9_]{1,24}$")  # callback data "sv:<invite>:<q>:<option>" stays < 64 bytes
_MAX_QUESTIONS = 10
_MAX_OPTIONS = 6
_MAX_TITLE = 120
_MAX_INTRO = 600
_MAX_QUESTION = 400
_MAX_OPTION = 40

PENDING, ACTIVE, DONE, EXPIRED = "pending", "active", "done", "expired"
_OPEN = (PENDING, ACTIVE)


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


class SurveyError(ValueError):
    """A survey file that does not follow the schema; the message names the file and the field."""


class Stale(LookupError):
    """Not the current question of an open invite of this person (an old, double-tapped or forged
    button): nothing was stored."""


class Closed(LookupError):
    """The survey has expired: nothing was stored."""


# ------------------------------------------------------------------ content


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    text: dict[str, str]


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    kind: str  # scale | choice | text
    text: dict[str, str]
    options: tuple[Option, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Survey:
    key: str
    title: dict[str, str]
    intro: dict[str, str]
    questions: tuple[Question, ...]


def _texts(value: Any, where: str, *, limit: int) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGS):
        raise SurveyError(f"{where}: expected texts for exactly {', '.join(LANGS)}")
    out = {}
    for lang in LANGS:
        text = value[lang]
        if not isinstance(text, str) or not text.strip():
            raise SurveyError(f"{where}.{lang}: empty text")
        if len(text) > limit:
            raise SurveyError(f"{where}.{lang}: longer than {limit} characters")
        out[lang] = text.strip()
    return out


def _question(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict):
        raise SurveyError(f"{where}: expected a mapping")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise SurveyError(f"{where}.key: expected [a-z0-9_], at most 32 characters")
    where = f"{where} ({key})"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SurveyError(f"{where}.kind: expected one of {', '.join(KINDS)}")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise SurveyError(f"{where}.optional: expected true or false")
    if kind == "text" and not optional:
        raise SurveyError(f"{where}.optional: free text is always optional (optional: true)")
    options: list[Option] = []
    if kind == "choice":
        items = raw.get("options")
        if not isinstance(items, list) or not 2 <= len(items) <= _MAX_OPTIONS:
            raise SurveyError(f"{where}.options: expected a list of 2-{_MAX_OPTIONS} options")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise SurveyError(f"{where}.options[{i}]: expected a mapping")
            okey = item.get("key")
            if not isinstance(okey, str) or not _OPTION_KEY.match(okey):
                raise SurveyError(f"{where}.options[{i}].key: expected [a-z0-9_], at most 24 characters")
            options.append(Option(okey, _texts(item.get("text"), f"{where}.options[{i}].text", limit=_MAX_OPTION)))
        if len({o.key for o in options}) != len(options):
            raise SurveyError(f"{where}.options: a key is used twice")
    elif "options" in raw:
        raise SurveyError(f"{where}.options: only a choice question has options")
    return Question(
        key=key,
        kind=kind,
        text=_texts(raw.get("text"), f"{where}.text", limit=_MAX_QUESTION),
        options=tuple(options),
        optional=optional,
    )


def parse_file(path: Path) -> Survey:
    """One survey file, checked; ``SurveyError`` names the file and the field at fault."""
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SurveyError(f"{name}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise SurveyError(f"{name}: expected a mapping at the top")
    key = raw.get("key")
    if key != path.stem:
        raise SurveyError(f"{name}.key: expected {path.stem!r}, the name of the file")
    items = raw.get("questions")
    if not isinstance(items, list) or not 1 <= len(items) <= _MAX_QUESTIONS:
        raise SurveyError(f"{name}.questions: expected a list of 1-{_MAX_QUESTIONS} questions")
    questions = tuple(_question(item, f"{name}.questions[{i}]") for i, item in enumerate(items))
    if len({q.key for q in questions}) != len(questions):
        raise SurveyError(f"{name}.questions: a key is used twice")
    return Survey(
        key=key,
        title=_texts(raw.get("title"), f"{name}.title", limit=_MAX_TITLE),
        intro=_texts(raw.get("intro"), f"{name}.intro", limit=_MAX_INTRO),
        questions=questions,
    )


_cache: dict[str, Survey] | None = None


def load(folder: Path = DEFAULT_DIR) -> dict[str, Survey]:
    """Reads and checks every survey (one file per key of ``KEYS``) and caches them for the process."""
    global _cache
    found: dict[str, Survey] = {}
    for key in KEYS:
        path = folder / f"{key}.yaml"
        if not path.is_file():
            raise SurveyError(f"surveys/{key}.yaml: missing (expected one file for each of {', '.join(KEYS)})")
        found[key] = parse_file(path)
    _cache = found
    return found


def definitions() -> dict[str, Survey]:
    """The cached surveys (loaded from ``content/surveys`` on first use when ``load`` was not called)."""
    return _cache if _cache is not None else load()


def get(key: str) -> Survey:
    survey = definitions().get(key)
    if survey is None:
        raise KeyError(key)
    return survey


def text_of(texts: dict[str, str], locale: str) -> str:
    return texts.get(locale) or texts["en"]


# ------------------------------------------------------------------ invites


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


def _is_postgres(session: AsyncSession) -> bool:
    return upsert.is_postgres(session)


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


# ------------------------------------------------------------------ the report


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
    counts: dict[tuple[str, str], int] = {}
    scores: dict[tuple[str, str], dict[int, int]] = {}
    choices: dict[tuple[str, str], dict[str, int]] = {}
    if not (restrict and region is None):  # staff without a region: nothing
        scope = [SurveyAnswer.region_code == region] if restrict else []
        rows = await session.execute(
            select(SurveyAnswer.survey, SurveyAnswer.question, SurveyAnswer.score, SurveyAnswer.choice, func.count())
            .where(*scope)
            .group_by(SurveyAnswer.survey, SurveyAnswer.question, SurveyAnswer.score, SurveyAnswer.choice)
        )
        for survey_key, question_key, score, choice, n in rows.all():
            key = (survey_key, question_key)
            counts[key] = counts.get(key, 0) + n
            if score is not None:
                scores.setdefault(key, {})[score] = scores.setdefault(key, {}).get(score, 0) + n
            if choice is not None:
                choices.setdefault(key, {})[choice] = choices.setdefault(key, {}).get(choice, 0) + n
    audit.record(
        session,
        actor_id=actor.user_id,
        action="survey_report_viewed",
        object_type="region",
        object_id=region if restrict else "all",
        now=now,
    )
    await session.commit()
    out = []
    for survey_key, survey in definitions().items():
        stats = []
        for question in survey.questions:
            n = counts.get((survey_key, question.key), 0)
            if n < min_answers:
                stats.append(QuestionStats(question, shown=False))
                continue
            if question.kind == "scale":
                dist = {s: scores.get((survey_key, question.key), {}).get(s, 0) for s in SCALE}
                total = sum(dist.values())
                mean = sum(s * c for s, c in dist.items()) / total if total else None
                stats.append(QuestionStats(question, True, n, mean, dist))
            elif question.kind == "choice":
                got = choices.get((survey_key, question.key), {})
                stats.append(
                    QuestionStats(question, True, n, choices={o.key: got.get(o.key, 0) for o in question.options})
                )
            else:
                stats.append(QuestionStats(question, True, n))
        out.append(SurveyStats(survey, tuple(stats)))
    return Report(region if restrict else None, min_answers, tuple(out))
