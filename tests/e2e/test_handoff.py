"""Talking to a person without a curators' group (CURATOR_CHAT_ID unset): the relay runs through the
curator's private chat, and she answers by replying to the relayed message."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Conversation, RelayMessage
from tests.conftest import Clock
from tests.e2e.people import consent_screens, register_case, team_member

BARNAUL = ZoneInfo("Asia/Barnaul")
WEDNESDAY_11 = datetime(2026, 12, 2, 11, 0, tzinfo=BARNAUL).astimezone(UTC)  # a working day, in hours
SATURDAY_11 = datetime(2026, 12, 5, 11, 0, tzinfo=BARNAUL).astimezone(UTC)


async def _woman_with_curator(fake, session):
    staff = await team_member(fake, session, "staff")
    curator = await team_member(fake, session, "curator", name="Ирина")
    code, payload = await register_case(staff, curator=curator.first_name)
    woman = fake.user(language_code="en")
    await consent_screens(woman, payload)
    await woman.press("Yes, I agree")
    await woman.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    await woman.press("I agree")
    await woman.expect("Thank you. 🌱", predicate=lambda m: m.has_button("Menu"))
    await curator.expect("taking part: agreed")
    return code, woman, curator


async def _write_to_a_person(woman) -> None:
    await woman.send("/human")
    await woman.expect("Write to a person", predicate=lambda m: m.has_button("Menu"))


async def test_relay_through_the_curators_private_chat(start_bot, fake, session) -> None:
    clock = Clock(WEDNESDAY_11)
    await start_bot(clock=clock)
    code, woman, curator = await _woman_with_curator(fake, session)
    await _write_to_a_person(woman)
    first = await woman.send("I am afraid to go to the housing office alone")
    told = await woman.expect("has reached the team")
    assert "within 30 minutes" in told.text  # when a person answers (HANDOFF_NUDGE_MINUTES)
    header = await curator.expect(f"Анна · {code}")
    assert "Reply to her message" in header.text and "Altai Krai" in header.text  # who, and her region
    copied = await curator.expect("afraid to go to the housing office")
    assert copied.raw.get("reply_to_message", {}).get("message_id") == header.message_id  # in her own thread

    # The curator answers by replying; the woman's reply to that keeps the thread.
    offer = await curator.send("I can go with you on Friday", reply_to=copied)
    answer = await woman.expect("I can go with you on Friday")
    assert answer.raw.get("reply_to_message", {}).get("message_id") == first
    await woman.send("Thank you, Friday is fine", reply_to=answer)
    threaded = await curator.expect("Friday is fine")
    assert threaded.raw.get("reply_to_message", {}).get("message_id") == offer  # her own words, in her chat

    # She corrects her message: the curator's copy changes too.
    await woman.edit(first, "I am afraid to go to the housing office on my own")
    edited = await curator.expect("on my own", predicate=lambda m: m.event == "edited")
    assert edited.message_id == copied.message_id

    # A photo and a voice message go through as they are.
    await woman.send_photo(caption="the letter they sent")
    photo = await curator.expect("the letter they sent")
    assert photo.kind == "photo"
    await woman.send_voice()
    await curator.expect(predicate=lambda m: m.kind == "voice")

    # Notes stay with the team; /close asks her to rate the conversation.
    await curator.send("! she seems calmer today", reply_to=copied)
    await curator.send("/close", reply_to=copied)
    await curator.expect("Closed")
    closing = await woman.expect("closed this conversation", predicate=lambda m: m.has_button("⭐⭐⭐⭐"))
    assert "calmer" not in closing.text
    await woman.press("⭐⭐⭐⭐", closing)
    assert "Thank you" in (await woman.expect_callback_answer()).get("text", "")

    session.expire_all()
    conversation = await session.scalar(select(Conversation).where(Conversation.user_id == woman.id))
    assert conversation is not None and (conversation.state, conversation.rating) == ("closed", 4)
    rows = (await session.scalars(select(RelayMessage).where(RelayMessage.conversation_id == conversation.id))).all()
    notes = [r for r in rows if r.state == "note" and r.kind == "text"]
    assert len(notes) == 1 and notes[0].text == "! she seems calmer today"  # kept, decrypted by the column type
    assert all(r.state in ("delivered", "note") for r in rows)

    # Writing again opens the conversation again.
    await woman.send("One more question")
    await curator.expect("One more question")
    session.expire_all()
    reopened = await session.scalar(select(Conversation.state).where(Conversation.user_id == woman.id))
    assert reopened == "open"


async def test_out_of_hours_answer_and_the_nudge(start_bot, fake, session) -> None:
    clock = Clock(SATURDAY_11)
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    _code, woman, curator = await _woman_with_curator(fake, session)
    await _write_to_a_person(woman)
    await woman.send("Is anyone there?")
    auto = await woman.expect("not at work right now")
    assert "8-800-201-47-17" in auto.text  # the crisis line of her region
    assert "Mon" in auto.text and "09:00" in auto.text  # when a person will answer
    await curator.expect("Is anyone there?")
    await woman.send("Hello?")
    await curator.expect("Hello?")
    await woman.expect_silence(0.3)  # the out-of-hours answer is not repeated

    # Monday 09:30: nobody has answered for half an hour of working time — the curator is nudged.
    clock.now = datetime(2026, 12, 7, 9, 31, tzinfo=BARNAUL).astimezone(UTC)
    await app.run_reminders()
    nudge = await curator.expect("waiting for an answer")
    assert "min" in nudge.text


async def test_an_answer_cancels_the_nudge(start_bot, fake, session) -> None:
    clock = Clock(WEDNESDAY_11)
    app = await start_bot(clock=clock, reminder_poll_seconds=300)
    _code, woman, curator = await _woman_with_curator(fake, session)
    await _write_to_a_person(woman)
    await woman.send("Can you call me?")
    copied = await curator.expect("Can you call me?")
    await curator.send("Yes, in ten minutes", reply_to=copied)
    await woman.expect("in ten minutes")
    clock.now = WEDNESDAY_11 + timedelta(minutes=45)
    await app.run_reminders()
    await curator.expect_silence(0.3)


async def test_free_text_goes_on_while_talking_and_a_block_is_reported(bot, fake, session) -> None:
    _code, woman, curator = await _woman_with_curator(fake, session)
    await _write_to_a_person(woman)
    await woman.send("First")
    copied = await curator.expect("First")
    await woman.send("/start")
    await woman.expect("What would you like")
    await woman.send("and one more thing")  # no screen waits for text: it still reaches the curator
    await curator.expect("and one more thing")
    await woman.block()
    await curator.send("Are you there?", reply_to=copied)
    await curator.expect("She has blocked the bot")


async def test_crisis_words_reach_a_person_at_once(bot, fake, session) -> None:
    _code, woman, curator = await _woman_with_curator(fake, session)
    await woman.send("I want to die")
    await woman.expect("Urgent help")
    warning = await curator.expect("She may be in danger right now")
    assert "Анна" in warning.text
    await curator.expect("I want to die")


async def test_deleting_her_data_deletes_the_conversation(bot, fake, session) -> None:
    _code, woman, curator = await _woman_with_curator(fake, session)
    await _write_to_a_person(woman)
    await woman.send("Something private")
    await curator.expect("Something private")
    await woman.send("/privacy")
    await woman.expect("What we keep", predicate=lambda m: m.has_button("Delete my data"))
    await woman.press("Delete my data")
    await woman.expect("This cannot be undone", predicate=lambda m: m.has_button("Yes, delete"))
    await woman.press("Yes, delete")
    await woman.expect("everything we kept about you is deleted")
    session.expire_all()
    assert await session.scalar(select(Conversation.id).where(Conversation.user_id == woman.id)) is None


async def test_a_curators_answer_is_discreet_when_she_asked_for_it(start_bot, fake, session) -> None:
    """Discreet notifications (issue 15) cover the curator's words too: the copy opens with neutral
    words and keeps the answer under a spoiler, so the chat list and the notification show nothing."""
    await start_bot(clock=Clock(WEDNESDAY_11))
    _code, woman, curator = await _woman_with_curator(fake, session)
    await woman.send("/settings")
    await woman.expect("Settings", predicate=lambda m: m.has_button("🕶 Discreet notifications: off"))
    await woman.press("🕶 Discreet notifications: off")
    await woman.expect("neutral words", predicate=lambda m: m.has_button("🕶 Discreet notifications: on ✓"))
    await _write_to_a_person(woman)
    await woman.send("I need to talk to someone")
    copied = await curator.expect("I need to talk to someone")
    await curator.send("Hello, I am here. Call me at ten.", reply_to=copied)
    answer = await woman.expect("Call me at ten")
    assert answer.text.split("\n")[0] == "🔔 A new message"
    spoilers = [e for e in answer.raw.get("entities", []) if e["type"] == "spoiler"]
    units = answer.text.encode("utf-16-le")  # entity offsets count UTF-16 code units
    hidden = "".join(units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le") for e in spoilers)
    assert "Call me at ten" in hidden
