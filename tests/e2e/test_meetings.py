"""Meetings: the facilitator offers times, participants choose, the general meeting is agreed, and
reminders go out on time — also across a restart — with a clock the test moves."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.models import Case, Meeting, Reminder
from tests.conftest import Clock
from tests.e2e.people import agrees, approve_relative, invite_payload, register_case, suggest_relative, team_member

BARNAUL = ZoneInfo("Asia/Barnaul")


def _start_clock() -> Clock:
    # 10:00 in Barnaul today: every test here offers times days ahead of its own clock.
    today = datetime.now(BARNAUL).date()
    return Clock(datetime(today.year, today.month, today.day, 10, 0, tzinfo=BARNAUL).astimezone(UTC))


async def _family(fake, session, *, with_relative: bool = False):
    """Staff, a facilitator, a case; the woman (and a relative she approved) have agreed."""
    staff = await team_member(fake, session, "staff")
    facilitator = await team_member(fake, session, "facilitator", name="Павел")
    code, payload = await register_case(staff, facilitator=facilitator.first_name)
    woman = fake.user(language_code="en")
    await agrees(woman, payload)
    await facilitator.expect("taking part: agreed")
    relative = None
    if with_relative:
        await suggest_relative(staff, code, "Мария", "mother")
        await approve_relative(woman, "Мария")
        link = await staff.expect("Invitation for this person")
        relative = fake.user(language_code="en")
        await agrees(relative, invite_payload(link))
        await facilitator.expect("a relative) — taking part: agreed")
    return staff, facilitator, code, woman, relative


async def _offer(
    facilitator,
    code: str,
    clock: Clock,
    *,
    who: str = "Anyone",
    days: int = 2,
    at: str = "15:00",
    duration: str = "60 min",
    how: str = "in person",
    place: str | None = "Barnaul, Smirnova 79g",
    expect: str = "Offered",
) -> date:
    day = clock.now.astimezone(BARNAUL).date() + timedelta(days=days)
    await facilitator.send(f"/case {code}")
    await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("Meetings"))
    await facilitator.press("Meetings")
    await facilitator.expect("Meetings", predicate=lambda m: m.has_button("Offer a time"))
    await facilitator.press("Offer a time")
    await facilitator.expect("For whom is this time?", predicate=lambda m: m.has_button(who))
    await facilitator.press(who)
    calendar = await facilitator.expect("Which day?", predicate=lambda m: m.has_button("Back"))
    if day.month != clock.now.astimezone(BARNAUL).month:
        await facilitator.press("»", calendar)
        calendar = await facilitator.expect("Which day?", predicate=lambda m: not m.has_button("·"))
    await facilitator.press(f"·{day.day}·" if days == 0 else str(day.day), calendar)
    await facilitator.expect("What time?")
    await facilitator.send(at)
    await facilitator.expect("How long?", predicate=lambda m: m.has_button(duration))
    await facilitator.press(duration)
    await facilitator.expect("How will you meet?", predicate=lambda m: m.has_button(how))
    await facilitator.press(how)
    await facilitator.expect(predicate=lambda m: m.has_button("Back") and ("Where?" in m or "Anything to add" in m))
    if place is None:
        await facilitator.press("Skip")
    else:
        await facilitator.send(place)
    await facilitator.expect("Offer this time?", predicate=lambda m: m.has_button("Offer"))
    await facilitator.press("Offer")
    answer = await facilitator.expect_callback_answer()
    assert expect in answer.get("text", ""), answer
    return day


async def _open_my_meetings(person):
    await person.press("🗓")
    return await person.expect("My meetings", predicate=lambda m: m.has_button("Menu"))


async def test_choose_change_cancel_and_add_to_calendar(start_bot, fake, session) -> None:
    clock = _start_clock()
    await start_bot(clock=clock)
    _staff, facilitator, code, woman, _ = await _family(fake, session)
    first_day = await _offer(facilitator, code, clock, at="15:00")
    offered = await woman.expect("The facilitator offers a time to meet")
    assert "15:00" in offered.text
    await _offer(facilitator, code, clock, days=3, at="11:30", how="by phone", place=None)
    await woman.expect("The facilitator offers a time to meet")

    mine = await _open_my_meetings(woman)
    assert "You have no meeting yet" in mine.text
    await woman.press("Choose a time")
    slots = await woman.expect("Which time suits you?", predicate=lambda m: m.has_button("15:00"))
    assert slots.has_button("11:30")
    await woman.press("15:00")
    answer = await woman.expect_callback_answer()
    assert "remind you" in answer.get("text", "") and "2 hours before" in answer.get("text", "")  # the settings
    booked = await woman.expect("Meeting with the facilitator", predicate=lambda m: m.has_button("Add to calendar"))
    assert "Smirnova 79g" in booked.text
    chose = await facilitator.expect(f"Case {code}: Анна chose")
    assert "15:00" in chose.text

    # Reminders were scheduled 24 h and 2 h before, in UTC.
    starts = datetime(first_day.year, first_day.month, first_day.day, 15, 0, tzinfo=BARNAUL).astimezone(UTC)
    session.expire_all()
    meeting = await session.scalar(select(Meeting).where(Meeting.starts_at == starts, Meeting.state == "booked"))
    assert meeting is not None
    first_id = meeting.id
    dues = sorted(
        r.due_at
        for r in (
            await session.scalars(select(Reminder).where(Reminder.meeting_id == first_id, Reminder.kind == "meeting"))
        ).all()
    )
    assert dues == [starts - timedelta(hours=24), starts - timedelta(hours=2)]
    followup = await session.scalar(
        select(Reminder.due_at).where(Reminder.meeting_id == first_id, Reminder.kind == "meeting_followup")
    )
    assert followup == starts + timedelta(minutes=60 + 60)  # an hour after it ends: the short survey

    await woman.press("Add to calendar")
    ics = await woman.expect("add the meeting to your phone's calendar", predicate=lambda m: m.kind == "document")
    filename, content = ics.document
    assert filename.endswith(".ics") and b"BEGIN:VEVENT" in content

    await woman.send("/start")
    await woman.expect("What would you like")
    await woman.press("My programme")
    await woman.expect("My programme", predicate=lambda m: m.has_button("My meetings"))
    await woman.press("My meetings")
    await woman.expect("My meetings", predicate=lambda m: m.has_button("Change the time"))
    await woman.press("Change the time")
    await woman.expect("Which time suits you?", predicate=lambda m: m.has_button("11:30"))
    await woman.press("11:30")
    await woman.expect("My meetings", predicate=lambda m: "by phone" in m and m.has_button("Cancel my meeting"))
    await facilitator.expect("moved her meeting")
    session.expire_all()
    pending = (await session.scalars(select(Reminder.state).where(Reminder.meeting_id == first_id))).all()
    assert set(pending) == {"cancelled"}  # the first slot's reminders went with it

    await woman.press("Cancel my meeting")
    await woman.expect("You have no meeting yet", predicate=lambda m: m.has_button("Choose a time"))
    await facilitator.expect("cancelled the meeting")


@pytest.mark.both_backends
async def test_two_people_press_the_same_slot(start_bot, fake, session) -> None:
    clock = _start_clock()
    await start_bot(clock=clock)
    _staff, facilitator, code, woman, relative = await _family(fake, session, with_relative=True)
    await _offer(facilitator, code, clock, at="16:00")
    for person in (woman, relative):
        await person.expect("The facilitator offers a time to meet")
        await _open_my_meetings(person)
        await person.press("Choose a time")
        await person.expect("Which time suits you?", predicate=lambda m: m.has_button("16:00"))
    await asyncio.gather(woman.press("16:00"), relative.press("16:00"))
    answers = [await woman.expect_callback_answer(), await relative.expect_callback_answer()]
    texts = sorted(a.get("text", "") for a in answers)
    assert sum("remind you" in t for t in texts) == 1, texts
    assert sum("Someone has just taken this time" in t for t in texts) == 1, texts


async def test_bad_times_are_refused_clearly(start_bot, fake, session) -> None:
    clock = _start_clock()
    await start_bot(clock=clock)
    _staff, facilitator, code, _woman, _ = await _family(fake, session)
    await _offer(facilitator, code, clock, at="09:00", days=0, expect="already passed")
    await _offer(facilitator, code, clock, at="12:00", days=1)
    await _offer(facilitator, code, clock, at="12:30", days=1, expect="You already have a meeting at this time")
    # Typing nonsense or a sticker where a time is expected.
    await facilitator.send("/cases")
    await facilitator.expect("Cases", predicate=lambda m: m.has_button(code))
    await facilitator.press(code)
    await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("Meetings"))
    await facilitator.press("Meetings")
    await facilitator.expect("Meetings", predicate=lambda m: m.has_button("Offer a time"))
    await facilitator.press("Offer a time")
    await facilitator.expect("For whom", predicate=lambda m: m.has_button("Anyone"))
    # The general meeting is not on offer while someone invited has not agreed (here: nobody else yet).
    await facilitator.press("Anyone")
    calendar = await facilitator.expect("Which day?", predicate=lambda m: m.has_button("Back"))
    tomorrow = clock.now.astimezone(BARNAUL).date() + timedelta(days=1)
    if tomorrow.month != clock.now.astimezone(BARNAUL).month:
        await facilitator.press("»", calendar)
        calendar = await facilitator.expect("Which day?", predicate=lambda m: m.has_button("Back"))
    await facilitator.press(str(tomorrow.day), calendar)
    await facilitator.expect("What time?")
    await facilitator.send_sticker()
    await facilitator.expect("I need text here")
    await facilitator.send("half past four")
    await facilitator.expect("I could not read this time")
    await facilitator.send("25:00")
    await facilitator.expect("I could not read this time")


async def test_the_general_meeting_is_agreed_and_called_off(start_bot, fake, session) -> None:
    clock = _start_clock()
    await start_bot(clock=clock)
    _staff, facilitator, code, woman, relative = await _family(fake, session, with_relative=True)
    await _offer(facilitator, code, clock, who="general meeting", days=4, at="17:00")
    for person in (woman, relative):
        await person.expect("There is a time to answer for the general meeting")
        await _open_my_meetings(person)
        await person.press("17:00")
        await person.expect("The general meeting", predicate=lambda m: m.has_button("Suits me"))
        await person.press("Suits me")
        await person.expect("My meetings", predicate=lambda m: m.has_button("suits me"))

    listing = await facilitator.expect("Meetings", predicate=lambda m: m.has_button("17:00"))
    await facilitator.press("17:00", listing)
    option = await facilitator.expect("General meeting", predicate=lambda m: m.has_button("Fix this time"))
    assert option.text.count("✅") == 2
    await facilitator.press("Fix this time")
    for person in (woman, relative):
        await person.expect("The general meeting is set")

    # The relative withdraws: the meeting is off for everyone, and nobody is told who withdrew.
    await relative.send("/start")
    await relative.expect("What would you like")
    await relative.press("My programme")
    await relative.expect("My programme", predicate=lambda m: m.has_button("Withdraw from the programme"))
    await relative.press("Withdraw from the programme")
    confirm = await relative.expect("Withdraw from the programme?", predicate=lambda m: m.has_button("No, stay"))
    assert "Decide about taking part" in confirm.text  # the way back is named
    await relative.press("Yes, withdraw")
    await relative.expect("You have withdrawn")
    off = await woman.expect("will not take place as planned")
    assert "Мария" not in off.text and "relative" not in off.text
    await facilitator.expect("withdrew consent")
    session.expire_all()
    states = (await session.scalars(select(Meeting.state).where(Meeting.kind == "general"))).all()
    assert "fixed" not in states and "called_off" in states


async def _booked_in_two_days(fake, session, clock: Clock):
    """A family whose woman chose 15:00 in two days; returns the facilitator, the case code, the
    woman and when the meeting starts (UTC)."""
    _staff, facilitator, code, woman, _ = await _family(fake, session)
    day = await _offer(facilitator, code, clock, days=2, at="15:00")
    await woman.expect("The facilitator offers a time to meet")
    await _open_my_meetings(woman)
    await woman.press("Choose a time")
    await woman.expect("Which time suits you?", predicate=lambda m: m.has_button("15:00"))
    await woman.press("15:00")
    await facilitator.expect("chose")
    return facilitator, code, woman, datetime(day.year, day.month, day.day, 15, 0, tzinfo=BARNAUL).astimezone(UTC)


async def test_reminders_survive_a_restart_and_late_ones_drop(start_bot, fake, session) -> None:
    clock = _start_clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    _facilitator, _code, woman, starts = await _booked_in_two_days(fake, session, clock)

    # The bot restarts before the first reminder is due; nothing is lost.
    await app.test_stop()
    clock.now = starts - timedelta(hours=24, minutes=-5)
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    # (The database is shared with other tests: judge by this woman's chat and rows only.)
    await app.run_reminders()
    reminder = await woman.expect(
        "Tomorrow is your meeting with the facilitator", predicate=lambda m: m.has_button("I will come")
    )
    assert "15:00" in reminder.text
    await app.run_reminders()
    await woman.expect_silence(0.3)  # never twice
    await woman.press("I will come", reminder)
    assert "See you there" in (await woman.expect_callback_answer()).get("text", "")

    # The bot is down past the meeting: the 2-hour reminder is dropped, not sent late.
    clock.now = starts + timedelta(minutes=10)
    await app.run_reminders()
    await woman.expect_silence(0.3)
    session.expire_all()
    states = sorted(
        (
            await session.scalars(
                select(Reminder.state).where(Reminder.recipient_id == woman.id, Reminder.kind == "meeting")
            )
        ).all()
    )
    assert states == ["dropped", "sent"]


async def test_cannot_come_frees_the_slot_and_tells_the_facilitator(start_bot, fake, session) -> None:
    clock = _start_clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    _staff, facilitator, code, woman, _ = await _family(fake, session)
    day = await _offer(facilitator, code, clock, days=1, at="18:00")
    await woman.expect("The facilitator offers a time to meet")
    await _open_my_meetings(woman)
    await woman.press("Choose a time")
    await woman.expect("Which time suits you?", predicate=lambda m: m.has_button("18:00"))
    await woman.press("18:00")
    await facilitator.expect("chose")

    # The morning of the meeting the facilitator gets the day's list.
    clock.now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=BARNAUL).astimezone(UTC)
    assert await app.jobs.send_day_lists() >= 1
    listing = await facilitator.expect("Your meetings today")
    assert "18:00" in listing.text and code in listing.text

    clock.now = datetime(day.year, day.month, day.day, 16, 0, tzinfo=BARNAUL).astimezone(UTC)
    await app.run_reminders()
    reminder = await woman.expect("In 2 hours", predicate=lambda m: m.has_button("I cannot come"))
    await woman.press("I cannot come", reminder)
    await facilitator.expect("cannot come")
    await woman.expect("My meetings", predicate=lambda m: m.has_button("Choose a time"))
    session.expire_all()
    state = await session.scalar(
        select(Meeting.state).where(
            Meeting.starts_at == datetime(day.year, day.month, day.day, 18, tzinfo=BARNAUL).astimezone(UTC)
        )
    )
    assert state == "open"


async def test_a_time_taken_again_keeps_its_reminders_and_survey(start_bot, fake, session) -> None:
    """Issue 19: 15:00 → 11:30 → 15:00. The 15:00 meeting is hers again, and so are its reminders:
    they arrive when the clock gets there, and its survey after it."""
    clock = _start_clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    _staff, facilitator, code, woman, _ = await _family(fake, session)
    day = await _offer(facilitator, code, clock, days=2, at="15:00")
    await woman.expect("The facilitator offers a time to meet")
    await _offer(facilitator, code, clock, days=3, at="11:30", how="by phone", place=None)
    await woman.expect("The facilitator offers a time to meet")

    await _open_my_meetings(woman)
    await woman.press("Choose a time")
    await woman.expect("Which time suits you?", predicate=lambda m: m.has_button("15:00"))
    await woman.press("15:00")
    await woman.expect(predicate=lambda m: m.has_button("Change the time"))
    await facilitator.expect(f"Case {code}: Анна chose")
    for there, marker in (("11:30", "by phone"), ("15:00", "Smirnova 79g")):
        await woman.press("Change the time")  # on her "My meetings" screen, shown after each choice
        await woman.expect("Which time suits you?", predicate=lambda m, there=there: m.has_button(there))
        await woman.press(there)
        await woman.expect(predicate=lambda m, marker=marker: marker in m and m.has_button("Change the time"))
        moved = await facilitator.expect("moved her meeting")
        assert there in moved.text

    starts = datetime(day.year, day.month, day.day, 15, 0, tzinfo=BARNAUL).astimezone(UTC)
    session.expire_all()
    # (The database is shared with other tests: this case's meeting only.)
    first_id = await session.scalar(
        select(Meeting.id)
        .join(Case, Case.id == Meeting.case_id)
        .where(Case.code == code, Meeting.starts_at == starts, Meeting.state == "booked")
    )
    assert first_id is not None
    rows = (await session.execute(select(Reminder.kind, Reminder.state).where(Reminder.meeting_id == first_id))).all()
    assert sorted(rows) == [("meeting", "pending"), ("meeting", "pending"), ("meeting_followup", "pending")]

    # The day before, and two hours before: each reminder arrives once.
    clock.now = starts - timedelta(hours=24) + timedelta(minutes=1)
    await app.run_reminders()
    tomorrow = await woman.expect("Tomorrow is your meeting with the facilitator")
    assert "15:00" in tomorrow.text
    clock.now = starts - timedelta(hours=2) + timedelta(minutes=1)
    await app.run_reminders()
    await woman.expect("In 2 h", predicate=lambda m: m.has_button("I cannot come"))
    await app.run_reminders()
    await woman.expect_silence(0.3)

    # An hour after it ends, its short survey starts.
    clock.now = starts + timedelta(minutes=60 + 60 + 1)
    await app.run_reminders()  # the follow-up invites her to the survey
    await app.run_reminders()  # the survey's own reminder asks the first question
    await woman.expect("How was your meeting with the facilitator?")
    session.expire_all()
    rows = (await session.execute(select(Reminder.kind, Reminder.state).where(Reminder.meeting_id == first_id))).all()
    assert sorted(rows) == [("meeting", "sent"), ("meeting", "sent"), ("meeting_followup", "dropped")]


async def test_a_reminder_that_finds_her_gone_tells_the_facilitator_once(start_bot, fake, session) -> None:
    clock = _start_clock()
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    facilitator, code, woman, starts = await _booked_in_two_days(fake, session, clock)
    woman.chat.blocked = True  # she blocked the bot; the bot has not heard of it yet
    clock.now = starts - timedelta(hours=24, minutes=-5)
    await app.run_reminders()
    told = await facilitator.expect("the reminder did not reach")
    assert code in told.text
    await app.run_reminders()
    await facilitator.expect_silence(0.3)  # once
