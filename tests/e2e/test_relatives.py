"""A relative reads texts written for a relative: the woman named by her first name, never spoken to
as someone released (issue 13)."""

from tests.e2e.people import agrees, approve_relative, invite_payload, register_case, suggest_relative, team_member


async def test_the_mother_is_told_whose_programme_it_is(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    code, payload = await register_case(staff, name="Анна")
    woman = fake.user(language_code="en")
    await agrees(woman, payload)
    await suggest_relative(staff, code, "Мария", "mother")
    await approve_relative(woman, "Мария")
    link = invite_payload(await staff.expect("Invitation for this person"))

    mother = fake.user(language_code="en")
    await mother.send(f"/start {link}")
    hello = await mother.expect("You have been invited")
    assert "Анна would like you to come to a family meeting" in hello.text
    why = await mother.expect("Why you are invited", predicate=lambda m: m.has_button("Next"))
    assert "Анна has come back home" in why.text
    assert "a woman who has come back home and the people close to her" not in why.text  # not the woman's text
    for title in ("Four rules", "What happens next", "Who sees what"):
        await mother.press("Next")
        await mother.expect(title, predicate=lambda m: m.has_button("Next"))
    await mother.press("Next")
    await mother.expect("Question 1 of 2", predicate=lambda m: m.has_button("Yes, I agree"))
    await mother.press("Yes, I agree")
    await mother.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    await mother.press("I agree")
    await mother.expect("Thank you. 🌱")

    await mother.press("My programme")
    mine = await mother.expect("My programme", predicate=lambda m: m.has_button("Withdraw"))
    assert "Анна invited you as someone close to her" in mine.text
    await mother.send("/start")
    await mother.expect("What would you like", predicate=lambda m: m.has_button("What is the programme"))
    await mother.press("What is the programme")
    about = await mother.expect("What is a restorative programme")
    assert "a woman has come back home" in about.text and "after release" not in about.text

    # The woman herself still reads her own texts.
    await woman.send("/start")
    await woman.expect("What would you like", predicate=lambda m: m.has_button("What is the programme"))
    await woman.press("What is the programme")
    hers = await woman.expect("What is a restorative programme")
    assert "how to live after release" in hers.text
