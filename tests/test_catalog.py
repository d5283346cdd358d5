from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalog

REGIONS = Path(__file__).resolve().parent.parent / "content" / "regions"


def test_shipped_files_follow_the_schema() -> None:
    files = catalog.load_region_files(REGIONS)
    codes = {f.code for f in files}
    assert {"federal", "altai_krai"} <= codes
    federal = next(f for f in files if f.code == "federal")
    # Every need has at least one answer that holds everywhere in Russia.
    assert {e.category for e in federal.entries if e.kind == "support"} == set(catalog.CATEGORIES)
    assert any(e.phone == "112" for e in federal.entries if e.kind == "crisis")
    altai = next(f for f in files if f.code == "altai_krai")
    assert {"8-800-201-47-17", "8 (3852) 34-22-55", "8 (3852) 33-37-78"} <= {e.phone for e in altai.entries}


def _write(tmp: Path, name: str, data: dict) -> None:
    (tmp / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _texts(s: str) -> dict[str, str]:
    return {"ru": s, "en": s}


def _region(code: str, measures: list[dict], crisis: list[dict] | None = None) -> dict:
    return {
        "code": code,
        "name": _texts(code),
        "timezone": "Europe/Moscow",
        "crisis": crisis or [],
        "measures": measures,
    }


def _measure(key: str, category: str = "housing", **extra: object) -> dict:
    return {"key": key, "category": category, "title": _texts(key), "description": _texts("d"), **extra}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_measure("x", category="pets"), "category"),
        (_measure("X-1"), "key"),
        (_measure("x", url="ftp://a"), "url"),
        (_measure("x", phone="call me"), "phone"),
        ({**_measure("x"), "title": {"ru": "only ru"}}, "title"),
        ({**_measure("x"), "description": _texts("a" * 601)}, "description"),
    ],
)
def test_bad_entries_are_named(tmp_path: Path, entry: dict, message: str) -> None:
    _write(tmp_path, "r.yaml", _region("r", [entry]))
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.parse_region_file(tmp_path / "r.yaml")


def test_federal_file_is_required(tmp_path: Path) -> None:
    _write(tmp_path, "r.yaml", _region("r", []))
    with pytest.raises(catalog.CatalogError, match="federal"):
        catalog.load_region_files(tmp_path)


async def test_sync_updates_archives_and_expires(session: AsyncSession, tmp_path: Path) -> None:
    region = f"t{tmp_path.name[-8:].lower().replace('-', '_')}"
    _write(
        tmp_path,
        "_federal.yaml",
        _region(
            "federal",
            [],
            crisis=[
                {
                    "key": "emergency",
                    "title": _texts("112"),
                    "description": _texts("d"),
                    "phone": "112",
                    "source": "https://example.org/112",
                    "checked": date(2026, 12, 3),
                }
            ],
        ),
    )
    _write(
        tmp_path,
        "r.yaml",
        _region(region, [_measure("hotel"), _measure("old", valid_until=date(2020, 1, 1)), _measure("gone")]),
    )
    await catalog.sync_from_files(session, tmp_path)
    today = date(2026, 11, 26)
    keys = [m.key for m in await catalog.measures(session, region, "housing", "ru", today)]
    assert keys == ["hotel", "gone"]  # expired "old" is hidden by itself
    _write(tmp_path, "r.yaml", _region(region, [{**_measure("hotel"), "title": _texts("Hotel 2")}]))
    await catalog.sync_from_files(session, tmp_path)
    found = await catalog.measures(session, region, "housing", "en", today)
    assert [(m.key, m.title) for m in found] == [("hotel", "Hotel 2")]
    crisis = await catalog.crisis_contacts(session, region, "ru", today)
    assert [c.phone for c in crisis][-1] == "112"


async def test_region_first_then_federal(session: AsyncSession) -> None:
    await catalog.sync_from_files(session, REGIONS)
    crisis = await catalog.crisis_contacts(session, "altai_krai", "ru", date(2026, 11, 26))
    phones = [c.phone for c in crisis]
    assert phones[0] == "8-800-201-47-17"
    everywhere = ["112", "8-800-7000-600", "8-800-2000-122"]
    assert phones[-3:] == everywhere  # the free lines for all of Russia come after her region's
    only_federal = await catalog.crisis_contacts(session, None, "en", date(2026, 11, 26))
    assert [c.phone for c in only_federal] == everywhere
    regions = await catalog.regions(session)
    assert "federal" not in [r.code for r in regions]


def test_every_nationwide_number_names_its_source_and_the_date_checked() -> None:
    federal = catalog.parse_region_file(REGIONS / "_federal.yaml")
    phones = {e.phone for e in federal.entries if e.kind == "crisis" and e.phone}
    assert {"112", "8-800-7000-600", "8-800-2000-122"} <= phones
    raw = yaml.safe_load((REGIONS / "_federal.yaml").read_text(encoding="utf-8"))
    for item in raw["crisis"]:
        assert "http" in item["source"] and isinstance(item["checked"], date), item["key"]


def test_a_nationwide_number_without_a_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "_federal.yaml").write_text(
        "code: federal\nname: {ru: Россия, en: Russia}\ntimezone: Europe/Moscow\ncrisis:\n"
        "  - key: line\n    title: {ru: Линия, en: Line}\n    description: {ru: Звоните, en: Call}\n"
        "    phone: '8-800-000-00-00'\n",
        encoding="utf-8",
    )
    with pytest.raises(catalog.CatalogError, match="source"):
        catalog.parse_region_file(tmp_path / "_federal.yaml")
