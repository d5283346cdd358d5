"""The support catalog edited in the bot: rights, validation, versions, expiry, and the file sync."""

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalog, catalog_edit
from db.models import MeasureVersion, Region, Role, SupportMeasure, User
from tests.factories import NOW, Ids, audit_rows

_ids = Ids(690_000_000, __name__)
TODAY = date(2026, 11, 20)
# Regions of this module's own: entries added here must never show in the shipped regions that the
# end-to-end tests read (all tests of a run share one database per backend).
REGION_A = "zz_ce_a"
REGION_B = "zz_ce_b"


async def _regions(session: AsyncSession) -> None:
    for code, zone in ((REGION_A, "Asia/Barnaul"), (REGION_B, "Europe/Moscow"), (catalog.FEDERAL, "Europe/Moscow")):
        if await session.get(Region, code) is None:
            session.add(Region(code=code, name={"ru": code, "en": code}, timezone=zone, position=950))
    await session.commit()


async def _create(session: AsyncSession, actor, region: str = REGION_A, **overrides):
    values: dict[str, Any] = {
        "region_code": region,
        "category": "housing",
        "title": "Кризисная квартира",
        "description": "Жильё на первое время",
        "phone": "8 800 100-00-00",
        "today": TODAY,
        "now": NOW,
    }
    values.update(overrides)
    return await catalog_edit.create(session, actor=actor, **values)


async def _versions(session: AsyncSession, measure_id: int) -> list[MeasureVersion]:
    rows = await session.scalars(
        select(MeasureVersion).where(MeasureVersion.measure_id == measure_id).order_by(MeasureVersion.id)
    )
    found = list(rows)
    await session.commit()
    return found


async def test_staff_add_an_entry_of_their_region(session: AsyncSession) -> None:
    await _regions(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION_A, name="Ольга")
    view = await _create(session, staff, url="https://example.org/flat")
    assert view.key.startswith("bot-") and view.source == "bot"
    assert view.title == {"ru": "Кризисная квартира", "en": "Кризисная квартира"}  # both languages
    for locale in ("ru", "en"):
        shown = await catalog.measures(session, REGION_A, "housing", locale, TODAY)
        mine = [m for m in shown if m.key == view.key]
        assert mine and mine[0].title == "Кризисная квартира" and mine[0].phone == "8 800 100-00-00"
    versions = await _versions(session, view.id)
    assert [v.action for v in versions] == ["created"]
    assert versions[0].after is not None
    assert versions[0].before is None and versions[0].after["url"] == "https://example.org/flat"
    assert versions[0].actor_id == staff.user_id
    assert len(await audit_rows(session, staff.user_id, "measure_created")) == 1
    # Two entries never share a key.
    other = await _create(session, staff)
    assert other.key != view.key


async def test_texts_given_in_one_language_fill_the_other(session: AsyncSession) -> None:
    await _regions(session)
    admin = await _ids.person(session, Role.ADMIN)
    view = await _create(session, admin, title={"en": "Legal aid"}, description={"ru": "Юристы", "en": "Lawyers"})
    assert view.title == {"ru": "Legal aid", "en": "Legal aid"}
    assert view.description == {"ru": "Юристы", "en": "Lawyers"}


async def test_other_region_and_other_roles_are_refused_and_audited(session: AsyncSession) -> None:
    await _regions(session)
    staff_a = await _ids.person(session, Role.STAFF, scope=REGION_A)
    staff_b = await _ids.person(session, Role.STAFF, scope=REGION_B)
    curator = await _ids.person(session, Role.CURATOR, scope=REGION_A)
    view = await _create(session, staff_a)

    with pytest.raises(catalog_edit.Refused):
        await _create(session, staff_b, region=REGION_A)
    with pytest.raises(catalog_edit.Refused):
        await catalog_edit.edit(session, actor=staff_b, measure_id=view.id, today=TODAY, now=NOW, phone="112")
    with pytest.raises(catalog_edit.Refused):
        await catalog_edit.archive(session, actor=staff_b, measure_id=view.id, now=NOW)
    with pytest.raises(catalog_edit.Refused):
        await catalog_edit.get(session, actor=curator, measure_id=view.id, now=NOW)
    with pytest.raises(catalog_edit.Refused):
        await catalog_edit.entries(session, actor=staff_b, region_code=REGION_A, category="housing", now=NOW)
    with pytest.raises(catalog_edit.Refused):  # a crisis line is not edited here; an unknown id looks the same
        await catalog_edit.get(session, actor=staff_a, measure_id=10**9, now=NOW)
    with pytest.raises(catalog_edit.Refused):
        await _create(session, staff_a, region=catalog.FEDERAL)  # federal entries are the admins'
    denied = await audit_rows(session, staff_b.user_id, "denied")
    assert [(d.object_type, (d.details or {})["attempted"]) for d in denied] == [
        ("measure", "create"),
        ("measure", "edit"),
        ("measure", "archived"),
        ("measure", "list"),
    ]
    assert denied[1].object_id == str(view.id)
    assert len(await audit_rows(session, curator.user_id, "denied")) == 1
    session.expire_all()
    row = await session.get(SupportMeasure, view.id)
    assert row is not None and row.phone == "8 800 100-00-00" and row.archived_at is None
    await session.commit()


async def test_a_role_taken_away_counts_at_once(session: AsyncSession) -> None:
    await _regions(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION_A)
    view = await _create(session, staff)
    user = await session.get(User, staff.user_id)
    assert user is not None
    user.role = None
    await session.commit()
    with pytest.raises(catalog_edit.Refused):  # the profile object still says staff
        await catalog_edit.edit(session, actor=staff, measure_id=view.id, today=TODAY, now=NOW, phone="112")


async def test_admins_edit_every_region_and_federal(session: AsyncSession) -> None:
    await _regions(session)
    admin = await _ids.person(session, Role.ADMIN)
    staff_b = await _ids.person(session, Role.STAFF, scope=REGION_B)
    federal = await _create(session, admin, region=catalog.FEDERAL, category="legal")
    in_b = await _create(session, staff_b, region=REGION_B)
    edited = await catalog_edit.edit(session, actor=admin, measure_id=in_b.id, today=TODAY, now=NOW, phone="112")
    assert edited.phone == "112"
    assert federal.region_code == catalog.FEDERAL
    regions = [r.code for r in await catalog_edit.editable_regions(session, actor=admin)]
    assert regions[0] == catalog.FEDERAL and {REGION_A, REGION_B} <= set(regions)
    assert [r.code for r in await catalog_edit.editable_regions(session, actor=staff_b)] == [REGION_B]
    # A federal entry shows in every region.
    shown = await catalog.measures(session, REGION_B, "legal", "en", TODAY)
    assert federal.key in [m.key for m in shown]
    # Archived again, so that the shipped federal list other tests read stays as it was.
    await catalog_edit.archive(session, actor=admin, measure_id=federal.id, now=NOW)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("title", "x" * 121, "too_long"),
        ("title", "   ", "empty"),
        ("description", "x" * 601, "too_long"),
        ("address", "x" * 201, "too_long"),
        ("phone", "7" * 65, "too_long"),
        ("phone", "call me", "phone"),
        ("url", "ftp://example.org", "url"),
        ("url", "example.org", "url"),
        ("url", "https://", "url"),
        ("url", "javascript:alert(1)", "url"),
        ("url", "https://example.org/" + "a" * 500, "too_long"),
        ("valid_until", TODAY - timedelta(days=1), "past"),
        ("valid_until", "31.02.2027", "date"),
        ("valid_until", "soon", "date"),
    ],
)
def test_validation(field: str, value: object, reason: str) -> None:
    with pytest.raises(catalog_edit.Invalid) as caught:
        catalog_edit.clean(field, value, today=TODAY)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_clean_accepts_what_staff_type() -> None:
    assert catalog_edit.clean("title", "  Дом  для  мамы ", today=TODAY) == {"ru": "Дом для мамы", "en": "Дом для мамы"}
    assert catalog_edit.clean("title", "x" * 120, today=TODAY)["en"] == "x" * 120
    assert catalog_edit.clean("description", "Две строки\nвторая", today=TODAY)["ru"] == "Две строки\nвторая"
    assert catalog_edit.clean("url", "HTTPS://example.org/a?b=1", today=TODAY) == "HTTPS://example.org/a?b=1"
    assert catalog_edit.clean("valid_until", "20.11.2026", today=TODAY) == TODAY  # today still counts
    assert catalog_edit.clean("valid_until", "2027-01-31", today=TODAY) == date(2027, 1, 31)
    for optional in ("address", "phone", "url", "valid_until"):
        assert catalog_edit.clean(optional, None, today=TODAY) is None


async def test_service_refuses_bad_input_and_writes_nothing(session: AsyncSession) -> None:
    await _regions(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION_A)
    with pytest.raises(catalog_edit.Invalid, match="title"):
        await _create(session, staff, title="x" * 121)
    with pytest.raises(catalog_edit.Invalid, match="category"):
        await _create(session, staff, category="pets")
    with pytest.raises(catalog_edit.Invalid, match="region"):
        await _create(session, staff, region="nowhere")
    view = await _create(session, staff)
    with pytest.raises(catalog_edit.Invalid, match="url"):
        await catalog_edit.edit(session, actor=staff, measure_id=view.id, today=TODAY, now=NOW, url="ftp://x")
    with pytest.raises(catalog_edit.Invalid, match="key"):
        await catalog_edit.edit(session, actor=staff, measure_id=view.id, today=TODAY, now=NOW, key="evil")
    assert [v.action for v in await _versions(session, view.id)] == ["created"]


async def test_edit_archive_restore_are_versioned(session: AsyncSession) -> None:
    await _regions(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION_A)
    view = await _create(session, staff, category="work", url="https://example.org")
    later = NOW + timedelta(hours=1)
    edited = await catalog_edit.edit(
        session, actor=staff, measure_id=view.id, today=TODAY, now=later, phone="8 (3852) 00-00-00", url=None
    )
    assert edited.phone == "8 (3852) 00-00-00" and edited.url is None
    # Nothing changes: no version.
    await catalog_edit.edit(session, actor=staff, measure_id=view.id, today=TODAY, now=later, phone="8 (3852) 00-00-00")
    await catalog_edit.archive(session, actor=staff, measure_id=view.id, now=later)
    await catalog_edit.archive(session, actor=staff, measure_id=view.id, now=later)  # already archived
    assert view.key not in [m.key for m in await catalog.measures(session, REGION_A, "work", "ru", TODAY)]
    listed = await catalog_edit.entries(session, actor=staff, region_code=REGION_A, category="work", now=NOW)
    assert any(v.id == view.id and v.archived for v in listed)
    with pytest.raises(catalog_edit.Invalid, match="archived"):
        await catalog_edit.edit(session, actor=staff, measure_id=view.id, today=TODAY, now=later, phone="112")
    await catalog_edit.restore(session, actor=staff, measure_id=view.id, now=later)
    assert view.key in [m.key for m in await catalog.measures(session, REGION_A, "work", "ru", TODAY)]

    versions = await _versions(session, view.id)
    assert [v.action for v in versions] == ["created", "edited", "archived", "restored"]
    assert versions[1].before is not None and versions[1].after is not None
    assert versions[2].before is not None and versions[2].after is not None
    assert versions[1].before["phone"] == "8 800 100-00-00" and versions[1].after["phone"] == "8 (3852) 00-00-00"
    assert versions[1].before["url"] == "https://example.org" and versions[1].after["url"] is None
    assert versions[2].before["archived"] is False and versions[2].after["archived"] is True
    edits = await audit_rows(session, staff.user_id, "measure_edited")
    assert edits[-1].details == {"region": REGION_A, "fields": ["phone", "url"]}  # names only, no text


async def test_expired_entries_hide_by_themselves(session: AsyncSession) -> None:
    await _regions(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION_A)
    view = await _create(session, staff, category="money", valid_until=TODAY)
    assert view.key in [m.key for m in await catalog.measures(session, REGION_A, "money", "ru", TODAY)]
    tomorrow = TODAY + timedelta(days=1)
    assert view.key not in [m.key for m in await catalog.measures(session, REGION_A, "money", "ru", tomorrow)]
    listed = await catalog_edit.entries(session, actor=staff, region_code=REGION_A, category="money", now=NOW)
    assert any(v.id == view.id and v.expired(tomorrow) for v in listed)  # staff still see it, to extend it


def _file(code: str, *entries: catalog.Entry) -> catalog.RegionFile:
    return catalog.RegionFile(
        code=code, name={"ru": code, "en": code}, timezone="Europe/Moscow", entries=list(entries), work_hours=None
    )


def _entry(key: str, title: str, phone: str) -> catalog.Entry:
    return catalog.Entry(
        key=key,
        kind="support",
        category="documents",
        title={"ru": title, "en": title},
        description={"ru": "d", "en": "d"},
        address=None,
        phone=phone,
        url=None,
        valid_until=None,
    )


async def test_the_file_sync_leaves_bot_changes_alone(session: AsyncSession) -> None:
    code = f"zz_ce_{_ids.new() % 100_000}"
    admin = await _ids.person(session, Role.ADMIN)
    # Only this region's file: syncing a federal file of our own would archive the shipped federal entries.
    files = [
        _file(code, _entry("mfc", "МФЦ", "111"), _entry("passport", "Паспорт", "222"), _entry("old", "Old", "333")),
    ]
    await catalog.sync(session, files, now=NOW)
    rows = {r.key: r for r in await session.scalars(select(SupportMeasure).where(SupportMeasure.region_code == code))}
    await session.commit()
    assert {r.source for r in rows.values()} == {"file"}
    await catalog_edit.edit(session, actor=admin, measure_id=rows["mfc"].id, today=TODAY, now=NOW, phone="999")
    await catalog_edit.archive(session, actor=admin, measure_id=rows["old"].id, now=NOW)
    added = await _create(session, admin, region=code, category="documents")

    # The file changes every entry; a restart syncs it again.
    files[0] = _file(
        code, _entry("mfc", "МФЦ 2", "112"), _entry("passport", "Паспорт 2", "223"), _entry("old", "O", "3")
    )
    await catalog.sync(session, files, now=NOW + timedelta(days=1))
    session.expire_all()
    rows = {r.key: r for r in await session.scalars(select(SupportMeasure).where(SupportMeasure.region_code == code))}
    await session.commit()
    assert (rows["mfc"].phone, rows["mfc"].title["ru"], rows["mfc"].source) == ("999", "МФЦ", "bot")
    assert rows["old"].archived_at is not None  # archived in the bot stays archived
    assert (rows["passport"].phone, rows["passport"].title["ru"]) == ("223", "Паспорт 2")  # untouched: the file wins
    assert rows[added.key].archived_at is None  # not in any file, and still live
    shown = [m.key for m in await catalog.measures(session, code, "documents", "ru", TODAY) if m.region_code == code]
    assert set(shown) == {"mfc", "passport", added.key}


async def test_history_by_region_newest_first(session: AsyncSession) -> None:
    await _regions(session)
    staff_b = await _ids.person(session, Role.STAFF, scope=REGION_B, name="Вера")
    staff_a = await _ids.person(session, Role.STAFF, scope=REGION_A)
    admin = await _ids.person(session, Role.ADMIN)
    woman = await _ids.person(session, Role.WOMAN)
    at = NOW + timedelta(days=30)
    in_b = await _create(session, staff_b, region=REGION_B, now=at)
    await catalog_edit.edit(
        session, actor=staff_b, measure_id=in_b.id, today=TODAY, now=at + timedelta(minutes=1), phone="112"
    )
    in_a = await _create(session, staff_a, now=at + timedelta(minutes=2))

    seen_b = await catalog_edit.history(session, actor=staff_b, now=at)
    assert all(c.region_code == REGION_B for c in seen_b)
    assert [(c.measure_id, c.action) for c in seen_b[:2]] == [(in_b.id, "edited"), (in_b.id, "created")]
    assert seen_b[0].actor_name == "Вера"
    assert seen_b[0].before is not None and seen_b[0].after is not None
    assert seen_b[0].before["phone"] == "8 800 100-00-00" and seen_b[0].after["phone"] == "112"
    seen_all = await catalog_edit.history(session, actor=admin, now=at, limit=500)
    assert {in_a.id, in_b.id} <= {c.measure_id for c in seen_all}
    assert len(await audit_rows(session, staff_b.user_id, "catalog_history_viewed")) == 1
    with pytest.raises(catalog_edit.Refused):
        await catalog_edit.history(session, actor=woman, now=at)


def test_history_text_fits_one_message() -> None:
    from datetime import UTC, datetime

    from bot.i18n import create_i18n
    from dialogs.catalog.text import history_text
    from tests.conftest import CONTENT

    long = {"ru": "д" * 600, "en": "d" * 600}
    changes = [
        catalog_edit.Change(
            measure_id=n,
            region_code=REGION_A,
            action="edited",
            actor_id=1,
            actor_name="<Ольга>",
            at=datetime(2026, 11, 20, tzinfo=UTC),
            before={"title": {"ru": "T", "en": "T"}, "description": long, "category": "housing", "archived": False},
            after={"title": {"ru": "T", "en": "T"}, "description": {"ru": "x", "en": "x"}, "category": "housing"},
        )
        for n in range(200)
    ]
    i18n = create_i18n(CONTENT, "en")
    with i18n.context(), i18n.use_locale("en"):
        text = history_text(changes, "en", "Asia/Barnaul")
        assert len(text.encode("utf-16-le")) // 2 <= 4096
        assert "earlier ones" in text and "&lt;Ольга&gt;" in text
        assert history_text([], "en", "Asia/Barnaul").startswith("No changes")
