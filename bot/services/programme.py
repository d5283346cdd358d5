"""The participant's side: her consents, her questions, her programme, and whom she lets us invite.

Consent is informed, separate for each person and for each purpose (her personal data; taking part
in the meetings), and withdrawable at any moment. Every decision is a row in ``consent_events`` with
the hash of the exact text she was shown; the latest row per purpose is the state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, invitations, meetings, notices
from bot.services.cases import can_see, in_scope, latest_decisions
from bot.services.errors import Refused
from bot.services.users import Profile
from db.models import (
    Approval,
    Case,
    ConsentEvent,
    ConsentPurpose,
    Decision,
    Participant,
    ParticipantKind,
    Question,
    User,
)

QUESTION_MAX = 2000


class NotNow(ValueError):
    """The decision does not fit the state: ``why`` is ``needs_data``, ``nothing_to_withdraw``,
    ``answered`` (the relative has already answered) or ``empty``."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def text_version(texts: Iterable[str]) -> str:
    """SHA-256 of the exact texts shown, in order: which words she agreed to."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Notice:
    """Whom to tell about a decision, and what (ids and codes only; the handler words it)."""

    case_id: int
    case_code: str
    participant_first_name: str
    kind: str
    purpose: str
    decision: str
    team: tuple[int, ...]  # the case's facilitator and curator
    called_off: tuple[int, ...] = ()  # everyone to tell that the general meeting is off (never who withdrew)


@dataclass(frozen=True, slots=True)
class RelativeLine:
    participant_id: int
    first_name: str
    relation: str | None
    approval: str
    answered: bool  # the relative has opened the link and decided something


@dataclass(frozen=True, slots=True)
class MyProgramme:
    participant_id: int
    case_id: int
    kind: str
    stage: int
    curator_name: str | None
    facilitator_name: str | None
    data_consent: str | None
    participation_consent: str | None
    relatives: tuple[RelativeLine, ...]  # only for the woman herself
    woman_name: str | None = None  # only for a relative: the first name of the woman whose programme it is


async def _mine(
    session: AsyncSession, user_id: int, participant_id: int, attempted: str, *, now: datetime
) -> tuple[Participant, Case]:
    participant = await session.get(Participant, participant_id)
    if participant is None or participant.user_id != user_id:
        await audit.denied(
            session, actor_id=user_id, object_type="participant", object_id=participant_id, attempted=attempted, now=now
        )
        raise Refused(attempted)
    case = await session.get(Case, participant.case_id)
    assert case is not None
    return participant, case


async def refuse(
    session: AsyncSession, *, user_id: int, participant_id: int | str, attempted: str, now: datetime
) -> Refused:
    """Audits a press that points outside her own programme (a forged or stale button)."""
    await audit.denied(
        session, actor_id=user_id, object_type="participant", object_id=participant_id, attempted=attempted, now=now
    )
    return Refused(attempted)


def _record(
    session: AsyncSession,
    participant_id: int,
    user_id: int,
    purpose: ConsentPurpose,
    decision: Decision,
    version: str,
    locale: str,
    now: datetime,
) -> None:
    session.add(
        ConsentEvent(
            participant_id=participant_id,
            user_id=user_id,
            purpose=purpose.value,
            decision=decision.value,
            text_version=version,
            locale=locale,
            at=now,
        )
    )


async def _step_back(session: AsyncSession, participant: Participant, case: Case, now: datetime) -> tuple[int, ...]:
    """She no longer takes part: her booked slots go back, and the general meeting is off for all."""
    await meetings.release_bookings(session, participant_id=participant.id, now=now)
    changed = await meetings.call_off_general(session, case_id=case.id, now=now)
    # Everyone else is told; she who withdrew is not (and nobody is told it was her).
    return tuple(i for i in changed.tell if i != participant.user_id) if changed else ()


def _team(case: Case) -> tuple[int, ...]:
    return tuple(i for i in (case.facilitator_id, case.curator_id) if i is not None)


async def _queue_notices(
    session: AsyncSession, notice: Notice, event: str, participant_id: int, now: datetime, actor: int | None
) -> None:
    """The team hears of the decision, and everyone else that the general meeting is off (never who
    withdrew) — in the decision's transaction."""
    await notices.queue_many(
        session,
        notice.team,
        event=event,
        now=now,
        exclude=actor,
        case_id=notice.case_id,
        participant=participant_id,
        purpose=notice.purpose,
        decision=notice.decision,
    )
    await notices.queue_many(session, notice.called_off, event="general_off", now=now, case_id=notice.case_id)


async def decide(
    session: AsyncSession,
    *,
    user_id: int,
    participant_id: int,
    purpose: ConsentPurpose,
    decision: Decision,
    version: str,
    locale: str,
    now: datetime,
) -> Notice:
    """Records one decision. Taking part needs her data consent first; withdrawing the data consent
    withdraws taking part too; only a standing "yes" can be withdrawn."""
    participant, case = await _mine(session, user_id, participant_id, "consent", now=now)
    state = await latest_decisions(session, [participant.id])
    data_now = state.get((participant.id, ConsentPurpose.DATA.value))
    part_now = state.get((participant.id, ConsentPurpose.PARTICIPATION.value))
    if purpose == ConsentPurpose.PARTICIPATION and decision == Decision.AGREE and data_now != Decision.AGREE:
        await session.rollback()
        raise NotNow("needs_data")
    current = data_now if purpose == ConsentPurpose.DATA else part_now
    if decision == Decision.WITHDRAW and current != Decision.AGREE:
        await session.rollback()
        raise NotNow("nothing_to_withdraw")
    events = [(purpose, decision)]
    if (
        purpose == ConsentPurpose.DATA
        and decision in (Decision.WITHDRAW, Decision.DECLINE)
        and part_now == Decision.AGREE
    ):
        events.append((ConsentPurpose.PARTICIPATION, Decision.WITHDRAW))
    for event_purpose, event_decision in events:
        _record(session, participant.id, user_id, event_purpose, event_decision, version, locale, now)
        audit.record(
            session,
            actor_id=user_id,
            action=f"consent_{event_decision.value}",
            object_type="participant",
            object_id=participant.id,
            now=now,
            purpose=event_purpose.value,
        )
    called_off: tuple[int, ...] = ()
    if any(p == ConsentPurpose.PARTICIPATION and d in (Decision.WITHDRAW, Decision.DECLINE) for p, d in events):
        called_off = await _step_back(session, participant, case, now)
    notice = Notice(
        case.id,
        case.code,
        participant.first_name,
        participant.kind,
        purpose.value,
        decision.value,
        _team(case),
        called_off,
    )
    if not (purpose == ConsentPurpose.DATA and decision == Decision.AGREE):  # the team hears of it with taking part
        event = "consent_withdrawn" if decision == Decision.WITHDRAW else "consent"
        await _queue_notices(session, notice, event, participant.id, now, user_id)
    await session.commit()
    return notice


async def ask_first(
    session: AsyncSession, *, user_id: int, participant_id: int, text: str, version: str, locale: str, now: datetime
) -> Notice:
    """ "I want to ask first": the question waits for the curator (``/questions``) and the decision stays open."""
    text = text.strip()
    if not text:
        raise NotNow("empty")
    participant, case = await _mine(session, user_id, participant_id, "ask_first", now=now)
    session.add(
        Question(
            case_id=case.id, participant_id=participant.id, user_id=user_id, text=text[:QUESTION_MAX], asked_at=now
        )
    )
    _record(session, participant.id, user_id, ConsentPurpose.PARTICIPATION, Decision.ASK, version, locale, now)
    audit.record(
        session, actor_id=user_id, action="question_asked", object_type="participant", object_id=participant.id, now=now
    )
    notice = Notice(
        case.id,
        case.code,
        participant.first_name,
        participant.kind,
        ConsentPurpose.PARTICIPATION.value,
        Decision.ASK.value,
        _team(case),
    )
    await _queue_notices(session, notice, "consent", participant.id, now, user_id)
    await session.commit()
    return notice


async def has_programme(session: AsyncSession, *, user_id: int) -> bool:
    found = await session.scalar(
        select(Participant.id)
        .join(Case, Case.id == Participant.case_id)
        .where(Participant.user_id == user_id, Case.closed_at.is_(None))
        .limit(1)
    )
    await session.commit()
    return found is not None


async def woman_of(session: AsyncSession, *, case_id: int) -> str | None:
    """The first name of the woman of a case, as the team wrote it (what her relatives are told)."""
    return await session.scalar(
        select(Participant.first_name)
        .where(Participant.case_id == case_id, Participant.kind == ParticipantKind.WOMAN.value)
        .order_by(Participant.id)
        .limit(1)
    )


async def my_programmes(session: AsyncSession, *, user_id: int) -> list[MyProgramme]:
    """Her own places in cases (normally one), with what she may see of them."""
    mine = (
        await session.scalars(select(Participant).where(Participant.user_id == user_id).order_by(Participant.id))
    ).all()
    result = []
    for participant in mine:
        case = await session.get(Case, participant.case_id)
        if case is None or case.closed_at is not None:
            continue
        relatives: tuple[RelativeLine, ...] = ()
        if participant.kind == ParticipantKind.WOMAN.value:
            others = (
                await session.scalars(
                    select(Participant)
                    .where(Participant.case_id == case.id, Participant.kind == ParticipantKind.RELATIVE.value)
                    .order_by(Participant.id)
                )
            ).all()
            answered = await latest_decisions(session, [o.id for o in others])
            relatives = tuple(
                RelativeLine(o.id, o.first_name, o.relation, o.approval, any(k[0] == o.id for k in answered))
                for o in others
            )
        state = await latest_decisions(session, [participant.id])
        woman_name = None
        if participant.kind != ParticipantKind.WOMAN.value:
            woman_name = await woman_of(session, case_id=case.id)
        result.append(
            MyProgramme(
                participant_id=participant.id,
                case_id=case.id,
                kind=participant.kind,
                stage=case.stage,
                curator_name=await _first_name(session, case.curator_id),
                facilitator_name=await _first_name(session, case.facilitator_id),
                data_consent=state.get((participant.id, ConsentPurpose.DATA.value)),
                participation_consent=state.get((participant.id, ConsentPurpose.PARTICIPATION.value)),
                relatives=relatives,
                woman_name=woman_name,
            )
        )
    await session.commit()
    return result


async def _first_name(session: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    person = await session.get(User, user_id)
    # Appointed but not named yet: "" (she reads "appointed"), never "not appointed yet".
    return (person.display_name or "") if person else None


@dataclass(frozen=True, slots=True)
class RelativeDecision:
    token: str | None  # a new link, when she has just agreed
    tell: tuple[int, ...]  # who proposed the relative, and the case's curator
    case_code: str
    relative_name: str
    relation: str | None
    approval: str
    invited_before: bool  # a link had been issued: changing her mind revoked it


async def decide_relative(
    session: AsyncSession, *, user_id: int, relative_id: int, approval: Approval, now: datetime, ttl_days: int
) -> RelativeDecision:
    """The woman answers "may we invite this person?": yes / no / not now. She may change her mind
    until the relative has answered; a "no" after a "yes" revokes the link."""
    relative = await session.get(Participant, relative_id)
    woman = None
    if relative is not None and relative.kind == ParticipantKind.RELATIVE.value:
        woman = await session.scalar(
            select(Participant).where(
                Participant.case_id == relative.case_id,
                Participant.kind == ParticipantKind.WOMAN.value,
                Participant.user_id == user_id,
            )
        )
    if relative is None or woman is None:
        await audit.denied(
            session,
            actor_id=user_id,
            object_type="participant",
            object_id=relative_id,
            attempted="approve_relative",
            now=now,
        )
        raise Refused("approve_relative")
    if relative.user_id is not None or await latest_decisions(session, [relative.id]):
        await session.rollback()
        raise NotNow("answered")
    case = await session.get(Case, relative.case_id)
    assert case is not None
    before = relative.approval
    token = None
    revoked = False
    if approval == Approval.APPROVED and before != Approval.APPROVED.value:
        token = await invitations.issue_for_participant(
            session, participant_id=relative.id, created_by=user_id, now=now, ttl_days=ttl_days
        )
    elif approval != Approval.APPROVED and before == Approval.APPROVED.value:
        revoked = await invitations.revoke_open(session, relative.id, now) > 0
    relative.approval = approval.value
    audit.record(
        session,
        actor_id=user_id,
        action="relative_decided",
        object_type="participant",
        object_id=relative.id,
        now=now,
        approval=approval.value,
    )
    tell = tuple(dict.fromkeys(i for i in (relative.proposed_by, case.curator_id) if i is not None))
    outcome = RelativeDecision(token, tell, case.code, relative.first_name, relative.relation, approval.value, revoked)
    # The link is a secret: it travels in the notice's encrypted text, never in its payload.
    await notices.queue_many(
        session,
        tell,
        event="relative_decided",
        now=now,
        exclude=user_id,
        case_id=case.id,
        text=token,
        relative=relative.id,
        approval=approval.value,
        revoked=revoked,
    )
    await session.commit()
    return outcome


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    id: int
    case_code: str
    first_name: str
    text: str
    asked_at: datetime


async def open_questions(
    session: AsyncSession, *, actor: Profile, limit: int = 20, now: datetime
) -> list[OpenQuestion]:
    """Questions asked before deciding, in the cases the actor may see; reading them is audited."""
    rows = await session.execute(
        select(Question, Case.code, Participant.first_name)
        .join(Case, Case.id == Question.case_id)
        .join(Participant, Participant.id == Question.participant_id)
        .where(in_scope(actor), Question.answered_at.is_(None))
        .order_by(Question.id)
        .limit(limit)
    )
    found = [OpenQuestion(q.id, code, name, q.text, q.asked_at) for q, code, name in rows.all()]
    for question in found:
        audit.record(
            session,
            actor_id=actor.user_id,
            action="question_read",
            object_type="question",
            object_id=question.id,
            now=now,
        )
    await session.commit()
    return found


async def answer_question(session: AsyncSession, *, actor: Profile, question_id: int, now: datetime) -> None:
    """Marks a question as dealt with (the answer itself goes by phone or, later, the relay)."""
    question = await session.get(Question, question_id)
    case = await session.get(Case, question.case_id) if question else None
    if question is None or case is None or not can_see(actor, case):
        audit.record(
            session, actor_id=actor.user_id, action="denied", object_type="question", object_id=question_id, now=now
        )
        await session.commit()
        raise Refused("answer_question")
    question.answered_at = now
    audit.record(
        session,
        actor_id=actor.user_id,
        action="question_answered",
        object_type="question",
        object_id=question_id,
        now=now,
    )
    await session.commit()


def purposes_to_ask(data: str | None, participation: str | None) -> list[ConsentPurpose]:
    """What is still open for her: data first, then taking part."""
    asks = []
    if data != Decision.AGREE:
        asks.append(ConsentPurpose.DATA)
    if participation != Decision.AGREE:
        asks.append(ConsentPurpose.PARTICIPATION)
    return asks


async def leave_all(session: AsyncSession, *, user_id: int, now: datetime) -> list[Notice]:
    """Before her data is deleted ("delete my data"): every standing "yes" is withdrawn, her open
    questions are deleted, and her place in each case is unlinked from her Telegram account. The
    decisions made so far stay with the case (who agreed to what, and when), under no name but the
    first name the team wrote."""
    left = []
    mine = (await session.scalars(select(Participant).where(Participant.user_id == user_id))).all()
    for participant in mine:
        case = await session.get(Case, participant.case_id)
        assert case is not None
        state = await latest_decisions(session, [participant.id])
        for purpose in (ConsentPurpose.PARTICIPATION, ConsentPurpose.DATA):
            if state.get((participant.id, purpose.value)) == Decision.AGREE:
                version = text_version(["data deleted at her request"])
                _record(session, participant.id, user_id, purpose, Decision.WITHDRAW, version, "-", now)
        await session.execute(delete(Question).where(Question.participant_id == participant.id))
        called_off = await _step_back(session, participant, case, now)
        participant.user_id = None
        audit.record(
            session,
            actor_id=user_id,
            action="left_programme",
            object_type="participant",
            object_id=participant.id,
            now=now,
        )
        left.append(
            Notice(
                case.id,
                case.code,
                participant.first_name,
                participant.kind,
                ConsentPurpose.DATA.value,
                Decision.WITHDRAW.value,
                _team(case),
                tuple(i for i in called_off if i != user_id),
            )
        )
        await _queue_notices(session, left[-1], "left_programme", participant.id, now, user_id)
    await session.commit()
    return left
