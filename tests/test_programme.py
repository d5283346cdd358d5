"""bot/services/programme.py: consent decisions, questions, her programme, relatives she lets us invite."""

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import cases, invitations, programme, users
from db.models import Approval, ConsentEvent, ConsentPurpose, Decision, Invitation, Participant, Question, Role
from tests.factories import NOW, REGION_A, REGION_B, RULES, TTL, Ids, audit_rows, ensure_regions, register

_ids = Ids(630_000_000, __name__)
new_id, person = _ids.new, _ids.person

VERSION = programme.text_version(["Согласие на обработку данных", "Можно отозвать"])

DATA, PART = ConsentPurpose.DATA, ConsentPurpose.PARTICIPATION
AGREE, DECLINE, WITHDRAW = Decision.AGREE, Decision.DECLINE, Decision.WITHDRAW


async def consent_rows(session: AsyncSession, participant_id: int) -> list[tuple[str, str, str, str, int]]:
    rows = await session.scalars(
        select(ConsentEvent).where(ConsentEvent.participant_id == participant_id).order_by(ConsentEvent.id)
    )
    result = [(e.purpose, e.decision, e.text_version, e.locale, e.user_id) for e in rows.all()]
    await session.commit()
    return result


async def setup(session: AsyncSession) -> SimpleNamespace:
    """A case in region A with a curator and a facilitator; the woman has opened her link."""
    await ensure_regions(session)
    s = SimpleNamespace()
    s.staff = await person(session, Role.STAFF, scope=REGION_A)
    s.curator = await person(session, Role.CURATOR, name="Ольга")
    s.facilitator = await person(session, Role.FACILITATOR, name="Ирина")
    s.case = await register(session, s.staff, curator_id=s.curator.user_id, facilitator_id=s.facilitator.user_id)
    s.woman = new_id()
    await invitations.redeem(session, token=s.case.woman_token, user_id=s.woman, first_name="Аня", now=NOW)
    s.pid = s.case.woman_participant_id
    return s


async def decide(
    session: AsyncSession, user_id: int, participant_id: int, purpose: ConsentPurpose, decision: Decision, **kw: object
) -> programme.Notice:
    values: dict[str, Any] = {"version": VERSION, "locale": "ru", "now": NOW}
    values.update(kw)
    return await programme.decide(
        session,
        user_id=user_id,
        participant_id=participant_id,
        purpose=purpose,
        decision=decision,
        **values,
    )


async def relative_of(session: AsyncSession, s: SimpleNamespace, name: str = "Мария") -> int:
    proposal = await cases.propose_relative(
        session, actor=s.curator, case_id=s.case.case_id, first_name=name, relation="mother", now=NOW
    )
    return proposal.participant_id


async def decide_relative(
    session: AsyncSession, user_id: int, relative_id: int, approval: Approval
) -> programme.RelativeDecision:
    return await programme.decide_relative(
        session, user_id=user_id, relative_id=relative_id, approval=approval, now=NOW, ttl_days=TTL
    )


async def relative_opens_her_link(session: AsyncSession, s: SimpleNamespace, relative_id: int) -> int:
    """The woman says yes to inviting the relative, who opens the link; her user id."""
    yes = await decide_relative(session, s.woman, relative_id, Approval.APPROVED)
    assert yes.token is not None
    relative_user = new_id()
    await invitations.redeem(session, token=yes.token, user_id=relative_user, first_name=None, now=NOW)
    return relative_user


# ---------------------------------------------------------------- consent


async def test_participation_needs_data_consent_first(session: AsyncSession) -> None:
    s = await setup(session)
    with pytest.raises(programme.NotNow) as caught:
        await decide(session, s.woman, s.pid, PART, AGREE)
    assert caught.value.why == "needs_data"
    assert not session.in_transaction()
    assert await consent_rows(session, s.pid) == []
    # Declining the data consent does not open the way either.
    await decide(session, s.woman, s.pid, DATA, DECLINE)
    with pytest.raises(programme.NotNow) as caught:
        await decide(session, s.woman, s.pid, PART, AGREE)
    assert caught.value.why == "needs_data"


async def test_nothing_to_withdraw(session: AsyncSession) -> None:
    s = await setup(session)
    for purpose in (DATA, PART):
        with pytest.raises(programme.NotNow) as caught:
            await decide(session, s.woman, s.pid, purpose, WITHDRAW)
        assert caught.value.why == "nothing_to_withdraw"
    await decide(session, s.woman, s.pid, DATA, DECLINE)
    with pytest.raises(programme.NotNow) as caught:
        await decide(session, s.woman, s.pid, DATA, WITHDRAW)
    assert caught.value.why == "nothing_to_withdraw"
    assert [r[:2] for r in await consent_rows(session, s.pid)] == [("data", "decline")]


async def test_agree_then_withdraw_data_withdraws_participation(session: AsyncSession) -> None:
    s = await setup(session)
    notice = await decide(session, s.woman, s.pid, DATA, AGREE)
    assert notice == programme.Notice(
        s.case.case_id, s.case.code, "Анна", "woman", "data", "agree", (s.facilitator.user_id, s.curator.user_id)
    )
    await decide(session, s.woman, s.pid, PART, AGREE, locale="en", version="v2")
    assert await consent_rows(session, s.pid) == [
        ("data", "agree", VERSION, "ru", s.woman),
        ("participation", "agree", "v2", "en", s.woman),
    ]
    assert len(VERSION) == 64

    later = NOW + timedelta(days=2)
    notice = await decide(session, s.woman, s.pid, DATA, WITHDRAW, now=later)
    assert (notice.purpose, notice.decision) == ("data", "withdraw")
    rows = await consent_rows(session, s.pid)
    assert len(rows) == 4
    assert [r[:2] for r in rows[2:]] == [("data", "withdraw"), ("participation", "withdraw")]
    decisions = await cases.latest_decisions(session, [s.pid])
    await session.commit()
    assert decisions == {(s.pid, "data"): "withdraw", (s.pid, "participation"): "withdraw"}
    audited = [(e.action, e.details) for e in await audit_rows(session, s.woman, "consent_withdraw")]
    assert audited == [
        ("consent_withdraw", {"purpose": "data"}),
        ("consent_withdraw", {"purpose": "participation"}),
    ]
    # Participation is gone already: nothing left to withdraw there.
    with pytest.raises(programme.NotNow) as caught:
        await decide(session, s.woman, s.pid, PART, WITHDRAW)
    assert caught.value.why == "nothing_to_withdraw"


async def test_withdraw_participation_alone_keeps_data(session: AsyncSession) -> None:
    s = await setup(session)
    await decide(session, s.woman, s.pid, DATA, AGREE)
    await decide(session, s.woman, s.pid, PART, AGREE)
    await decide(session, s.woman, s.pid, PART, WITHDRAW)
    assert [r[:2] for r in await consent_rows(session, s.pid)] == [
        ("data", "agree"),
        ("participation", "agree"),
        ("participation", "withdraw"),
    ]
    decisions = await cases.latest_decisions(session, [s.pid])
    await session.commit()
    assert decisions == {(s.pid, "data"): "agree", (s.pid, "participation"): "withdraw"}


async def test_decisions_show_on_the_case_card(session: AsyncSession) -> None:
    s = await setup(session)
    await decide(session, s.woman, s.pid, DATA, AGREE)
    view = await cases.open_case(session, actor=s.curator, case_id=s.case.case_id, rules=RULES, now=NOW)
    [woman] = view.participants
    assert (woman.joined, woman.link_open, woman.data_consent, woman.participation_consent) == (
        True,
        False,
        "agree",
        None,
    )


async def test_someone_elses_participation_is_refused(session: AsyncSession) -> None:
    s = await setup(session)
    stranger = await person(session, Role.WOMAN)
    with pytest.raises(programme.Refused):
        await decide(session, stranger.user_id, s.pid, DATA, AGREE)
    with pytest.raises(programme.Refused):
        await decide(session, stranger.user_id, 2_000_000_000, DATA, AGREE)
    with pytest.raises(programme.Refused):
        await programme.ask_first(
            session, user_id=stranger.user_id, participant_id=s.pid, text="?", version=VERSION, locale="ru", now=NOW
        )
    denied = await audit_rows(session, stranger.user_id, "denied")
    assert [(e.object_type, e.object_id, e.details) for e in denied] == [
        ("participant", str(s.pid), {"attempted": "consent"}),
        ("participant", "2000000000", {"attempted": "consent"}),
        ("participant", str(s.pid), {"attempted": "ask_first"}),
    ]
    assert await consent_rows(session, s.pid) == []
    # The curator of the case cannot decide for her either.
    with pytest.raises(programme.Refused):
        await decide(session, s.curator.user_id, s.pid, DATA, AGREE)


def test_text_version_depends_on_the_exact_texts() -> None:
    assert programme.text_version(["a", "b"]) == programme.text_version(["a", "b"])
    assert programme.text_version(["a", "b"]) != programme.text_version(["b", "a"])
    assert programme.text_version(["ab"]) != programme.text_version(["a", "b"])
    assert len(programme.text_version([])) == 64


def test_purposes_to_ask() -> None:
    assert programme.purposes_to_ask(None, None) == [DATA, PART]
    assert programme.purposes_to_ask("agree", None) == [PART]
    assert programme.purposes_to_ask("agree", "ask") == [PART]
    assert programme.purposes_to_ask("agree", "agree") == []
    assert programme.purposes_to_ask("withdraw", "withdraw") == [DATA, PART]


# ---------------------------------------------------------------- questions


async def test_ask_first(session: AsyncSession) -> None:
    s = await setup(session)
    notice = await programme.ask_first(
        session,
        user_id=s.woman,
        participant_id=s.pid,
        text="  Кто увидит, что я напишу?  ",
        version=VERSION,
        locale="ru",
        now=NOW,
    )
    assert (notice.purpose, notice.decision, notice.team) == (
        "participation",
        "ask",
        (s.facilitator.user_id, s.curator.user_id),
    )
    [question] = (await session.scalars(select(Question).where(Question.participant_id == s.pid))).all()
    assert (question.case_id, question.user_id, question.asked_at, question.answered_at) == (
        s.case.case_id,
        s.woman,
        NOW,
        None,
    )
    assert question.text == "Кто увидит, что я напишу?"
    raw = await session.scalar(text("SELECT text FROM questions WHERE id = :id"), {"id": question.id})
    assert raw and "увидит" not in raw
    await session.commit()
    assert await consent_rows(session, s.pid) == [("participation", "ask", VERSION, "ru", s.woman)]
    asked = await audit_rows(session, s.woman, "question_asked")
    assert [e.object_id for e in asked] == [str(s.pid)]
    # Asking first leaves the decision open.
    assert programme.purposes_to_ask(None, "ask") == [DATA, PART]


async def test_empty_question(session: AsyncSession) -> None:
    s = await setup(session)
    with pytest.raises(programme.NotNow) as caught:
        await programme.ask_first(
            session, user_id=s.woman, participant_id=s.pid, text="  \n ", version=VERSION, locale="ru", now=NOW
        )
    assert caught.value.why == "empty"
    assert await consent_rows(session, s.pid) == []


async def test_open_questions_by_scope(session: AsyncSession) -> None:
    s = await setup(session)
    await programme.ask_first(
        session, user_id=s.woman, participant_id=s.pid, text="Когда встреча?", version=VERSION, locale="ru", now=NOW
    )
    qid = await session.scalar(select(Question.id).where(Question.participant_id == s.pid))
    await session.commit()
    admin = await person(session, Role.ADMIN)
    staff_b = await person(session, Role.STAFF, scope=REGION_B)
    other_curator = await person(session, Role.CURATOR)

    for actor in (s.curator, s.facilitator):
        [found] = await programme.open_questions(session, actor=actor, now=NOW)
        assert (found.id, found.case_code, found.first_name, found.text, found.asked_at) == (
            qid,
            s.case.code,
            "Анна",
            "Когда встреча?",
            NOW,
        )
        read = await audit_rows(session, actor.user_id, "question_read")
        assert [(e.object_type, e.object_id) for e in read] == [("question", str(qid))]
    assert qid in [q.id for q in await programme.open_questions(session, actor=s.staff, limit=1000, now=NOW)]
    assert qid in [q.id for q in await programme.open_questions(session, actor=admin, limit=1000, now=NOW)]
    for outsider in (staff_b, other_curator):
        assert qid not in [q.id for q in await programme.open_questions(session, actor=outsider, limit=1000, now=NOW)]
        assert await audit_rows(session, outsider.user_id, "question_read") == []
    woman_profile = await users.get_profile(session, s.woman)
    assert woman_profile is not None
    assert await programme.open_questions(session, actor=woman_profile, now=NOW) == []

    # Answered questions leave the list; only the team of the case may mark them.
    with pytest.raises(programme.Refused):
        await programme.answer_question(session, actor=other_curator, question_id=qid, now=NOW)
    assert [e.object_id for e in await audit_rows(session, other_curator.user_id, "denied")] == [str(qid)]
    await programme.answer_question(session, actor=s.curator, question_id=qid, now=NOW + timedelta(hours=1))
    assert await programme.open_questions(session, actor=s.curator, now=NOW) == []
    session.expire_all()
    question = await session.get(Question, qid)
    assert question is not None and question.answered_at == NOW + timedelta(hours=1)
    await session.commit()


# ---------------------------------------------------------------- her programme and her relatives


async def test_my_programmes(session: AsyncSession) -> None:
    s = await setup(session)
    rid = await relative_of(session, s)
    await decide(session, s.woman, s.pid, DATA, AGREE)
    [mine] = await programme.my_programmes(session, user_id=s.woman)
    assert (mine.participant_id, mine.case_id, mine.kind, mine.stage) == (s.pid, s.case.case_id, "woman", 1)
    assert (mine.curator_name, mine.facilitator_name) == ("Ольга", "Ирина")
    assert (mine.data_consent, mine.participation_consent) == ("agree", None)
    assert mine.relatives == (programme.RelativeLine(rid, "Мария", "mother", "pending", False),)

    relative_user = await relative_opens_her_link(session, s, rid)
    await decide(session, relative_user, rid, DATA, AGREE)

    [mine] = await programme.my_programmes(session, user_id=s.woman)
    assert mine.relatives == (programme.RelativeLine(rid, "Мария", "mother", "approved", True),)
    [theirs] = await programme.my_programmes(session, user_id=relative_user)
    assert (theirs.participant_id, theirs.kind, theirs.data_consent) == (rid, "relative", "agree")
    assert theirs.relatives == ()
    assert await programme.my_programmes(session, user_id=new_id()) == []


async def test_relative_yes_then_no_revokes_the_link(session: AsyncSession) -> None:
    s = await setup(session)
    rid = await relative_of(session, s)
    yes = await decide_relative(session, s.woman, rid, Approval.APPROVED)
    assert yes.token is not None
    assert (yes.approval, yes.invited_before, yes.case_code, yes.relative_name, yes.relation) == (
        "approved",
        False,
        s.case.code,
        "Мария",
        "mother",
    )
    assert yes.tell == (s.curator.user_id,)  # proposed by the curator, who is also the case's curator
    link = await session.scalar(select(Invitation).where(Invitation.token_hash == invitations.hash_token(yes.token)))
    assert link is not None and link.participant_id == rid and link.created_by == s.woman
    await session.commit()

    no = await decide_relative(session, s.woman, rid, Approval.DECLINED)
    assert (no.token, no.approval, no.invited_before) == (None, "declined", True)
    session.expire_all()
    relative = await session.get(Participant, rid)
    assert relative is not None and relative.approval == "declined"
    await session.commit()
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token=yes.token, user_id=new_id(), first_name=None, now=NOW)
    assert caught.value.reason == "revoked"
    decided = await audit_rows(session, s.woman, "relative_decided")
    assert [e.details for e in decided] == [{"approval": "approved"}, {"approval": "declined"}]

    # "Not now" before any "yes" revokes nothing; a new "yes" gives a new link.
    later = await decide_relative(session, s.woman, rid, Approval.LATER)
    assert (later.token, later.invited_before) == (None, False)
    again = await decide_relative(session, s.woman, rid, Approval.APPROVED)
    assert again.token is not None and again.token != yes.token
    joined = await invitations.redeem(session, token=again.token, user_id=new_id(), first_name=None, now=NOW)
    assert isinstance(joined, invitations.JoinedCase) and joined.kind == "relative"


async def test_only_the_woman_decides_about_her_relatives(session: AsyncSession) -> None:
    s = await setup(session)
    rid = await relative_of(session, s)
    other = await setup(session)  # a woman of another case
    for user_id, relative_id in (
        (s.curator.user_id, rid),
        (other.woman, rid),
        (s.woman, s.pid),  # herself is not a relative
        (s.woman, 2_000_000_000),
    ):
        with pytest.raises(programme.Refused):
            await decide_relative(session, user_id, relative_id, Approval.APPROVED)
        denied = await audit_rows(session, user_id, "denied")
        assert (denied[-1].object_id, denied[-1].details) == (str(relative_id), {"attempted": "approve_relative"})
    session.expire_all()
    relative = await session.get(Participant, rid)
    assert relative is not None and relative.approval == "pending"
    links = (await session.scalars(select(Invitation.id).where(Invitation.participant_id == rid))).all()
    assert links == []
    await session.commit()


async def test_no_change_after_the_relative_answered(session: AsyncSession) -> None:
    s = await setup(session)
    rid = await relative_of(session, s)
    relative_user = await relative_opens_her_link(session, s, rid)
    await decide(session, relative_user, rid, DATA, AGREE)
    with pytest.raises(programme.NotNow) as caught:
        await decide_relative(session, s.woman, rid, Approval.DECLINED)
    assert caught.value.why == "answered"
    assert not session.in_transaction()
    session.expire_all()
    relative = await session.get(Participant, rid)
    assert relative is not None and (relative.approval, relative.user_id) == ("approved", relative_user)
    await session.commit()


async def test_relative_who_only_opened_the_link_counts_as_answered(session: AsyncSession) -> None:
    s = await setup(session)
    rid = await relative_of(session, s)
    await relative_opens_her_link(session, s, rid)
    with pytest.raises(programme.NotNow) as caught:
        await decide_relative(session, s.woman, rid, Approval.DECLINED)
    assert caught.value.why == "answered"
