"""Staff edit the support catalog in the bot; people see it in "Where to get help"; updates by need.

The bot runs on a copy of ``content/`` with a region of its own (``REGION``), so the entries these
tests add never show in the shipped regions other tests look at.
"""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from bot.services import subscriptions
from db.models import AuditEvent, MeasureVersion, SupportMeasure, User
from tests.conftest import ADMIN_ID, CONTENT, Clock
from tests.e2e.people import at_menu, team_member

REGION = "zz_cat_e2e"
ZONE = "Asia/Barnaul"


def _texts(ru: str, en: str) -> dict[str, str]:
    return {"ru": ru, "en": en}


@pytest.fixture
def content_dir(tmp_path: Path) -> str:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    region = {
        "code": REGION,
        "name": _texts("Край каталога", "Catalog land"),
        "timezone": ZONE,
        "crisis": [],
        "measures": [
            {
                "key": "file_mfc",
                "category": "documents",
                "title": _texts("МФЦ края каталога", "Documents centre of Catalog land"),
                "description": _texts("Паспорт и СНИЛС", "Passport and SNILS"),
                "phone": "8 000 000-00-01",
            },
            {
                "key": "file_lawyer",
                "category": "legal",
                "title": _texts("Юрист края каталога", "Lawyer of Catalog land"),
                "description": _texts("Бесплатно", "Free of charge"),
            },
        ],
    }
    (target / "regions" / "zz_catalog_e2e.yaml").write_text(yaml.safe_dump(region, allow_unicode=True), "utf-8")
    return str(target)


async def _person_of_region(fake, session):
    person = await at_menu(fake)
    session.expire_all()
    row = await session.get(User, person.id)
    row.region = REGION
    await session.commit()
    return person


async def _help_page(person, category: str):
    """What she reads under 'Where to get help' → the need (her region's entries come first)."""
    await person.send("/start")
    await person.expect("What would you like", predicate=lambda m: m.has_button("Where to get help"))
    await person.press("Where to get help")
    await person.expect("Catalog land", predicate=lambda m: m.has_button(category))
    await person.press(category)
    return await person.expect(category, predicate=lambda m: m.has_button("Back"))


async def _open_need(staff, category: str):
    await staff.send("/catalog")
    await staff.expect("Which need?", predicate=lambda m: m.has_button(category))
    await staff.press(category)
    return await staff.expect(category, predicate=lambda m: m.has_button("Add"))


async def _step(staff, text: str | None, prompt: str) -> None:
    """Answers one question of a new entry (``None``: Skip) and waits for the next screen."""
    if text is None:
        await staff.press("Skip")
    else:
        await staff.send(text)
    await staff.expect(prompt)


async def _add(staff, category: str, *, title: str, phone: str, url: str | None = None, until: str | None = None):
    await _open_need(staff, category)
    await staff.press("Add")
    await staff.expect("step 1 of 6", predicate=lambda m: m.has_button("Back"))
    await _step(staff, title, "step 2 of 6")
    await _step(staff, "Ночлег и еда на первое время.", "step 3 of 6")
    await _step(staff, None, "step 4 of 6")
    await _step(staff, phone, "step 5 of 6")
    await _step(staff, url, "step 6 of 6")
    await _step(staff, until, "Check, please")
    await staff.press("Save")
    assert "Saved" in (await staff.expect_callback_answer())["text"]
    return await staff.expect(title, predicate=lambda m: m.has_button("Archive"))


async def test_staff_add_edit_archive_and_see_the_history(start_bot, fake, session, content_dir) -> None:
    await start_bot(content_dir=content_dir)
    staff = await team_member(fake, session, "staff", region=REGION)
    woman = await _person_of_region(fake, session)

    # Adding, with mistakes on the way: a title too long, a sticker, a link that is not one.
    await _open_need(staff, "Housing")
    await staff.press("Add")
    await staff.expect("step 1 of 6", predicate=lambda m: m.has_button("Back"))
    await staff.send("Д" * 121)
    await staff.expect("too long: up to 120 characters")
    await staff.expect("step 1 of 6")
    await staff.send_sticker()
    await staff.expect("I need text here")
    await staff.expect("step 1 of 6")
    await _step(staff, "Тёплый дом", "step 2 of 6")
    await _step(staff, "Ночлег и еда на первое время.", "step 3 of 6")
    await _step(staff, None, "step 4 of 6")
    await _step(staff, "8 (3852) 11-22-33", "step 5 of 6")
    await staff.send("ftp://example.org")
    await staff.expect("does not look like a link")
    await _step(staff, "https://example.org/warm", "step 6 of 6")
    await _step(staff, None, "Check, please")
    await staff.press("Save")
    assert "Saved" in (await staff.expect_callback_answer())["text"]
    entry = await staff.expect("Тёплый дом", predicate=lambda m: m.has_button("Archive"))
    assert entry.has_button("Tell those subscribed to this category")
    assert "8 (3852) 11-22-33" in entry.text and "https://example.org/warm" in entry.text

    # Typed in Russian, it shows to a woman reading in English too.
    page = await _help_page(woman, "Housing")
    assert "Тёплый дом" in page.text and "8 (3852) 11-22-33" in page.text

    # Edit the phone.
    await staff.press("Phone")
    await staff.expect("phone number", predicate=lambda m: m.has_button("Clear"))
    await staff.send("8 (3852) 99-88-77")
    await staff.expect("Saved.")
    await staff.expect("8 (3852) 99-88-77", predicate=lambda m: m.has_button("Archive"))
    page = await _help_page(woman, "Housing")
    assert "8 (3852) 99-88-77" in page.text and "11-22-33" not in page.text

    # Archive: gone from the catalog.
    await staff.press("Archive")
    assert "Archived" in (await staff.expect_callback_answer())["text"]
    await staff.expect("Archived: people do not see it", predicate=lambda m: m.has_button("Restore"))
    page = await _help_page(woman, "Housing")
    assert "Тёплый дом" not in page.text

    row = await session.scalar(
        select(SupportMeasure).where(SupportMeasure.region_code == REGION).order_by(SupportMeasure.id.desc())
    )
    assert row is not None and row.key.startswith("bot-") and row.source == "bot"
    actions = list(await session.scalars(select(MeasureVersion.action).where(MeasureVersion.measure_id == row.id)))
    await session.commit()
    assert sorted(actions) == ["archived", "created", "edited"]

    # The history: the three changes, newest first, with before and after.
    await staff.send("/catalog_history")
    history = await staff.expect("Latest changes in the catalog")
    text = history.text
    assert text.index("archived") < text.index("edited") < text.index("added")
    assert "Phone: 8 (3852) 11-22-33 → 8 (3852) 99-88-77" in text
    assert "Archived: no → yes" in text
    assert "Title: — → Тёплый дом" in text
    assert staff.first_name in text and str(staff.id) not in text  # the editor by name, not by Telegram id
    assert len(text) <= 4096
    # Someone without a team role has no such commands.
    await woman.send("/catalog_history")
    await woman.expect("only for the programme team")


async def test_tell_those_subscribed_opens_the_composer(start_bot, fake, session, content_dir) -> None:
    import dialogs
    from dialogs.states import BroadcastSG

    await start_bot(content_dir=content_dir)
    staff = await team_member(fake, session, "staff", region=REGION)
    await _add(staff, "Children and family", title="Семейный центр", phone="8 (3852) 44-55-66")
    await staff.press("Tell those subscribed")
    composer = any(BroadcastSG.content in getattr(d, "windows", {}) for d in dialogs.dialogs_router().sub_routers)
    if composer:  # the broadcasts' dialog is in this build: it opens with the entry's summary
        await staff.expect(predicate=lambda m: not m.has_button("Tell those subscribed"))
    else:
        assert "not available yet" in (await staff.expect_callback_answer())["text"]


async def test_an_expired_entry_hides_by_itself(start_bot, fake, session, content_dir) -> None:
    clock = Clock(datetime.now(UTC))
    await start_bot(clock=clock, content_dir=content_dir)
    staff = await team_member(fake, session, "staff", region=REGION)
    woman = await _person_of_region(fake, session)
    today = clock.now.astimezone(ZoneInfo(ZONE)).date()

    await _open_need(staff, "Work")
    await staff.press("Add")
    await staff.expect("step 1 of 6")
    for answer, prompt in (
        ("Работа на неделю", "step 2 of 6"),
        ("Временная работа.", "step 3 of 6"),
        (None, "step 4 of 6"),
        (None, "step 5 of 6"),
        (None, "step 6 of 6"),
    ):
        await _step(staff, answer, prompt)
    await staff.send((today - timedelta(days=1)).strftime("%d.%m.%Y"))
    await staff.expect("This day has already passed")
    await _step(staff, (today + timedelta(days=1)).strftime("%d.%m.%Y"), "Check, please")
    await staff.press("Save")
    await staff.expect("Работа на неделю", predicate=lambda m: m.has_button("Archive"))

    page = await _help_page(woman, "Work")
    assert "Работа на неделю" in page.text
    clock.now += timedelta(days=2)  # the day after "valid until"
    page = await _help_page(woman, "Work")
    assert "Работа на неделю" not in page.text
    # Staff still see it, marked, to extend or archive it.
    listing = await _open_need(staff, "Work")
    assert listing.has_button("⌛ Работа на неделю")


async def test_a_restart_keeps_an_edit_of_a_file_entry(start_bot, fake, session, content_dir) -> None:
    app = await start_bot(content_dir=content_dir)
    staff = await team_member(fake, session, "staff", region=REGION)
    woman = await _person_of_region(fake, session)
    await _open_need(staff, "Documents")
    await staff.press("Documents centre of Catalog land")
    await staff.expect("8 000 000-00-01", predicate=lambda m: m.has_button("Phone"))
    await staff.press("Phone")
    await staff.expect("Now: 8 000 000-00-01")
    await staff.send("8 000 777-77-77")
    await staff.expect("8 000 777-77-77", predicate=lambda m: m.has_button("Archive"))

    await app.test_stop()
    await start_bot(content_dir=content_dir)  # the file sync runs again at start
    session.expire_all()
    row = await session.scalar(
        select(SupportMeasure).where(SupportMeasure.region_code == REGION, SupportMeasure.key == "file_mfc")
    )
    await session.commit()
    assert row is not None and (row.phone, row.source) == ("8 000 777-77-77", "bot")
    page = await _help_page(woman, "Documents")
    assert "8 000 777-77-77" in page.text and "000-00-01" not in page.text


async def test_staff_of_another_region_cannot_edit(start_bot, fake, session, content_dir) -> None:
    await start_bot(content_dir=content_dir)
    other = await team_member(fake, session, "staff", region="altai_krai")
    lawyer = await session.scalar(
        select(SupportMeasure.id).where(SupportMeasure.region_code == REGION, SupportMeasure.key == "file_lawyer")
    )
    await session.commit()
    listing = await _open_need(other, "Legal help")
    assert not listing.has_button("Lawyer of Catalog land")
    intent = listing.button_data[next(b for b in listing.button_data if "Add" in b)].split("\x1d", 1)[0]
    await other.forge_callback(f"{intent}\x1dent:{lawyer}", listing)
    assert "not available to you" in (await other.expect_callback_answer()).get("text", "")
    await other.forge_callback(f"{intent}\x1dent:not-a-number", listing)
    assert "out of date" in (await other.expect_callback_answer()).get("text", "")

    session.expire_all()
    denied = list(
        await session.scalars(select(AuditEvent).where(AuditEvent.actor_id == other.id, AuditEvent.action == "denied"))
    )
    await session.commit()
    assert [(d.object_type, d.object_id) for d in denied] == [("measure", str(lawyer))]
    row = await session.get(SupportMeasure, lawyer)
    assert row is not None and row.source == "file"
    await session.commit()


async def test_updates_chosen_in_settings(start_bot, fake, session, content_dir) -> None:
    await start_bot(content_dir=content_dir)
    woman = await _person_of_region(fake, session)
    neighbour = await _person_of_region(fake, session)
    await woman.send("/settings")
    await woman.expect("Settings", predicate=lambda m: m.has_button("Updates"))
    await woman.press("Updates")
    screen = await woman.expect("Updates", predicate=lambda m: m.has_button("✅ 🏠 Housing"))
    assert screen.has_button("✅ 💼 Work") and "You have not chosen a region" not in screen.text
    await woman.press("Housing")
    assert "Saved" in (await woman.expect_callback_answer())["text"]
    await woman.expect("Updates", predicate=lambda m: m.has_button("◻️ 🏠 Housing"))

    session.expire_all()
    assert (await subscriptions.get(session, woman.id))["housing"] is False
    housing = set(await subscriptions.subscribers(session, category="housing", regions=[REGION]))
    work = set(await subscriptions.subscribers(session, category="work", regions=[REGION]))
    assert neighbour.id in housing and woman.id not in housing
    assert {woman.id, neighbour.id} <= work
    assert woman.id not in set(await subscriptions.subscribers(session, category="housing", regions=["altai_krai"]))
    await session.commit()  # the service only reads: end the test's transaction before the bot writes

    # Back on with one more tap.
    await woman.press("Housing")
    await woman.expect_callback_answer()
    await woman.expect("Updates", predicate=lambda m: m.has_button("✅ 🏠 Housing"))
    assert woman.id in set(await subscriptions.subscribers(session, category="housing", regions=[REGION]))
    await session.commit()


async def test_admins_choose_the_region_first(start_bot, fake, session, content_dir) -> None:
    await start_bot(content_dir=content_dir)
    admin = fake.users[ADMIN_ID] if ADMIN_ID in fake.users else fake.user(user_id=ADMIN_ID)
    await admin.send("/catalog")
    regions = await admin.expect("Which region's entries?", predicate=lambda m: m.has_button("Catalog land"))
    assert regions.has_button("All of Russia") and regions.has_button("Altai Krai")
    await admin.press("Catalog land")
    await admin.expect("Which need?", predicate=lambda m: m.has_button("Regions"))
    await admin.press("Legal help")
    listing = await admin.expect("Legal help", predicate=lambda m: m.has_button("Lawyer of Catalog land"))
    await admin.press("Lawyer of Catalog land", listing)
    await admin.expect("Free of charge", predicate=lambda m: m.has_button("Link"))
    await admin.press("Link")
    await admin.expect("starting with http", predicate=lambda m: m.has_button("Clear"))
    await admin.send_photo()
    await admin.expect("I need text here")
    await admin.press("Back")
    await admin.expect("Free of charge", predicate=lambda m: m.has_button("Archive"))
