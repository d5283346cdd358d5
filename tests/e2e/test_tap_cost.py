"""What a tap costs the database (issue 12): dialog state is read once and written at most once per
update, the speaker's profile is not read again."""

from sqlalchemy import event

from tests.e2e.test_process import _until


async def settled(app) -> None:
    """Every update so far is done: marked in the inbox, which first waits for the dialog state it
    changed to be written (behind the update, in batches)."""
    await _until(lambda: app.inbox.busy == 0, timeout=60)


class Statements:
    def __init__(self, app) -> None:
        self.engine = app.context.db.kw["bind"].sync_engine
        self.seen: list[str] = []

    def __enter__(self) -> "Statements":
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, _conn, _cursor, statement: str, *_args) -> None:
        self.seen.append(" ".join(statement.split()[:4]))

    def on(self, table: str) -> list[str]:
        return [s.split()[0].upper() for s in self.seen if table in s]


async def test_next_is_one_write_of_dialog_state_and_no_profile_read(bot, fake) -> None:
    user = fake.user(language_code="en")
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("What is the programme"))
    await user.press("What is the programme")
    await user.expect("What is a restorative programme", predicate=lambda m: m.has_button("Next"))
    await user.press("Next")
    await user.expect("Only if you want it", predicate=lambda m: m.has_button("Next"))
    await settled(bot)
    with Statements(bot) as seen:
        await user.press("Next")
        await user.expect("Nobody takes sides", predicate=lambda m: m.has_button("Next"))
        await settled(bot)
    assert seen.on("fsm_state") == ["INSERT"]  # one upsert: no read, no delete
    assert seen.on("users") == []


async def test_the_menu_asks_the_database_nothing_it_already_knows(bot, fake) -> None:
    """Whether she has a programme is read once: not at her first contact (her row was made by that
    update, no case can have her), once at her next menu, and never again."""
    user = fake.user(language_code="en")
    reads = []
    for _ in range(3):
        with Statements(bot) as seen:
            await user.send("/start")
            await user.expect("What would you like", predicate=lambda m: m.has_button("What is the programme"))
        reads.append(seen.on("participants"))
    assert reads == [[], ["SELECT"], []]
    await user.press("What is the programme")
    await user.expect("What is a restorative programme", predicate=lambda m: m.has_button("Menu"))
    with Statements(bot) as seen:
        await user.press("Menu")
        await user.expect("What would you like", predicate=lambda m: m.has_button("What is the programme"))
    assert seen.on("participants") == []
    assert seen.on("users") == []


async def test_a_dialog_started_or_closed_reads_no_dialog_state(bot, fake) -> None:
    """aiogram_dialog's records hold data only: replacing or clearing one needs no read first."""
    user = fake.user(language_code="en")
    await user.send("/start")
    await user.expect("What would you like", predicate=lambda m: m.has_button("Where to get help"))
    with Statements(bot) as seen:
        await user.press("Where to get help")
        await user.expect("What do you need help with", predicate=lambda m: m.has_button("Housing"))
        await user.send("☰ Menu")
        await user.expect("What would you like", predicate=lambda m: m.has_button("Where to get help"))
        await settled(bot)
    assert "SELECT" not in seen.on("fsm_state")
    assert seen.on("fsm_state")  # the writes were seen (or this test could not fail)


async def test_a_first_contact_writes_her_row_once_and_reads_it_no_more(bot, fake) -> None:
    """Her row is looked for, inserted (handing itself back), and kept for the menu that follows."""
    user = fake.user(language_code="en")
    with Statements(bot) as seen:
        await user.send("/start")
        await user.expect("What would you like", predicate=lambda m: m.has_button("What is the programme"))
        await user.press("What is the programme")  # a screen that reads her profile: from memory
        await user.expect("What is a restorative programme", predicate=lambda m: m.has_button("Next"))
        await settled(bot)
    assert seen.on("users") == ["SELECT", "INSERT"]
