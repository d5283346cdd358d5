"""A case is registered, the woman opens her link, reads, agrees, later withdraws; her team is told."""

from sqlalchemy import select

from db.models import AuditEvent, ConsentEvent, Participant
from tests.e2e.people import consent_screens, register_case, team_member


async def test_register_invite_agree_and_withdraw(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff", name="Светлана")
    curator = await team_member(fake, session, "curator", name="Ирина")
    facilitator = await team_member(fake, session, "facilitator", name="Павел")
    code, payload = await register_case(staff, curator=curator.first_name, facilitator=facilitator.first_name)

    woman = fake.user(first_name="Anna", language_code="en")
    await consent_screens(woman, payload)
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I want to ask first"))
    await woman.press("I agree")
    await woman.expect("Thank you. 🌱", predicate=lambda m: m.has_button("My programme"))
    told = await facilitator.expect(f"Case {code}")
    assert "taking part: agreed" in told.text and "Анна" in told.text
    await curator.expect(f"Case {code}")

    await woman.press("My programme")
    mine = await woman.expect("My programme", predicate=lambda m: m.has_button("Withdraw from the programme"))
    assert curator.first_name in mine.text and facilitator.first_name in mine.text
    assert "Keeping your data: you agreed" in mine.text
    await woman.press("Withdraw from the programme")
    await woman.expect("Withdraw from the programme?", predicate=lambda m: m.has_button("No, stay"))
    await woman.press("No, stay")  # one tap does not withdraw
    await woman.expect("My programme", predicate=lambda m: m.has_button("Withdraw from the programme"))
    await woman.press("Withdraw from the programme")
    confirm = await woman.expect("Withdraw from the programme?", predicate=lambda m: m.has_button("No, stay"))
    assert "Decide about taking part" in confirm.text  # the way back is named
    await woman.press("Yes, withdraw")
    await woman.expect("You have withdrawn", predicate=lambda m: m.has_button("agree again"))
    withdrawn = await facilitator.expect("withdrew consent")
    assert code in withdrawn.text
    await curator.expect("withdrew consent")

    session.expire_all()
    participant = await session.scalar(select(Participant).where(Participant.user_id == woman.id))
    events = (
        await session.scalars(
            select(ConsentEvent).where(ConsentEvent.participant_id == participant.id).order_by(ConsentEvent.id)
        )
    ).all()
    assert [(e.purpose, e.decision) for e in events] == [
        ("data", "agree"),
        ("participation", "agree"),
        ("participation", "withdraw"),
    ]
    assert all(len(e.text_version) == 64 and e.locale == "en" for e in events)
    # The data and participation texts differ, so their versions do too.
    assert events[0].text_version != events[1].text_version


async def test_decline_and_ask_first(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    curator = await team_member(fake, session, "curator", name="Ирина")
    _code, payload = await register_case(staff, name="Вера", curator=curator.first_name)

    woman = fake.user(language_code="en")
    await consent_screens(woman, payload)
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I want to ask first"))
    await woman.press("I want to ask first")
    await woman.expect("Write your question", predicate=lambda m: m.has_button("Back"))
    await woman.send_sticker()
    await woman.expect("written in words")
    await woman.send("Will my mother be there?")
    await woman.expect("Your question is saved", predicate=lambda m: m.has_button("My programme"))
    await curator.expect("asked a question")

    await curator.send("/questions")
    await curator.expect("Questions before deciding: 1")
    question = await curator.expect("Will my mother be there?")
    number = question.text.split()[0].lstrip("#")
    await curator.send(f"/answered {number}")
    await curator.expect("Marked as answered")
    await curator.send("/questions")
    await curator.expect("No open questions")

    await woman.press("My programme")
    await woman.expect("Taking part: you asked a question first", predicate=lambda m: m.has_button("Decide"))
    await woman.press("Decide about taking part")
    await woman.expect("Why you are invited", predicate=lambda m: m.has_button("Next"))
    for _ in range(4):
        await woman.press("Next")
        await woman.expect(predicate=lambda m: m.has_button("Back"))
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I do not agree"))
    await woman.press("I do not agree")
    await woman.expect("Thank you for telling us", predicate=lambda m: m.has_button("Menu"))
    await curator.expect("taking part: declined")

    reads = (
        await session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor_id == curator.id, AuditEvent.action == "question_read")
        )
    ).all()
    assert reads == ["question_read"]


async def test_declining_data_stops_there(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    _code, payload = await register_case(staff, name="Лена")
    woman = fake.user(language_code="en")
    await consent_screens(woman, payload)
    await woman.press("No")
    await woman.expect("Without your consent we keep nothing more", predicate=lambda m: m.has_button("Menu"))
    await woman.press("My programme")
    mine = await woman.expect("My programme", predicate=lambda m: m.has_button("Decide"))
    assert "Keeping your data: you said no" in mine.text


async def test_deleting_her_data_withdraws_and_unlinks(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    facilitator = await team_member(fake, session, "facilitator", name="Павел")
    code, payload = await register_case(staff, name="Ксения", facilitator=facilitator.first_name)
    woman = fake.user(language_code="en")
    await consent_screens(woman, payload)
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    await woman.press("I agree")
    await woman.expect("Thank you. 🌱", predicate=lambda m: m.has_button("Menu"))
    await facilitator.expect("taking part: agreed")

    await woman.send("/privacy")
    await woman.expect("If you take part in a programme", predicate=lambda m: m.has_button("Delete my data"))
    await woman.press("Delete my data")
    await woman.expect("also withdraws your consent", predicate=lambda m: m.has_button("Yes, delete"))
    await woman.press("Yes, delete")
    await woman.expect("everything we kept about you is deleted")
    told = await facilitator.expect("deleted her data")
    assert code in told.text

    session.expire_all()
    participant = await session.get(Participant, await _woman_participant(session, code))
    assert participant.user_id is None
    decisions = (
        await session.scalars(
            select(ConsentEvent.decision).where(ConsentEvent.participant_id == participant.id).order_by(ConsentEvent.id)
        )
    ).all()
    assert decisions == ["agree", "agree", "withdraw", "withdraw"]
    # The same Telegram account coming back is a new person with no programme.
    await woman.send("/start")
    await woman.expect("What would you like", predicate=lambda m: not m.has_button("My programme"))


async def _woman_participant(session, code: str) -> int:
    from db.models import Case

    return await session.scalar(
        select(Participant.id)
        .join(Case, Case.id == Participant.case_id)
        .where(Case.code == code, Participant.kind == "woman")
    )


async def test_a_notice_to_the_team_is_not_lost_when_telegram_fails(start_bot, fake, session) -> None:
    """Notices are reminder rows first: a 502 storm on the facilitator's chat delays hers, never drops it."""
    from datetime import UTC, datetime, timedelta

    from db.models import Reminder
    from tests.conftest import Clock

    clock = Clock(datetime.now(UTC))
    app = await start_bot(clock=clock, telegram_retry_attempts=1, reminder_poll_seconds=300)
    staff = await team_member(fake, session, "staff")
    facilitator = await team_member(fake, session, "facilitator", name="Павел")
    code, payload = await register_case(staff, name="Нина", facilitator=facilitator.first_name)
    woman = fake.user(language_code="en")
    await consent_screens(woman, payload)
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    fake.fail("sendMessage", 502, times=2, chat_id=facilitator.id)
    await woman.press("I agree")
    await woman.expect("Thank you. 🌱")
    await facilitator.expect_silence(0.5)
    session.expire_all()
    row = await session.scalar(
        select(Reminder)
        .where(Reminder.recipient_id == facilitator.id, Reminder.kind == "notice")
        .order_by(Reminder.id.desc())
    )
    assert row is not None and row.state == "pending" and row.attempts == 1  # back in the queue, with backoff

    clock.now += timedelta(minutes=10)
    await app.run_reminders()  # the second try meets the second 502
    clock.now += timedelta(minutes=10)
    await app.run_reminders()
    told = await facilitator.expect(f"Case {code}: Нина (the woman) — taking part: agreed.")
    assert told is not None
    await app.run_reminders()
    await facilitator.expect_silence(0.3)  # and only once
