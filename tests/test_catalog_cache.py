"""The regions and the support catalog are cached in the process and read again after any change."""

from datetime import date

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import catalog, catalog_edit
from db.models import Region, Role, SupportMeasure
from tests.factories import NOW, Ids

_ids = Ids(1_770_000_000, __name__)
TODAY = date(2026, 11, 20)
REGION = "zz_cc_a"  # a region of this module's own (the database is shared by the run's tests)


async def _statements(session: AsyncSession, call) -> tuple[object, int]:
    seen: list[str] = []

    def note(*_args) -> None:
        seen.append("x")

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        result = await call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return result, len(seen)


async def _region(session: AsyncSession) -> None:
    for code in (REGION, catalog.FEDERAL):
        if await session.get(Region, code) is None:
            session.add(Region(code=code, name={"ru": code, "en": code}, timezone="Asia/Barnaul", position=960))
    await session.commit()


async def test_edits_reach_the_cached_catalog(session: AsyncSession, session_factory: async_sessionmaker) -> None:
    await _region(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION, name="Ольга")
    view = await catalog_edit.create(
        session,
        actor=staff,
        region_code=REGION,
        category="work",
        title="Биржа труда",
        description="Вакансии",
        phone="8 800 100-00-01",
        today=TODAY,
        now=NOW,
    )

    def shown() -> object:
        return catalog.measures(session, REGION, "work", "ru", TODAY)

    first, _ = await _statements(session, shown)
    assert [m.title for m in first if m.key == view.key] == ["Биржа труда"]  # type: ignore[attr-defined]
    again, statements = await _statements(session, shown)
    assert again == first and statements == 0  # from memory
    await session.commit()
    # An edit in the bot (another session, as another update would) is seen at once.
    async with session_factory() as other:
        await catalog_edit.edit(other, actor=staff, measure_id=view.id, today=TODAY, now=NOW, title="Центр занятости")
    edited = await catalog.measures(session, REGION, "work", "ru", TODAY)
    await session.commit()
    assert [m.title for m in edited if m.key == view.key] == ["Центр занятости"]
    async with session_factory() as other:
        await catalog_edit.archive(other, actor=staff, measure_id=view.id, now=NOW)
    assert view.key not in [m.key for m in await catalog.measures(session, REGION, "work", "ru", TODAY)]
    await session.commit()
    # A bulk statement on the table empties the cache too.
    async with session_factory() as other:
        await other.execute(update(SupportMeasure).where(SupportMeasure.id == view.id).values(archived_at=None))
        await other.commit()
    assert view.key in [m.key for m in await catalog.measures(session, REGION, "work", "ru", TODAY)]
    await session.commit()


async def test_region_changes_reach_the_cache(session: AsyncSession, session_factory: async_sessionmaker) -> None:
    await _region(session)
    before = await catalog.region(session, REGION)
    assert before is not None and before.timezone == "Asia/Barnaul"
    assert REGION in [r.code for r in await catalog.regions(session)]
    await session.commit()
    _, statements = await _statements(session, lambda: catalog.region(session, REGION))
    assert statements == 0
    await session.commit()
    async with session_factory() as other:
        row = await other.get(Region, REGION)
        assert row is not None
        row.timezone = "Europe/Moscow"
        await other.commit()
    after = await catalog.region(session, REGION)
    assert after is not None and after.timezone == "Europe/Moscow"
    await session.commit()
    async with session_factory() as other:
        row = await other.get(Region, REGION)
        assert row is not None
        row.timezone = "Asia/Barnaul"
        await other.rollback()  # a change that is rolled back leaves the database as it was
    again = await catalog.region(session, REGION)
    assert again is not None and again.timezone == "Europe/Moscow"
    await session.commit()
