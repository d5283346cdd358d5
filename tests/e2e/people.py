"""Small steps many stories share."""

import re
from datetime import UTC, datetime
from typing import Any

from bot.services import users
from fake_bot_api import FakeTelegram, FakeUser


async def at_menu(fake: FakeTelegram, **person: Any) -> FakeUser:
    """A person who has just opened the bot (in English unless told) and sees the menu."""
    user = fake.user(**person)
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
    return user


INVITE = re.compile(r"start=(i-[A-Za-z0-9_-]+)")


def invite_payload(message: Any) -> str:
    """The ``/start`` payload of the invitation link in a message the bot sent."""
    found = INVITE.search(message.text)
    assert found, f"no invitation link in {message.text!r}"
    return found.group(1)


async def team_member(
    fake: FakeTelegram, session: Any, role: str, *, region: str | None = "altai_krai", name: str = "Ольга"
) -> FakeUser:
    """A person of the programme team, set up directly in the database (role invitations have their
    own test) before she first opens the bot, so a bot in another process (which keeps the profiles
    it has read) learns her role as she arrives; she sees the menu."""
    user = fake.user(first_name=name)
    # The database outlives a test: a name of its own keeps buttons apart from earlier tests' people.
    unique = name + "-" + "".join(chr(ord("a") + int(d)) for d in str(user.id)[-5:])
    user.chat.user["first_name"] = unique
    session.expire_all()
    row, _ = await users.ensure(session, user.id, now=datetime.now(UTC))
    row.role, row.scope_region, row.display_name = role, region, unique
    await session.commit()
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
    return user


async def register_case(
    staff: FakeUser,
    *,
    name: str = "Анна",
    release: str = "01.12.2026",
    parole: bool = False,
    curator: str | None = None,
    facilitator: str | None = None,
) -> tuple[str, str]:
    """Staff register a case through the guided flow; returns (case code, the woman's link payload)."""
    await staff.send("/newcase")
    await staff.expect("Her first name")
    await staff.send(name)
    await staff.expect("Release date", predicate=lambda m: m.has_button("Cancel"))
    await staff.send(release)
    await staff.expect("on parole", predicate=lambda m: m.has_button("Yes"))
    await staff.press("Yes" if parole else "No")
    await staff.expect("Type of programme", predicate=lambda m: m.has_button("Family conference"))
    await staff.press("Family conference")
    await pick(staff, "Curator of the family", curator)
    await pick(staff, "Facilitator:", facilitator)
    await staff.expect("Check, please", predicate=lambda m: m.has_button("Register"))
    await staff.press("Register")
    created = await staff.expect("is registered")
    code = re.search(r"Case ([A-Z0-9]{8}) is registered", created.text)
    assert code, created.text
    await staff.expect(f"Case {code.group(1)}", predicate=lambda m: m.has_button("People"))
    return code.group(1), invite_payload(created)


async def pick(staff: FakeUser, screen: str, name: str | None) -> None:
    """Presses ``name`` in a team picker, turning its pages (▶) until she is there; or "Later"."""
    shown = await staff.expect(screen, predicate=lambda m: m.has_button("Later"))
    if name is None:
        await staff.press("Later", shown)
        return
    for _ in range(50):  # the suite's database holds every earlier test's team
        if shown.has_button(name):
            break
        await staff.press(">", shown)
        shown = await staff.expect(screen, predicate=lambda m: m.event == "edited")
    await staff.press(name, shown)


async def consent_screens(person: FakeUser, payload: str) -> None:
    """Opens an invitation and reads the four screens up to the first question."""
    await person.send(f"/start {payload}")
    await person.expect("You have been invited")
    await person.expect("Why you are invited", predicate=lambda m: m.has_button("Next"))
    for title in ("Four rules", "What happens next", "Who sees what"):
        await person.press("Next")
        await person.expect(title, predicate=lambda m: m.has_button("Next"))
    await person.press("Next")
    await person.expect("Question 1 of 2", predicate=lambda m: m.has_button("Yes, I agree"))


async def agrees(person: FakeUser, payload: str) -> None:
    """Opens her invitation, reads, agrees to both questions."""
    await consent_screens(person, payload)
    await person.press("Yes, I agree")
    await person.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    await person.press("I agree")
    await person.expect("Thank you. 🌱", predicate=lambda m: m.has_button("Menu"))


async def suggest_relative(staff: FakeUser, code: str, name: str, relation: str) -> None:
    """Staff suggest a relative on the case card; the woman is then asked."""
    await staff.send(f"/case {code}")
    await staff.expect(f"Case {code}", predicate=lambda m: m.has_button("People"))
    await staff.press("People and invitations")
    await staff.expect("Tap a person", predicate=lambda m: m.has_button("Suggest a relative"))
    await staff.press("Suggest a relative")
    await staff.expect("The first name of the person")
    await staff.send(name)
    await staff.expect("Who is this person to her", predicate=lambda m: m.has_button(relation))
    await staff.press(relation)
    await staff.expect("Tap a person", predicate=lambda m: m.has_button(name))


async def approve_relative(woman: FakeUser, name: str) -> None:
    """The woman, told of a suggestion, says yes to inviting that person."""
    await woman.expect("suggests inviting")
    await woman.press("📋")
    await woman.expect("My programme", predicate=lambda m: m.has_button("Whom to invite"))
    await woman.press("Whom to invite")
    await woman.expect("Whom to invite", predicate=lambda m: m.has_button(name))
    await woman.press(name)
    await woman.expect("May we invite", predicate=lambda m: m.has_button("Yes"))
    await woman.press("Yes")
