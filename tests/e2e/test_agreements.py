"""The agreement: the facilitator records it, each side confirms or disputes it, the responsible
people are reminded and answer, what slips reaches the curator, and the term's end closes the case."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Case, Checkin
from tests.conftest import Clock
from tests.e2e.people import agrees, approve_relative, invite_payload, register_case, suggest_relative, team_member

BARNAUL = ZoneInfo("Asia/Barnaul")
MONDAY = datetime(2026, 12, 7, 12, 0, tzinfo=BARNAUL)


def at(day: int, hour: int = 10, minute: int = 5, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BARNAUL).astimezone(UTC)


async def _family(fake, session):
    staff = await team_member(fake, session, "staff")
    curator = await team_member(fake, session, "curator", name="Ирина")
    facilitator = await team_member(fake, session, "facilitator", name="Павел")
    code, payload = await register_case(staff, curator=curator.first_name, facilitator=facilitator.first_name)
    woman = fake.user(language_code="en")
    await agrees(woman, payload)
    await suggest_relative(staff, code, "Мария", "mother")
    await approve_relative(woman, "Мария")
    link = await staff.expect("Invitation for this person")
    relative = fake.user(language_code="en")
    await agrees(relative, invite_payload(link))
    # An agreement is made at the general meeting: the case is at stage 3 (the button is not there before).
    await facilitator.send(f"/case {code}")
    card = await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("Move to another stage"))
    assert not card.has_button("📝 Agreement")
    case = await session.scalar(select(Case).where(Case.code == code))
    case.stage = 3
    await session.commit()
    return code, woman, relative, curator, facilitator


async def _add_item(facilitator, text: str, who: list[str], when: str, day: int | None = None) -> None:
    await facilitator.press("Add an item")
    await facilitator.expect("What is the item?")
    await facilitator.send(text)
    screen = await facilitator.expect("Who is responsible?", predicate=lambda m: m.has_button("Done"))
    for name in who:
        await facilitator.press(name, screen)
        screen = await facilitator.expect("Who is responsible?", predicate=lambda m, n=name: m.has_button(f"✅ {n}"))
    await facilitator.press("Done")
    await facilitator.expect("When?", predicate=lambda m: m.has_button(when))
    await facilitator.press(when)
    if day is not None:
        calendar = await facilitator.expect("By which day?", predicate=lambda m: m.has_button("Back"))
        await facilitator.press(str(day), calendar)
    await facilitator.expect("Items so far", predicate=lambda m: m.has_button("Add an item"))


async def test_record_confirm_follow_up_and_close(start_bot, fake, session) -> None:
    clock = Clock(MONDAY.astimezone(UTC))
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    code, woman, relative, curator, facilitator = await _family(fake, session)

    await facilitator.send(f"/case {code}")
    await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("Agreement"))
    await facilitator.press("Agreement")
    await facilitator.expect("Add the items one by one", predicate=lambda m: m.has_button("Add an item"))
    await _add_item(facilitator, "Go to the employment centre", ["Анна"], "By a day", day=12)
    await _add_item(facilitator, "Call the children", ["Анна", "Мария"], "every Sunday")
    await facilitator.press("Next: valid until")
    calendar = await facilitator.expect("Valid until which day?", predicate=lambda m: m.has_button("Back"))
    await facilitator.press("»", calendar)
    calendar = await facilitator.expect("Valid until which day?", predicate=lambda m: m.has_button("15"))
    await facilitator.press("15", calendar)
    await facilitator.expect("What happens if an item is not kept?")
    await facilitator.send("We meet with the facilitator again")
    summary = await facilitator.expect("Send this agreement?", predicate=lambda m: m.has_button("Send to everyone"))
    assert "every Sunday" in summary.text and "employment centre" in summary.text
    await facilitator.press("Send to everyone")
    assert "Recorded" in (await facilitator.expect_callback_answer()).get("text", "")

    text = await woman.expect("Our agreement", predicate=lambda m: m.has_button("Yes, this is what we agreed"))
    assert "Call the children" in text.text and "Анна, Мария" in text.text and "meet with the facilitator" in text.text
    await woman.press("Yes, this is what we agreed", text)
    await facilitator.expect("Анна confirmed the agreement")
    other = await relative.expect("Our agreement", predicate=lambda m: m.has_button("This is not right"))
    await relative.press("This is not right", other)
    await relative.expect("What is not right?")
    await relative.send("I can call only every second Sunday")
    await relative.expect("The facilitator will read it")
    disputed = await facilitator.expect("says the agreement is not right")
    assert "every second Sunday" in disputed.text

    # Wednesday 9 December: three days before the 12th — a gentle reminder, and "Done".
    clock.now = at(9)
    await app.run_reminders()
    reminder = await woman.expect("A gentle reminder", predicate=lambda m: m.has_button("Done"))
    assert "employment centre" in reminder.text
    await woman.press("Done", reminder)
    await woman.expect("well done")

    # Sunday 13 December: both are reminded of the call; she needs more time, her mother needs help.
    clock.now = at(13)
    await app.run_reminders()
    sunday = await woman.expect("Today is the day for", predicate=lambda m: m.has_button("I need more time"))
    await woman.press("I need more time", sunday)
    later = await woman.expect("How much more time", predicate=lambda m: m.has_button("+3 days"))
    await woman.press("+3 days", later)
    await woman.expect("We will remind you on")
    theirs = await relative.expect("Today is the day for", predicate=lambda m: m.has_button("I need help"))
    await relative.press("I need help", theirs)
    await relative.expect("A person from the team will write to you")
    await curator.expect("asks for help with: Call the children")

    # Nothing kept is never shamed: the next day she is asked what got in the way (none here: all answered).
    clock.now = at(14)
    await app.run_reminders()
    await woman.expect_silence(0.3)

    # The week digest for the curator (Monday 14 December).
    assert await app.jobs.send_weekly_agreements() >= 1
    digest = await curator.expect("The week's agreements")
    assert code in digest.text and "employment centre" in digest.text

    # Sunday 20 December: the woman does not answer; on the 21st she is asked gently, on the 23rd the curator hears.
    clock.now = at(20)
    await app.run_reminders()
    await woman.expect("Today is the day for")
    clock.now = at(21)
    await app.run_reminders()
    gentle = await woman.expect("If something got in the way", predicate=lambda m: m.has_button("I need help"))
    assert "shame" not in gentle.text
    clock.now = at(23)
    await app.run_reminders()
    raised = await curator.expect("is not kept yet")
    assert code in raised.text

    # After 15 January the term is over: the case closes, everyone gets a goodbye.
    clock.now = at(16, month=1, year=2027)
    await app.run_reminders()
    goodbye = await woman.expect("The time of your agreement is over")
    assert "/start" in goodbye.text
    await relative.expect("The time of your agreement is over")
    await facilitator.expect("the case is closed")
    session.expire_all()
    closed = await session.scalar(select(Case.closed_at).where(Case.code == code))
    assert closed is not None
    states = (await session.scalars(select(Checkin.state))).all()
    assert "done" in states and "more_time" in states and "help" in states


async def test_my_agreements_and_a_stale_button(start_bot, fake, session) -> None:
    clock = Clock(MONDAY.astimezone(UTC))
    await start_bot(clock=clock, reminder_poll_seconds=300)
    code, woman, relative, _curator, facilitator = await _family(fake, session)
    await facilitator.send(f"/case {code}")
    await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("Agreement"))
    await facilitator.press("Agreement")
    await facilitator.expect("Add the items one by one", predicate=lambda m: m.has_button("Add an item"))
    await _add_item(facilitator, "Visit the doctor together", ["Мария"], "By a day", day=18)
    await facilitator.press("Next: valid until")
    calendar = await facilitator.expect("Valid until which day?", predicate=lambda m: m.has_button("Back"))
    await facilitator.press("31", calendar)
    await facilitator.expect("What happens if an item is not kept?", predicate=lambda m: m.has_button("Skip"))
    await facilitator.press("Skip")
    await facilitator.expect("Send this agreement?", predicate=lambda m: m.has_button("Send to everyone"))
    await facilitator.press("Send to everyone")
    await relative.expect("Our agreement")
    await relative.send("/start")
    await relative.expect("What would you like")
    await relative.press("My programme")
    await relative.expect("My programme", predicate=lambda m: m.has_button("My agreements"))
    await relative.press("My agreements")
    mine = await relative.expect("My agreements")
    assert "Visit the doctor together" in mine.text
    # The woman is not responsible for it; a forged check-in button is refused.
    checkin = await session.scalar(select(Checkin.id).order_by(Checkin.id.desc()))
    await woman.forge_callback(f"ci:{checkin}:d")
    assert "out of date" in (await woman.expect_callback_answer()).get("text", "")
