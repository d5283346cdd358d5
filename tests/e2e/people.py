"""Small steps many stories share."""

from typing import Any

from tests.fake_telegram import FakeTelegram, FakeUser


async def at_menu(fake: FakeTelegram, **person: Any) -> FakeUser:
    """A person who has just opened the bot (in English unless told) and sees the menu."""
    user = fake.user(**person)
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
    return user
