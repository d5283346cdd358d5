"""Questions participants ask the team, and the team's answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.cases import can_see, in_scope
from bot.services.errors import Refused
from bot.services.programme.model import OpenQuestion
from bot.services.users import Profile
from db.models import (
    Case,
    Participant,
    Question,
)


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
