"""Feedback surveys through the fake Bot API: the first question arrives as a reminder, she answers
with buttons and in words, skips, continues after a restart, taps too late; staff read the
anonymous report only where at least five answers exist."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from bot.services import surveys
from db.models import Region, Role, SurveyInvite
from tests.conftest import Clock
from tests.e2e.people import at_menu, team_member
from tests.factories import NOW, Ids, register

_ids = Ids(680_000_000, __name__)
DAYS = 14


async def _invite(session, user_id: int, clock: Clock, *, survey: str, case_id: int | None = None) -> int:
    ref = "test:" + uuid.uuid4().hex[:8]
    assert await surveys.invite(
        session,
        user_id=user_id,
        survey=survey,
        ref=ref,
        case_id=case_id,
        due_at=clock.now,
        now=clock.now,
        expire_days=DAYS,
    )
    await session.commit()
    invite_id = await session.scalar(
        select(SurveyInvite.id).where(SurveyInvite.user_id == user_id, SurveyInvite.ref == ref)
    )
    await session.commit()
    return invite_id


async def _state(session, invite_id: int) -> tuple[str, int]:
    session.expire_all()
    row = await session.get(SurveyInvite, invite_id)
    await session.commit()
    return row.state, row.question


def _no_buttons(user, message) -> bool:
    return not next(m for m in user.messages if m.message_id == message.message_id).buttons


async def test_she_answers_every_question_with_buttons_and_words(start_bot, fake, session) -> None:
    clock = Clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    woman = await at_menu(fake)
    invite_id = await _invite(session, woman.id, clock, survey="general")
    await app.run_reminders()
    first = await woman.expect("How was the general meeting?", predicate=lambda m: m.has_button("5 😊"))
    assert "anonymous" in first.text and "Question 1 of 5" in first.text and first.has_button("Skip")
    stale = first.button_data["4 🙂"]
    await woman.press("4 🙂", first)
    assert "Thank you" in (await woman.expect_callback_answer()).get("text", "")
    second = await woman.expect("Question 2 of 5", predicate=lambda m: m.has_button("1 😞"))
    assert "How was the general meeting" not in second.text  # the intro once, then one question per message
    assert _no_buttons(woman, first)

    # A double tap on the answered question changes nothing.
    await woman.forge_callback(stale, first)
    assert "already been answered" in (await woman.expect_callback_answer()).get("text", "")
    assert await _state(session, invite_id) == ("active", 1)

    await woman.press("5 😊", second)
    third = await woman.expect("Question 3 of 5", predicate=lambda m: m.has_button("3 😐"))
    await woman.press("3 😐", third)
    fourth = await woman.expect("Question 4 of 5", predicate=lambda m: m.has_button("2 🙁"))
    await woman.press("2 🙁", fourth)
    fifth = await woman.expect("Question 5 of 5", predicate=lambda m: m.has_button("Skip"))
    assert "Write your answer in a message" in fifth.text
    await woman.send("Thank you to everyone.")
    await woman.expect("Thank you for your answers")
    assert await _state(session, invite_id) == ("done", 4)
    # Afterwards her words are not taken for a survey any more.
    await woman.send("hello")
    reply = await woman.expect()
    assert "Thank you for your answers" not in reply.text


async def test_her_words_go_to_the_survey_not_the_relay_but_crisis_words_come_first(start_bot, fake, session) -> None:
    from bot.services import relay as relay_service

    clock = Clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    woman = await at_menu(fake)
    await relay_service.open_for(session, user_id=woman.id, now=clock.now)  # she is talking with a person
    await session.commit()
    invite_id = await _invite(session, woman.id, clock, survey="followup_3m")
    await app.run_reminders()
    first = await woman.expect("Three months since the agreement", predicate=lambda m: m.has_button("Mostly yes"))
    await woman.press("Mostly yes", first)
    second = await woman.expect("Question 2 of 3", predicate=lambda m: m.has_button("5 😊"))
    await woman.press("5 😊", second)
    await woman.expect("Question 3 of 3")
    await woman.send("I want to die")  # crisis words are never taken for an answer
    await woman.expect("Urgent help")
    assert await _state(session, invite_id) == ("active", 2)
    await woman.send("We talk more now.")
    await woman.expect("Thank you for your answers")
    assert await _state(session, invite_id) == ("done", 2)


async def test_she_skips_everything(start_bot, fake, session) -> None:
    clock = Clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    woman = await at_menu(fake)
    invite_id = await _invite(session, woman.id, clock, survey="final")
    await app.run_reminders()
    first = await woman.expect("The programme has ended", predicate=lambda m: m.has_button("Skip"))
    await woman.press("Skip", first)
    await woman.expect_callback_answer()
    second = await woman.expect("Question 2 of 3", predicate=lambda m: m.has_button("Not sure"))
    assert second.has_button("Yes") and second.has_button("No")
    await woman.press("Skip", second)
    third = await woman.expect("Question 3 of 3", predicate=lambda m: m.has_button("Skip"))
    await woman.press("Skip", third)
    await woman.expect("Thank you for your answers")
    assert await _state(session, invite_id) == ("done", 2)


async def test_she_continues_after_a_restart(start_bot, fake, session) -> None:
    clock = Clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    woman = await at_menu(fake)
    invite_id = await _invite(session, woman.id, clock, survey="followup_1m")
    await app.run_reminders()
    first = await woman.expect("A month since the agreement", predicate=lambda m: m.has_button("Mostly yes"))
    await woman.press("Partly", first)
    second = await woman.expect("Question 2 of 3", predicate=lambda m: m.has_button("4 🙂"))

    await app.test_stop()
    clock.now += timedelta(days=2)
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    await app.run_reminders()
    await woman.expect_silence(0.3)  # the survey is not sent again
    await woman.press("4 🙂", second)  # a button sent before the restart
    await woman.expect("Question 3 of 3", predicate=lambda m: m.has_button("Skip"))
    await app.test_stop()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    await woman.send("Things are calmer at home.")
    await woman.expect("Thank you for your answers")
    assert await _state(session, invite_id) == ("done", 2)


async def test_a_late_tap_on_an_expired_survey(start_bot, fake, session) -> None:
    clock = Clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    woman = await at_menu(fake)
    invite_id = await _invite(session, woman.id, clock, survey="preliminary")
    await app.run_reminders()
    first = await woman.expect("How was your meeting with the facilitator?", predicate=lambda m: m.has_button("3 😐"))
    clock.now += timedelta(days=DAYS + 1)
    assert await app.jobs.expire_surveys() >= 1
    assert await _state(session, invite_id) == ("expired", 0)
    await woman.press("3 😐", first)
    assert "This survey has closed, thank you anyway" in (await woman.expect_callback_answer()).get("text", "")
    await woman.expect(predicate=lambda m: m.message_id == first.message_id and not m.buttons)

    # An invite whose reminder could not go out in time (the bot was down) is never sent late.
    other = await _invite(session, woman.id, Clock(clock.now - timedelta(days=DAYS + 1)), survey="final")
    await app.run_reminders()
    await woman.expect_silence(0.3)
    assert (await _state(session, other))[0] == "expired"


async def _answers(session, case_id: int, values: list[str]) -> None:
    """People who answered the first question of the preliminary survey (through the service)."""
    for value in values:
        user = _ids.new()
        await surveys.invite(
            session,
            user_id=user,
            survey="preliminary",
            ref="m:1",
            case_id=case_id,
            due_at=NOW,
            now=NOW,
            expire_days=DAYS,
        )
        await session.commit()
        invite_id = await session.scalar(select(SurveyInvite.id).where(SurveyInvite.user_id == user))
        await surveys.deliver(session, invite_id=invite_id, now=NOW)
        await surveys.answer(session, invite_id=invite_id, user_id=user, question_index=0, value=value, now=NOW)


async def test_the_report_shows_five_answers_not_four(start_bot, fake, session) -> None:
    app = await start_bot()
    await app.sender.hold()  # the test delivers and answers the surveys itself (the sender would race it)
    region, elsewhere = "zz_sv_" + uuid.uuid4().hex[:10], "zz_sv_" + uuid.uuid4().hex[:10]
    for code in (region, elsewhere):
        session.add(Region(code=code, name={"ru": "Тест", "en": "Test"}, timezone="Asia/Barnaul", position=990))
    await session.commit()
    admin = await _ids.person(session, Role.ADMIN)
    case_id = (await register(session, admin, region_code=region)).case_id
    staff = await team_member(fake, session, "staff", region=region)

    await _answers(session, case_id, ["5", "4", "4", "3"])
    await staff.send("/survey_report")
    hidden = await staff.expect("Feedback surveys")
    assert region in hidden.text
    assert "How was your meeting with the facilitator?" in hidden.text
    assert "of 5" not in hidden.text and "fewer than 5 answers" in hidden.text

    await _answers(session, case_id, ["4"])
    await staff.send("/survey_report")
    shown = await staff.expect("Feedback surveys")
    assert "Did you feel calm and safe at the meeting?: 4.0 of 5, 5 answers (1:0 2:0 3:1 4:3 5:1)" in shown.text
    assert len(shown.raw_text or "") < 4096

    # Staff of another region see none of it; a participant is told the command is not hers.
    other = await team_member(fake, session, "staff", region=elsewhere, name="Вера")
    await other.send("/survey_report")
    theirs = await other.expect("Feedback surveys")
    assert "4.0 of 5" not in theirs.text
    woman = await at_menu(fake)
    await woman.send("/survey_report")
    await woman.expect("only for the programme team")
