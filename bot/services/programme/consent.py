"""Consent: a participant's decisions (taking part, data), recorded with the text she saw, and the
notices they set going."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, meetings, notices
from bot.services.cases import latest_decisions
from bot.services.errors import Refused
from bot.services.programme.model import QUESTION_MAX, Notice, NotNow, text_version
from db.models import (
    Case,
    ConsentEvent,
    ConsentPurpose,
    Decision,
    Participant,
    Question,
)


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
