"""A woman opens the bot for the first time: welcome, menu, the programme explained, help by region."""

from sqlalchemy import select

from db.models import AuditEvent, User
from tests.e2e.people import at_menu


async def test_first_start_in_russian(bot, fake) -> None:
    user = fake.user(first_name="Анна", language_code="ru")
    await user.send("/start")
    welcome = await user.expect("Здравствуйте")
    assert welcome.reply_keyboard == [["🆘 Срочная помощь", "☰ Меню"]]
    menu = await user.expect("Что вы хотите сделать")
    assert menu.has_button("Срочная помощь")
    assert menu.has_button("Где найти помощь")


async def test_first_start_in_english_and_return(bot, fake) -> None:
    user = fake.user(language_code="en")
    await user.send("/start")
    await user.expect("Hello! 👋")
    await user.expect("What would you like to do")
    await user.send("/start")
    await user.expect("Hello again")
    await user.expect("What would you like to do")


async def test_unsupported_telegram_language_falls_back_to_default(bot, fake) -> None:
    user = fake.user(language_code="de")
    await user.send("/start")
    await user.expect("Здравствуйте")


async def test_unknown_start_payload_is_answered_kindly(bot, fake, session) -> None:
    user = fake.user()
    await user.send("/start inv-0123456789abcdef")
    await user.expect("This link does not work")
    await user.expect("What would you like to do")
    await user.send("/start <bad payload>")
    await user.expect("This link does not work")
    reasons = (
        await session.scalars(
            select(AuditEvent.details).where(AuditEvent.actor_id == user.id, AuditEvent.action == "start_link_unknown")
        )
    ).all()
    assert [r["reason"] for r in reasons] == ["unrecognised", "malformed"]


async def test_region_link_sets_the_region(bot, fake, session) -> None:
    user = fake.user()
    await user.send("/start r-altai_krai")
    await user.expect("What would you like to do")
    row = await session.get(User, user.id)
    assert row is not None and (row.region, row.timezone) == ("altai_krai", "Asia/Barnaul")


async def test_what_is_the_programme(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("What is the programme")
    await user.expect("What is a restorative programme")
    await user.press("Next")
    first = await user.expect("Only if you want it")
    assert "What is said stays there" in first.text
    await user.press("Next")
    second = await user.expect("Nobody takes sides")
    assert "It is safe" in second.text
    await user.press("Back")
    await user.expect("Only if you want it")
    await user.press("Next")
    await user.expect("Nobody takes sides")
    await user.press("Next")
    stages = await user.expect("step by step")
    assert all(f"{n}." in stages.text for n in range(1, 6))
    await user.press("Next")
    who = await user.expect("Who will see what I write")
    assert "/privacy" in who.text
    assert who.has_button("Urgent help")
    await user.press("Menu")
    await user.expect("What would you like to do")


async def test_support_measures_by_need_and_region(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("Where to get help")
    categories = await user.expect("What do you need help with")
    assert "Altai Krai" in categories.text  # DEFAULT_REGION until she chooses
    for label in (
        "Housing",
        "Work",
        "Documents",
        "Children and family",
        "Health and addiction",
        "Legal help",
        "Money and benefits",
    ):
        assert categories.has_button(label), label
    await user.press("Housing")
    housing = await user.expect("Housing")
    assert "8 (3852) 33-37-78" in housing.text  # the social hotel of Altai Krai comes first
    await user.press("Back")
    await user.expect("What do you need help with")
    await user.press("Change region")
    await user.expect("Your region")
    await user.press("My region is not in the list")
    answer = await user.expect_callback_answer()
    assert "everywhere in Russia" in answer["text"]
    categories = await user.expect("What do you need help with")
    assert "All of Russia" in categories.text
    await user.press("Housing")
    housing = await user.expect("Housing")
    assert "3852" not in housing.text  # Altai's own numbers are gone


async def test_a_long_list_is_paged(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("Where to get help")
    await user.expect("What do you need help with")
    await user.press("Money and benefits")
    page = await user.expect("Money and benefits")
    if page.has_button("▶"):
        await user.press("▶")
        second = await user.expect("Money and benefits")
        assert second.text != page.text
    assert len(page.text) < 4096


async def test_help_and_commands(bot, fake) -> None:
    user = fake.user()
    await user.send("/help")
    help_ = await user.expect("How to use this bot")
    assert "/privacy" in help_.text
    await user.press("Menu")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))
    commands = fake.calls_of("setMyCommands")
    assert {c.params.get("language_code") for c in commands} == {None, "en"}


async def test_the_first_screen_says_which_region_is_assumed_and_changes_it_in_one_tap(bot, fake) -> None:
    user = fake.user(language_code="ru")
    await user.send("/start")
    await user.expect("Здравствуйте")
    menu = await user.expect("Что вы хотите сделать")
    assert "Алтайский край" in menu.text and "Не ваш регион" in menu.text
    await user.press("📍 Сменить регион")
    await user.expect("Ваш регион", predicate=lambda m: m.has_button("Моего региона нет в списке"))
    await user.press("Моего региона нет в списке")
    menu = await user.expect("Что вы хотите сделать", predicate=lambda m: "Вся Россия" in m.text)
    assert not menu.has_button("📍 Сменить регион")  # she has chosen: no more asking
