"""Urgent help from everywhere; settings; privacy and deletion."""

from sqlalchemy import func, select

from db.models import Conversation, FsmRecord, Reminder, ReminderState, User
from tests.e2e.people import at_menu


async def test_crisis_from_the_menu_lists_region_then_federal(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("Urgent help")
    crisis = await user.expect("If you or your children are in danger")
    text = crisis.text
    assert "8-800-201-47-17" in text and "8 (3852) 34-22-55" in text and "8 (3852) 33-37-78" in text
    assert text.index("8-800-201-47-17") < text.index("112")
    await user.press("Back")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Help"))


async def test_sos_key_opens_crisis_over_any_screen_and_back_returns(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("What is the programme")
    await user.expect("What is a restorative programme")
    await user.press_reply("Urgent help")
    await user.expect("If you or your children are in danger")
    await user.press_reply("Urgent help")  # pressing again does not pile up screens
    await user.expect("If you or your children are in danger", predicate=lambda m: m.has_button("Back"))
    await user.press("Back")
    await user.expect("What is a restorative programme")


async def test_sos_command_and_russian_keyboard_label(bot, fake) -> None:
    user = fake.user(language_code="ru")
    await user.send("/sos")
    await user.expect("8-800-201-47-17")
    await user.send("🆘 Срочная помощь")
    await user.expect("8-800-201-47-17")


async def test_crisis_words_in_free_text(bot, fake) -> None:
    user = fake.user(language_code="ru")
    await user.send("/start")
    await user.expect("Что вы хотите сделать")
    await user.send("муж опять избил меня, мне страшно")
    await user.expect("Вы не одни")
    await user.expect("8-800-201-47-17")
    english = fake.user(language_code="en")
    await english.send("I have nowhere to sleep tonight")
    await english.expect("You are not alone")
    await english.expect("112")


async def test_crisis_words_as_people_write_them_from_any_window(bot, fake, session) -> None:
    """Phrasings of the labelled set (tests/data/crisis_labelled.tsv), sent from one screen after another."""
    woman = fake.user(language_code="ru")
    await woman.send("/start")
    await woman.expect("Что вы хотите сделать")
    await woman.send("мне очень плохо нехочу больше жить")
    await woman.expect("Вы не одни")
    await woman.expect("8-800-201-47-17")

    await woman.send("/settings")
    await woman.expect("Настройки")
    await woman.send("нам с ребенком негде ночевать")
    await woman.expect("Вы не одни")
    await woman.expect("8-800-201-47-17")

    await woman.send("/human")  # a screen that takes her words for a person: the crisis still comes first
    await woman.expect("Написать человеку")
    await woman.send("xoчу yмереть")  # Latin look-alikes
    await woman.expect("Вы не одни")
    await woman.expect("8-800-201-47-17")

    reading = await at_menu(fake)
    await reading.press("What is the programme")
    await reading.expect("What is a restorative programme")
    await reading.send("my husband beat me again")
    await reading.expect("You are not alone")
    await reading.expect("If you or your children are in danger")

    ordinary = await at_menu(fake)
    await ordinary.send("I will live with my sister, I want to live a normal life with my kids")
    await ordinary.expect("Thank you for writing")  # one kind answer, with the way to a person
    assert not any("You are not alone" in m.text or "112" in m.text for m in ordinary.messages)

    # The test database outlives the test: the team's reminders about these conversations would fall
    # due in later tests (whose clocks move on) and queue in front of their own messages.
    session.expire_all()
    talks = set(await session.scalars(select(Conversation.id).where(Conversation.user_id.in_([woman.id, reading.id]))))
    assert talks, "crisis words reach a person"
    for row in await session.scalars(select(Reminder).where(Reminder.state == ReminderState.PENDING.value)):
        if (row.payload or {}).get("conversation") in talks:
            row.state = ReminderState.CANCELLED.value
    await session.commit()


async def test_crisis_without_a_region_offers_to_choose_one(start_bot, fake) -> None:
    await start_bot(default_region="")
    user = fake.user()
    await user.send("/sos")
    crisis = await user.expect("112")
    assert "3852" not in crisis.text
    assert "Choose your region to see the numbers near you" in crisis.text
    await user.press("Choose region")
    await user.expect("Your region")
    await user.press("Altai Krai")
    await user.expect("8-800-201-47-17")


async def test_language_switch(bot, fake, session) -> None:
    user = fake.user(language_code="en")
    await user.send("/settings")
    screen = await user.expect("Settings")
    assert "English" in screen.text and "Altai Krai" in screen.text
    await user.press("Language")
    await user.expect("Which language is easier for you")
    await user.press("Русский")
    done = await user.expect("Теперь я говорю по-русски")
    assert done.reply_keyboard == [["🆘 Срочная помощь", "☰ Меню"]]
    screen = await user.expect("Настройки")
    assert "Русский" in screen.text and "Алтайский край" in screen.text
    row = await session.get(User, user.id)
    assert row is not None and row.locale == "ru"
    # Her choice beats the language of her Telegram app from now on.
    await user.send("/start")
    await user.expect("Здравствуйте")
    # The old English keyboard still works after the switch.
    await user.send("☰ Menu")
    await user.expect("Что вы хотите сделать")


async def test_region_from_settings(bot, fake, session) -> None:
    user = fake.user()
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("Region")
    await user.expect("Your region")
    await user.press("Altai Krai")
    assert "Region saved" in (await user.expect_callback_answer())["text"]
    await user.expect("Settings")
    row = await session.get(User, user.id)
    assert row is not None and (row.region, row.timezone) == ("altai_krai", "Asia/Barnaul")


async def test_privacy_shows_what_is_kept_with_a_localized_date(start_bot, fake) -> None:
    from datetime import UTC, datetime

    from tests.conftest import Clock

    await start_bot(clock=Clock(datetime(2026, 12, 3, 20, 30, tzinfo=UTC)))
    user = fake.user(language_code="ru")
    await user.send("/privacy")
    screen = await user.expect("Что мы храним")
    # 20:30 UTC is already 4 December in Barnaul (UTC+7); Babel writes the month in Russian.
    assert "4 декабря 2026" in screen.text
    english = fake.user(language_code="en")
    await english.send("/privacy")
    assert "December 4, 2026" in (await english.expect("What we keep")).text


async def test_delete_my_data(bot, fake, session) -> None:
    user = await at_menu(fake)
    await user.press("Privacy")
    await user.expect("What we keep about you")
    await user.press("Delete my data")
    await user.expect("cannot be undone")
    await user.press("No, keep it")
    await user.expect("What we keep about you")
    assert await session.get(User, user.id) is not None
    await user.press("Delete my data")
    await user.expect("cannot be undone")
    await user.press("Yes, delete")
    await user.expect("everything we kept about you is deleted")
    session.expire_all()
    assert await session.get(User, user.id) is None
    await bot.storage.flush()  # a dialog's last save, written behind the update, brings nothing back
    left = await session.scalar(
        select(func.count()).select_from(FsmRecord).where(FsmRecord.user_id == user.id, FsmRecord.state.is_not(None))
    )
    assert left == 0
    # Writing again starts from the beginning, as a new person.
    await user.send("/start")
    await user.expect("Hello! 👋")


async def test_free_lines_for_all_of_russia_after_her_region_and_for_anyone_not_listed(bot, fake) -> None:
    user = await at_menu(fake)
    await user.press("Urgent help")
    crisis = await user.expect("If you or your children are in danger")
    text = crisis.text
    # She never chose a region: the local numbers are labelled as Altai Krai's, not as hers.
    assert "If you are in Altai Krai" in text and "you have not chosen a region" in text
    assert text.index("8-800-201-47-17") < text.index("Free lines for all of Russia") < text.index("8-800-7000-600")
    assert "8-800-2000-122" in text and "112" in text
    await user.press("Choose region")
    await user.expect("Your region")
    await user.press("My region is not in the list")
    everywhere = await user.expect("Free lines for all of Russia")
    assert "8-800-7000-600" in everywhere.text and "8-800-2000-122" in everywhere.text
    assert "3852" not in everywhere.text and "8-800-201-47-17" not in everywhere.text  # no Barnaul numbers
    await user.press("Choose region")
    await user.expect("Your region")
    await user.press("Altai Krai")
    chosen = await user.expect("In Altai Krai:")
    assert "not chosen" not in chosen.text and "8-800-7000-600" in chosen.text


async def test_the_privacy_screens_say_who_reads_her_messages(bot, fake) -> None:
    user = fake.user(language_code="ru")
    await user.send("/privacy")
    screen = await user.expect("Что мы храним о вас")
    assert "Кто читает ваши сообщения: команда вашего региона" in screen.text
    assert "180 дней" in screen.text  # HISTORY_RETENTION_DAYS, from the settings
    assert "Больше никто" not in screen.text and "Мы не храним ваше имя" not in screen.text
    await user.send("/start")
    await user.expect("Что вы хотите сделать", predicate=lambda m: m.has_button("Что такое программа"))
    await user.press("Что такое программа")
    for _ in range(4):
        await user.expect(predicate=lambda m: m.has_button("Дальше ▶"))
        await user.press("Дальше ▶")
    who = await user.expect("Кто увидит то, что я пишу")
    assert "команда вашего региона" in who.text and "Больше никто" not in who.text
