"""Asking to take part without an invitation link: a few questions she may skip, a card to the staff
of her region, one press to a case, and her invitation in the bot (issue 13)."""

from sqlalchemy import select

from db.models import AuditEvent, JoinRequest, Region, User
from tests.e2e.people import at_menu, invite_payload, team_member


async def test_a_woman_without_a_link_asks_to_take_part_and_staff_open_a_case(start_bot, fake, session) -> None:
    await start_bot(default_locale="en")  # the card's button is worded in the team's language
    code = f"t13j_{next(fake._user_ids)}"
    session.add(
        Region(code=code, name={"ru": "Тестовый край", "en": "Test Krai"}, timezone="Asia/Barnaul", position=990)
    )
    await session.commit()
    staff = await team_member(fake, session, "staff", region=code)
    other = await team_member(fake, session, "staff", name="Пётр", region="altai_krai")
    woman = await at_menu(fake)
    row = await session.get(User, woman.id)
    row.region = code
    await session.commit()

    await woman.send("/start")
    await woman.expect("What would you like", predicate=lambda m: m.has_button("I want to take part"))
    await woman.press("🤝 I want to take part in the programme")
    intro = await woman.expect("Taking part in the programme", predicate=lambda m: m.has_button("Start"))
    assert "curator" in intro.text and "restorative programme" in intro.text  # both explained in one line
    await woman.press("Start ▶")
    await woman.expect("Question 1 of 3", predicate=lambda m: m.has_button("Skip"))
    await woman.send("Вера")
    await woman.expect("Question 2 of 3", predicate=lambda m: m.has_button("I am already out"))
    await woman.press("I am already out")
    await woman.expect("Question 3 of 3", predicate=lambda m: m.has_button("Skip"))
    await woman.press("Skip ▶")
    confirm = await woman.expect("Send the request?", predicate=lambda m: m.has_button("Send"))
    assert "Вера" in confirm.text and "already released" in confirm.text and "Test Krai" in confirm.text
    await woman.press("✅ Send")
    await woman.expect("has your request", predicate=lambda m: m.has_button("Write to a person"))

    card = await staff.expect("A request to take part", predicate=lambda m: m.has_button("Register a case"))
    assert "Вера" in card.text and "Test Krai" in card.text
    await other.expect_silence(0.3)  # another region's staff are not told
    data = card.button_data["📝 Register a case"]
    await staff.press("📝 Register a case", card)
    await staff.expect("Release date", predicate=lambda m: m.has_button("Cancel"))  # her name is filled in
    await staff.send("01.12.2026")
    await staff.expect("on parole", predicate=lambda m: m.has_button("Yes"))
    await staff.press("No")
    await staff.expect("Type of programme", predicate=lambda m: m.has_button("Family conference"))
    await staff.press("Family conference")
    await staff.expect("Curator of the family", predicate=lambda m: m.has_button("Later"))
    await staff.press("Later")
    await staff.expect("Facilitator:", predicate=lambda m: m.has_button("Later"))
    await staff.press("Later")
    check = await staff.expect("Check, please", predicate=lambda m: m.has_button("Register"))
    assert "Вера" in check.text
    await staff.press("Register")
    await staff.expect("is registered")

    news = await woman.expect("Good news")
    await woman.send(f"/start {invite_payload(news)}")
    await woman.expect("You have been invited")

    session.expire_all()
    request = await session.scalar(select(JoinRequest).where(JoinRequest.user_id == woman.id))
    assert request is not None and request.state == "case" and request.case_id is not None
    assert request.first_name == "Вера"  # encrypted in the database, read back by the column type
    actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "join_request"))).all()
    assert {"join_requested", "join_request_opened", "join_request_case"} <= set(actions)

    # The card pressed again (or by another region's staff) opens nothing.
    await staff.forge_callback(data, message=card)
    assert "already" in (await staff.expect_callback_answer()).get("text", "")
    await other.forge_callback(data)
    assert "not for your region" in (await other.expect_callback_answer()).get("text", "")
