"""bot/services/surveys.py: the survey files, invites, answering one question at a time, expiry,
anonymity of the answers and the report's "at least 5 answers" rule."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from bot.services import surveys
from db.models import AuditEvent, Case, Region, Reminder, Role, SurveyAnswer, SurveyInvite
from tests.factories import NOW, Ids, audit_rows, ensure_regions, register

_ids = Ids(670_000_000, __name__)
new_id, person = _ids.new, _ids.person
DAYS = 14
GOOD = surveys.DEFAULT_DIR / "preliminary.yaml"


# ------------------------------------------------------------------ content


def test_the_files_in_content_load() -> None:
    found = surveys.load()
    assert set(found) == set(surveys.KEYS)
    assert 2 <= len(found["preliminary"].questions) <= 3
    assert [q.kind for q in found["general"].questions] == ["scale"] * 4 + ["text"]
    for survey in found.values():
        assert survey.questions[-1].kind == "text" and survey.questions[-1].optional
        for question in survey.questions:
            assert set(question.text) == {"ru", "en"}


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    for key in surveys.KEYS:
        (tmp_path / f"{key}.yaml").write_text((surveys.DEFAULT_DIR / f"{key}.yaml").read_text("utf-8"), "utf-8")
    path = tmp_path / "general.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "kind: scale",
            "kind: slider",
            "general.yaml.questions[0] (felt_safe).kind: expected one of scale, choice, text",
        ),
        ("key: was_heard", "key: Was-Heard", "general.yaml.questions[1].key: expected [a-z0-9_]"),
        ("optional: true", "optional: false", "general.yaml.questions[4] (comment).optional: free text is always"),
        ('en: "Is the agreement fair to you?', 'de: "Is the agreement fair to you?', "(agreement_fair).text: expected"),
        ("key: general", "key: generic", "general.yaml.key: expected 'general'"),
        ("questions:", "questions: []\nold_questions:", "general.yaml.questions: expected a list"),
    ],
)
def test_a_broken_file_is_named_with_its_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    folder = _broken(tmp_path, old, new)
    with pytest.raises(surveys.SurveyError) as caught:
        surveys.load(folder)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    surveys.load()  # the good files again for the rest of the run


def test_a_missing_file_and_a_bad_option(tmp_path: Path) -> None:
    folder = _broken(tmp_path, "kind: scale", "kind: scale")
    (folder / "final.yaml").unlink()
    with pytest.raises(surveys.SurveyError, match=r"surveys/final.yaml: missing"):
        surveys.load(folder)
    followup = (folder / "followup_1m.yaml").read_text("utf-8").replace("key: not_really", "key: not:really")
    (folder / "followup_1m.yaml").write_text(followup, "utf-8")
    with pytest.raises(surveys.SurveyError, match=r"followup_1m.yaml.questions\[0\] \(agreement_kept\).options\[2\]"):
        surveys.parse_file(folder / "followup_1m.yaml")
    surveys.load()


async def test_a_broken_file_stops_start_up(tmp_path: Path) -> None:
    import shutil

    from bot.app import load_content
    from bot.config import ConfigurationError
    from tests.conftest import CONTENT, make_settings

    content = tmp_path / "content"
    shutil.copytree(CONTENT, content, ignore=shutil.ignore_patterns("*.mo", "*.po", "*.pot"))
    (content / "surveys" / "final.yaml").write_text("key: final\ntitle: nope\n", "utf-8")
    settings = make_settings("http://127.0.0.1:1", "sqlite+aiosqlite:///:memory:", content_dir=str(content))
    with pytest.raises(ConfigurationError, match=r"^CONTENT_DIR: final.yaml.questions: expected a list"):
        load_content(settings)
    surveys.load()


# ------------------------------------------------------------------ helpers


async def _region(session) -> str:
    """A region of this test alone: the database is shared, and the report counts per region."""
    code = "zz_sv_" + uuid.uuid4().hex[:10]
    session.add(Region(code=code, name={"ru": "Тест", "en": "Test"}, timezone="Asia/Barnaul", position=990))
    await session.commit()
    return code


async def _case(session, region: str) -> int:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    return (await register(session, admin, region_code=region)).case_id


async def _invite(session, user_id: int, case_id: int | None, *, survey: str = "preliminary", ref: str = "meeting:1"):
    created = await surveys.invite(
        session,
        user_id=user_id,
        survey=survey,
        ref=ref,
        case_id=case_id,
        due_at=NOW,
        now=NOW,
        expire_days=DAYS,
    )
    await session.commit()
    return created


async def _delivered(session, user_id: int, case_id: int | None, **kw) -> surveys.Current:
    assert await _invite(session, user_id, case_id, **kw)
    invite_id = await session.scalar(
        select(SurveyInvite.id).where(SurveyInvite.user_id == user_id).order_by(SurveyInvite.id.desc()).limit(1)
    )
    current = await surveys.deliver(session, invite_id=invite_id, now=NOW)
    assert current is not None
    return current


async def _answers(session, region: str) -> list[SurveyAnswer]:
    rows = (await session.scalars(select(SurveyAnswer).where(SurveyAnswer.region_code == region))).all()
    await session.commit()
    return list(rows)


# ------------------------------------------------------------------ invites


async def test_invite_once_with_its_reminder(session) -> None:
    user = new_id()
    assert await _invite(session, user, None)
    assert not await _invite(session, user, None)  # the same (person, survey, ref): ignored
    assert await _invite(session, user, None, ref="meeting:2")  # another meeting: a survey of its own
    invites = (await session.scalars(select(SurveyInvite).where(SurveyInvite.user_id == user))).all()
    assert [(i.state, i.question, i.expires_at) for i in invites] == [("pending", 0, NOW + timedelta(days=DAYS))] * 2
    rows = (await session.scalars(select(Reminder).where(Reminder.recipient_id == user).order_by(Reminder.id))).all()
    assert [r.kind for r in rows] == ["survey", "survey"]
    assert [r.payload for r in rows] == [{"invite": i.id} for i in invites]
    # Two surveys due at the same moment do not swallow each other's reminder: two rows, one each.
    assert rows[0].due_at == rows[1].due_at and rows[0].payload != rows[1].payload
    await session.commit()


async def test_invite_does_not_commit(session_factory) -> None:
    user = new_id()
    async with session_factory() as session:
        await surveys.invite(
            session, user_id=user, survey="final", ref="case:1", case_id=None, due_at=NOW, now=NOW, expire_days=DAYS
        )
        await session.rollback()
    async with session_factory() as session:
        assert await session.scalar(select(SurveyInvite.id).where(SurveyInvite.user_id == user)) is None
        assert await session.scalar(select(Reminder.id).where(Reminder.recipient_id == user)) is None


async def test_a_survey_not_yet_sent_is_not_current(session) -> None:
    user = new_id()
    assert await _invite(session, user, None)
    assert await surveys.current(session, user_id=user, now=NOW) is None
    await session.commit()


# ------------------------------------------------------------------ answering


async def test_answer_every_question_then_done(session) -> None:
    region = await _region(session)
    case_id = await _case(session, region)
    user = new_id()
    first = await _delivered(session, user, case_id, survey="preliminary")
    assert (first.index, first.question.key, first.total) == (0, "felt_safe", 3)
    again = await surveys.current(session, user_id=user, now=NOW)
    await session.commit()
    assert again is not None and again.invite_id == first.invite_id and again.index == 0

    step = await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="4", now=NOW)
    assert step.next is not None and step.next.question.key == "was_heard"
    step = await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=1, value="5", now=NOW)
    assert step.next is not None and step.next.question.kind == "text"
    now = await surveys.current(session, user_id=user, now=NOW)
    await session.commit()
    assert now is not None and now.question.kind == "text"
    step = await surveys.answer(
        session, invite_id=first.invite_id, user_id=user, question_index=2, value="  Спасибо ведущей  ", now=NOW
    )
    assert step.done
    assert await surveys.current(session, user_id=user, now=NOW) is None
    invite = await session.get(SurveyInvite, first.invite_id, populate_existing=True)
    assert invite.state == "done"
    await session.commit()

    rows = sorted(await _answers(session, region), key=lambda r: r.question)
    assert [(r.survey, r.question, r.score, r.choice, r.text) for r in rows] == [
        ("preliminary", "comment", None, None, "Спасибо ведущей"),
        ("preliminary", "felt_safe", 4, None, None),
        ("preliminary", "was_heard", 5, None, None),
    ]
    assert {(r.stage, r.region_code, r.month) for r in rows} == {(1, region, "2026-11")}


async def test_the_stage_is_the_case_current_one(session) -> None:
    region = await _region(session)
    case_id = await _case(session, region)
    user = new_id()
    first = await _delivered(session, user, case_id, survey="followup_1m")
    case = await session.get(Case, case_id)
    case.stage = 5
    await session.commit()
    await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="partly", now=NOW)
    [row] = await _answers(session, region)
    assert (row.question, row.choice, row.stage) == ("agreement_kept", "partly", 5)


async def test_stale_forged_and_invalid_answers_store_nothing(session) -> None:
    region = await _region(session)
    case_id = await _case(session, region)
    user, other = new_id(), new_id()
    first = await _delivered(session, user, case_id, survey="followup_1m")

    with pytest.raises(surveys.Invalid):  # not an option of this choice
        await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="maybe", now=NOW)
    with pytest.raises(surveys.Stale):  # a question she is not at
        await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=1, value="3", now=NOW)
    with pytest.raises(surveys.Stale):  # another person's invite: a forged button, audited
        await surveys.answer(
            session, invite_id=first.invite_id, user_id=other, question_index=0, value="mostly", now=NOW
        )
    assert [e.object_type for e in await audit_rows(session, other, "denied")] == ["survey_invite"]
    with pytest.raises(surveys.Stale):  # an invite that does not exist
        await surveys.skip(session, invite_id=2_000_000_000, user_id=user, question_index=0, now=NOW)
    assert await _answers(session, region) == []

    await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="mostly", now=NOW)
    with pytest.raises(surveys.Stale):  # the same button again (a double tap)
        await surveys.answer(
            session, invite_id=first.invite_id, user_id=user, question_index=0, value="mostly", now=NOW
        )
    with pytest.raises(surveys.Invalid):  # a scale takes 1-5 only
        await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=1, value="6", now=NOW)
    assert len(await _answers(session, region)) == 1
    invite = await session.get(SurveyInvite, first.invite_id, populate_existing=True)
    assert (invite.state, invite.question) == ("active", 1)
    await session.commit()


async def test_skip_moves_on_without_an_answer(session) -> None:
    region = await _region(session)
    case_id = await _case(session, region)
    user = new_id()
    first = await _delivered(session, user, case_id, survey="final")
    step = await surveys.skip(session, invite_id=first.invite_id, user_id=user, question_index=0, now=NOW)
    assert step.next is not None and step.next.question.key == "recommend"
    step = await surveys.answer(
        session, invite_id=first.invite_id, user_id=user, question_index=1, value="yes", now=NOW
    )
    step = await surveys.skip(session, invite_id=first.invite_id, user_id=user, question_index=2, now=NOW)
    assert step.done
    rows = await _answers(session, region)
    assert [(r.question, r.choice) for r in rows] == [("recommend", "yes")]
    with pytest.raises(surveys.Stale):  # a done survey takes nothing more
        await surveys.skip(session, invite_id=first.invite_id, user_id=user, question_index=2, now=NOW)


async def test_expiry(session) -> None:
    user = new_id()
    first = await _delivered(session, user, None, survey="general")
    late = NOW + timedelta(days=DAYS, seconds=1)
    assert await surveys.current(session, user_id=user, now=late) is None
    await session.commit()
    with pytest.raises(surveys.Closed):  # her late tap
        await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="5", now=late)
    invite = await session.get(SurveyInvite, first.invite_id, populate_existing=True)
    assert invite.state == "expired"
    await session.commit()
    with pytest.raises(surveys.Closed):
        await surveys.skip(session, invite_id=first.invite_id, user_id=user, question_index=0, now=late)

    # The daily job: an unsent invite past its time expires, and its reminder then drops.
    other = new_id()
    assert await _invite(session, other, None, survey="final", ref="case:7")
    assert await surveys.expire(session, now=NOW + timedelta(days=DAYS - 1)) >= 0
    invite = await session.scalar(select(SurveyInvite).where(SurveyInvite.user_id == other))
    assert invite.state == "pending"
    await session.commit()
    assert await surveys.expire(session, now=late) >= 1
    invite = await session.scalar(
        select(SurveyInvite).where(SurveyInvite.user_id == other).execution_options(populate_existing=True)
    )
    assert invite.state == "expired"
    await session.commit()
    assert await surveys.deliver(session, invite_id=invite.id, now=late) is None


async def test_forget_removes_her_invites(session) -> None:
    user = new_id()
    await _delivered(session, user, None)
    assert await surveys.forget(session, user_id=user) == 1
    await session.commit()
    assert await session.scalar(select(SurveyInvite.id).where(SurveyInvite.user_id == user)) is None
    await session.commit()


# ------------------------------------------------------------------ anonymity


def test_an_answer_has_no_column_that_leads_to_a_person() -> None:
    columns = {c.name for c in inspect(SurveyAnswer).columns}
    assert columns == {"id", "survey", "question", "stage", "region_code", "score", "choice", "text", "month"}
    assert not inspect(SurveyAnswer).local_table.foreign_keys


async def test_answers_of_two_people_are_indistinguishable(session) -> None:
    region = await _region(session)
    case_id = await _case(session, region)
    for user in (new_id(), new_id()):
        first = await _delivered(session, user, case_id, survey="preliminary")
        await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="3", now=NOW)
    a, b = await _answers(session, region)
    assert a.id != b.id
    fields = [c.name for c in inspect(SurveyAnswer).columns if c.name != "id"]
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


async def test_once_answered_the_invite_and_the_answers_cannot_be_lined_up(session) -> None:
    """A finished (or expired) invite keeps only the month of its times; answers get random ids, so
    neither their order nor a time leads from an answer to the invite, and so to her."""
    region = await _region(session)
    case_id = await _case(session, region)
    month = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    user = new_id()
    first = await _delivered(session, user, case_id, survey="preliminary")
    later = NOW + timedelta(hours=3, minutes=7)
    for index, value in enumerate(("4", "5", "мои слова")):
        await surveys.answer(
            session, invite_id=first.invite_id, user_id=user, question_index=index, value=value, now=later
        )
    invite = await session.get(SurveyInvite, first.invite_id, populate_existing=True)
    assert invite.state == "done"
    assert (invite.created_at, invite.expires_at, invite.updated_at) == (month, month, month)
    await session.commit()
    ids = [a.id for a in await _answers(session, region)]
    assert max(ids) > 2**40  # random over 62 bits, not a counter that follows time

    quitter = new_id()
    gone = await _delivered(session, quitter, None, survey="general")
    await surveys.expire(session, now=NOW + timedelta(days=DAYS, hours=5))
    expired = await session.get(SurveyInvite, gone.invite_id, populate_existing=True)
    assert expired.state == "expired" and expired.updated_at.day == 1 and expired.updated_at.hour == 0
    await session.commit()


# ------------------------------------------------------------------ the report


async def _scores(session, region: str, case_id: int, values: list[str]) -> None:
    for value in values:
        user = new_id()
        first = await _delivered(session, user, case_id, survey="preliminary")
        await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value=value, now=NOW)
        await surveys.skip(session, invite_id=first.invite_id, user_id=user, question_index=1, now=NOW)
        await surveys.answer(
            session, invite_id=first.invite_id, user_id=user, question_index=2, value="что-то личное", now=NOW
        )


def _stats(report: surveys.Report, survey: str, question: str) -> surveys.QuestionStats:
    [found] = [q for s in report.surveys if s.survey.key == survey for q in s.questions if q.question.key == question]
    return found


async def test_report_shows_a_question_only_from_five_answers(session) -> None:
    region = await _region(session)
    case_id = await _case(session, region)
    staff = await person(session, Role.STAFF, scope=region)
    await _scores(session, region, case_id, ["5", "4", "4", "2"])
    report = await surveys.report(session, actor=staff, now=NOW)
    assert report.region == region
    safe = _stats(report, "preliminary", "felt_safe")
    assert (safe.shown, safe.count, safe.mean, safe.distribution) == (False, 0, None, {})
    assert not _stats(report, "preliminary", "comment").shown

    await _scores(session, region, case_id, ["5"])
    report = await surveys.report(session, actor=staff, now=NOW)
    safe = _stats(report, "preliminary", "felt_safe")
    assert (safe.shown, safe.count, safe.mean) == (True, 5, 4.0)
    assert safe.distribution == {1: 0, 2: 1, 3: 0, 4: 2, 5: 2}
    comment = _stats(report, "preliminary", "comment")
    assert (comment.shown, comment.count) == (True, 5)  # counted; the texts are nowhere in the report
    assert "что-то личное" not in repr(report)
    assert not _stats(report, "preliminary", "was_heard").shown  # everyone skipped it
    assert not _stats(report, "general", "felt_safe").shown
    assert len(await audit_rows(session, staff.user_id, "survey_report_viewed")) == 2


async def test_report_scope(session) -> None:
    region, elsewhere = await _region(session), await _region(session)
    case_id = await _case(session, region)
    await _scores(session, region, case_id, ["1", "2", "3", "4", "5"])
    theirs = await person(session, Role.STAFF, scope=elsewhere)
    report = await surveys.report(session, actor=theirs, region=region, now=NOW)  # asking for another region
    assert report.region == elsewhere
    assert not any(q.shown for s in report.surveys for q in s.questions)
    unscoped = await person(session, Role.STAFF, scope=None)
    report = await surveys.report(session, actor=unscoped, now=NOW)
    assert not any(q.shown for s in report.surveys for q in s.questions)

    admin = await person(session, Role.ADMIN)
    mine = await surveys.report(session, actor=admin, region=region, now=NOW)
    assert _stats(mine, "preliminary", "felt_safe").mean == 3.0
    everything = await surveys.report(session, actor=admin, now=NOW)
    assert everything.region is None and _stats(everything, "preliminary", "felt_safe").count >= 5

    curator = await person(session, Role.CURATOR)
    with pytest.raises(surveys.Refused):
        await surveys.report(session, actor=curator, now=NOW)
    events = (await session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == curator.user_id))).all()
    assert list(events) == ["denied"]
    await session.commit()


async def test_answers_without_a_case(session) -> None:
    def count() -> object:
        return (
            select(func.count())
            .select_from(SurveyAnswer)
            .where(
                SurveyAnswer.survey == "followup_3m", SurveyAnswer.region_code.is_(None), SurveyAnswer.stage.is_(None)
            )
        )

    before = await session.scalar(count())
    await session.commit()
    user = new_id()
    first = await _delivered(session, user, None, survey="followup_3m")
    await surveys.answer(session, invite_id=first.invite_id, user_id=user, question_index=0, value="mostly", now=NOW)
    assert await session.scalar(count()) == before + 1  # no region: only admins' "all regions" counts it
    await session.commit()
