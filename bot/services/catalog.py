"""Regions, crisis contacts and support measures.

The files in ``content/regions/*.yaml`` are the source; ``sync_from_files`` loads them into the
database at start (upsert by region and key; entries that left the files are archived), and the
bot reads only the database. ``_federal.yaml`` applies to every region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.cache import TableCache
from db.models import MeasureKind, Region, SupportMeasure

FEDERAL = "federal"
CATEGORIES = ("housing", "work", "documents", "children_family", "health_addiction", "legal", "money")
LANGS = ("ru", "en")
_KEY = re.compile(r"^[a-z0-9_]{1,64}$")
# Sizes that keep a page of four entries well inside Telegram's 4096 characters.
_MAX_TITLE = 120
_MAX_DESCRIPTION = 600


class CatalogError(ValueError):
    """A content file that does not follow the schema; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    kind: str
    category: str | None
    title: dict[str, str]
    description: dict[str, str]
    address: dict[str, str] | None
    phone: str | None
    url: str | None
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class RegionFile:
    code: str
    name: dict[str, str]
    timezone: str
    entries: list[Entry]
    work_hours: str | None = None  # "09:00-18:00": when curators answer; None: the WORK_HOURS setting


def _texts(value: Any, where: str, *, limit: int) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGS):
        raise CatalogError(f"{where}: expected texts for exactly {', '.join(LANGS)}")
    out = {}
    for lang in LANGS:
        text = value[lang]
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}.{lang}: empty text")
        if len(text) > limit:
            raise CatalogError(f"{where}.{lang}: longer than {limit} characters")
        out[lang] = text.strip()
    return out


def _entry(raw: Any, kind: MeasureKind, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise CatalogError(f"{where}.key: expected [a-z0-9_]+")
    where = f"{where} ({key})"
    category = raw.get("category")
    if kind is MeasureKind.SUPPORT and category not in CATEGORIES:
        raise CatalogError(f"{where}.category: expected one of {', '.join(CATEGORIES)}")
    if kind is MeasureKind.CRISIS:
        category = None
    url = raw.get("url")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
        raise CatalogError(f"{where}.url: expected an http(s) address")
    phone = raw.get("phone")
    if phone is not None and not (isinstance(phone, str) and re.match(r"^[0-9+()\- ]{2,40}$", phone)):
        raise CatalogError(f"{where}.phone: expected digits, spaces, +, - and brackets")
    valid_until = raw.get("valid_until")
    if valid_until is not None and not isinstance(valid_until, date):
        raise CatalogError(f"{where}.valid_until: expected a date like 2027-12-31")
    source, checked = raw.get("source"), raw.get("checked")
    if source is not None and not (isinstance(source, str) and source.strip()):
        raise CatalogError(f"{where}.source: expected the public page or seed the entry was checked against")
    if checked is not None and not isinstance(checked, date):
        raise CatalogError(f"{where}.checked: expected the date it was checked, like 2026-12-03")
    address = raw.get("address")
    return Entry(
        key=key,
        kind=kind.value,
        category=category,
        title=_texts(raw.get("title"), f"{where}.title", limit=_MAX_TITLE),
        description=_texts(raw.get("description"), f"{where}.description", limit=_MAX_DESCRIPTION),
        address=None if address is None else _texts(address, f"{where}.address", limit=_MAX_TITLE),
        phone=phone,
        url=url,
        valid_until=valid_until,
    )


def parse_region_file(path: Path) -> RegionFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path.name}: expected a mapping at the top")
    code = raw.get("code")
    if not isinstance(code, str) or not _KEY.match(code):
        raise CatalogError(f"{path.name}.code: expected [a-z0-9_]+")
    try:
        ZoneInfo(str(raw.get("timezone")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CatalogError(f"{path.name}.timezone: expected an IANA time zone") from exc
    entries: list[Entry] = []
    for section, kind in (("crisis", MeasureKind.CRISIS), ("measures", MeasureKind.SUPPORT)):
        items = raw.get(section) or []
        if not isinstance(items, list):
            raise CatalogError(f"{path.name}.{section}: expected a list")
        entries.extend(_entry(item, kind, f"{path.name}.{section}[{i}]") for i, item in enumerate(items))
    if code == FEDERAL:
        # Numbers everyone sees: no number without the public source it was checked against, and when.
        for i, item in enumerate(raw.get("crisis") or []):
            if isinstance(item, dict) and item.get("phone") and not (item.get("source") and item.get("checked")):
                raise CatalogError(f"{path.name}.crisis[{i}]: a number needs its source and the date checked")
    keys = [e.key for e in entries]
    if len(keys) != len(set(keys)):
        raise CatalogError(f"{path.name}: a key is used twice")
    work_hours = raw.get("work_hours")
    if work_hours is not None and not (isinstance(work_hours, str) and parse_hours(work_hours)):
        raise CatalogError(f"{path.name}.work_hours: expected HH:MM-HH:MM, like 09:00-18:00")
    return RegionFile(
        code=code,
        name=_texts(raw.get("name"), f"{path.name}.name", limit=80),
        timezone=raw["timezone"],
        entries=entries,
        work_hours=work_hours,
    )


def parse_hours(text: str) -> tuple[time, time] | None:
    """ "09:00-18:00" → (09:00, 18:00); None when it is not a day's span."""
    match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*", text)
    if not match:
        return None
    start = time(int(match.group(1)), int(match.group(2)))
    end = time(int(match.group(3)), int(match.group(4)))
    return (start, end) if start < end else None


def load_region_files(regions_dir: Path) -> list[RegionFile]:
    files = [parse_region_file(p) for p in sorted(regions_dir.glob("*.yaml"))]
    codes = [f.code for f in files]
    if len(codes) != len(set(codes)):
        raise CatalogError(f"{regions_dir}: two files share a region code")
    if FEDERAL not in codes:
        raise CatalogError(f"{regions_dir}: the federal file (code: federal) is missing")
    return files


async def sync_from_files(session: AsyncSession, regions_dir: Path, *, now: datetime | None = None) -> int:
    """Loads every region file into the database; returns how many entries are live."""
    return await sync(session, load_region_files(regions_dir), now=now)


async def sync(session: AsyncSession, files: list[RegionFile], *, now: datetime | None = None) -> int:
    """Upserts parsed region files (by region and key), archives what left them; returns live entries."""
    now = now or datetime.now(UTC)
    live = 0
    ordered = sorted(files, key=lambda f: (f.code != FEDERAL, f.name["ru"]))
    for position, region_file in enumerate(ordered):
        region = await session.get(Region, region_file.code)
        if region is None:
            region = Region(code=region_file.code)
            session.add(region)
        region.name, region.timezone, region.position = region_file.name, region_file.timezone, position
        region.work_hours = region_file.work_hours
        await session.flush()
        existing = {
            m.key: m
            for m in await session.scalars(select(SupportMeasure).where(SupportMeasure.region_code == region_file.code))
        }
        # Entries added or edited in the bot belong to the team now: the file no longer touches them.
        edited = {key for key, row in existing.items() if row.source == "bot"}
        for key in edited:
            existing.pop(key)
        for index, entry in enumerate(region_file.entries):
            if entry.key in edited:
                continue
            row = existing.pop(entry.key, None)
            if row is None:
                row = SupportMeasure(region_code=region_file.code, key=entry.key, source="file")
                session.add(row)
            row.kind, row.category, row.position = entry.kind, entry.category, index
            row.title, row.description, row.address = entry.title, entry.description, entry.address
            row.phone, row.url, row.valid_until = entry.phone, entry.url, entry.valid_until
            row.archived_at, row.updated_at = None, now
            live += 1
        for gone in existing.values():
            if gone.archived_at is None:
                gone.archived_at = now
    await session.commit()
    return live


@dataclass(frozen=True, slots=True)
class RegionInfo:
    code: str
    name: dict[str, str]
    timezone: str

    def title(self, locale: str) -> str:
        return self.name.get(locale) or self.name["ru"]

    @property
    def is_federal(self) -> bool:
        return self.code == FEDERAL


@dataclass(frozen=True, slots=True)
class Contact:
    key: str
    region_code: str
    category: str | None
    title: str
    description: str
    address: str | None
    phone: str | None
    url: str | None


# Regions and entries are read on every screen that shows help and change a few times a month: kept
# in memory, emptied by any change to either table made in this process (``db.cache``).
_cached = TableCache(Region, SupportMeasure)


async def regions(session: AsyncSession) -> list[RegionInfo]:
    """The regions a person can choose (the federal pseudo-region is not one)."""
    found = _cached.get(session, "regions")
    if found is None:
        version = _cached.version
        rows = await session.scalars(select(Region).where(Region.code != FEDERAL).order_by(Region.position))
        found = tuple(RegionInfo(r.code, r.name, r.timezone) for r in rows)
        _cached.put(session, "regions", found, version)
    return list(found)


async def region(session: AsyncSession, code: str | None) -> RegionInfo | None:
    if not code:
        return None
    found = _cached.get(session, ("region", code))
    if found is None:
        version = _cached.version
        row = await session.get(Region, code)
        found = (RegionInfo(row.code, row.name, row.timezone) if row else None,)
        _cached.put(session, ("region", code), found, version)
    info: RegionInfo | None = found[0]
    return info


async def _entries(
    session: AsyncSession, region_code: str | None, kind: MeasureKind, category: str | None, today: date
) -> list[SupportMeasure]:
    codes = [c for c in (region_code, FEDERAL) if c]
    stmt = (
        select(SupportMeasure)
        .join(Region, Region.code == SupportMeasure.region_code)
        .where(
            SupportMeasure.region_code.in_(codes),
            SupportMeasure.kind == kind.value,
            SupportMeasure.archived_at.is_(None),
            or_(SupportMeasure.valid_until.is_(None), SupportMeasure.valid_until >= today),
        )
        # The person's own region first, then what holds everywhere.
        .order_by((SupportMeasure.region_code == FEDERAL), SupportMeasure.position)
    )
    if category is not None:
        stmt = stmt.where(SupportMeasure.category == category)
    return list(await session.scalars(stmt))


def _localize(row: SupportMeasure, locale: str) -> Contact:
    def pick(texts: dict[str, str] | None) -> str | None:
        if not texts:
            return None
        return texts.get(locale) or texts.get("ru")

    return Contact(
        key=row.key,
        region_code=row.region_code,
        category=row.category,
        title=pick(row.title) or "",
        description=pick(row.description) or "",
        address=pick(row.address),
        phone=row.phone,
        url=row.url,
    )


async def _contacts(
    session: AsyncSession, region_code: str | None, kind: MeasureKind, category: str | None, locale: str, today: date
) -> list[Contact]:
    key = ("contacts", region_code, kind, category, locale, today)
    found = _cached.get(session, key)
    if found is None:
        version = _cached.version
        found = tuple(_localize(r, locale) for r in await _entries(session, region_code, kind, category, today))
        _cached.put(session, key, found, version)
    return list(found)


async def crisis_contacts(session: AsyncSession, region_code: str | None, locale: str, today: date) -> list[Contact]:
    return await _contacts(session, region_code, MeasureKind.CRISIS, None, locale, today)


async def measures(
    session: AsyncSession, region_code: str | None, category: str, locale: str, today: date
) -> list[Contact]:
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    return await _contacts(session, region_code, MeasureKind.SUPPORT, category, locale, today)
