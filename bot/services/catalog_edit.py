"""The support catalog edited from the bot by staff (their region) and admins (any, "federal" too).

Every change is a ``MeasureVersion`` row (who, when, what, the fields before and after) and an audit
event (ids and field names only). An entry added, edited, archived or restored here gets
``source="bot"``: the file sync at start leaves it alone from then on, so a restart never undoes
an edit. Texts typed in the bot are stored under every language key (``ru`` and ``en``): the
screens read ``title[locale]`` and ``catalog._localize`` falls back to ``ru`` only, so a text kept
under one key would show empty in the other language.

Expired entries (``valid_until`` before today) need nothing from here: ``catalog.measures`` hides
them by itself. Staff still see them in the editor, marked, to extend or archive.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, catalog, users
from bot.services.cases import parse_day
from bot.services.errors import Invalid, Refused
from bot.services.users import Profile
from db.models import MeasureKind, MeasureVersion, Region, Role, SupportMeasure, User

FIELDS = ("title", "description", "address", "phone", "url", "valid_until")
TEXT_FIELDS = ("title", "description", "address")  # stored per language
OPTIONAL = frozenset({"address", "phone", "url", "valid_until"})
LIMITS = {"title": 120, "description": 600, "address": 200, "phone": 64, "url": 512}
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
BOT = "bot"
# Entries added in the bot follow the file's own (the sync numbers those 0, 1, 2...).
_FIRST_POSITION = 1000

CREATED, EDITED, ARCHIVED, RESTORED = "created", "edited", "archived", "restored"


@dataclass(frozen=True, slots=True)
class MeasureView:
    id: int
    key: str
    region_code: str
    category: str
    title: dict[str, str]
    description: dict[str, str]
    address: dict[str, str] | None
    phone: str | None
    url: str | None
    valid_until: date | None
    archived: bool
    source: str

    def text(self, field: str, locale: str) -> str | None:
        value = getattr(self, field)
        if isinstance(value, dict):
            return value.get(locale) or value.get("ru") or next(iter(value.values()), None)
        return value

    def expired(self, today: date) -> bool:
        return self.valid_until is not None and self.valid_until < today


@dataclass(frozen=True, slots=True)
class Change:
    measure_id: int
    region_code: str
    action: str
    actor_id: int | None
    actor_name: str | None
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# ---------------------------------------------------------------- rules


def can_edit(actor: Profile | None, region_code: str) -> bool:
    """Admins edit every region (the federal entries too); staff their own ``scope_region`` only."""
    if actor is None:
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.STAFF and actor.scope_region is not None and actor.scope_region == region_code


def _one_line(text: str) -> str:
    return " ".join(text.split())


def clean(field: str, value: Any, *, today: date) -> Any:
    """One field as it will be stored; ``None`` clears an optional field. Raises ``Invalid``.

    Texts (title, description, address) may be a string, typed in one language, or a mapping of
    languages; the result is a mapping with every language of ``catalog.LANGS``. ``valid_until``
    takes a ``date`` or a day as staff type it (31.12.2026) and may not be in the past.
    """
    if field not in FIELDS:
        raise Invalid(field, "unknown_field")
    if value is None or (isinstance(value, str) and not value.strip()):
        if field in OPTIONAL:
            return None
        raise Invalid(field, "empty")
    if field == "valid_until":
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            try:
                value = parse_day(str(value), today=today, years_around=10)
            except Invalid:
                raise Invalid(field, "date") from None
        if value < today:
            raise Invalid(field, "past")
        return value
    if field in TEXT_FIELDS:
        return _texts(field, value)
    text = _one_line(str(value))
    if len(text) > LIMITS[field]:
        raise Invalid(field, "too_long")
    if field == "phone" and sum(ch.isdigit() for ch in text) < 2:
        raise Invalid(field, "phone")
    if field == "url":
        parts = urlsplit(text)
        if not _URL.match(text) or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise Invalid(field, "url")
    return text


def _texts(field: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        given = {lang: value for lang in catalog.LANGS}
    elif isinstance(value, dict):
        texts = {k: v for k, v in value.items() if k in catalog.LANGS and isinstance(v, str) and v.strip()}
        if not texts:
            raise Invalid(field, "empty")
        first = texts.get("ru") or next(iter(texts.values()))
        given = {lang: texts.get(lang) or first for lang in catalog.LANGS}
    else:
        raise Invalid(field, "empty")
    out = {}
    for lang, text in given.items():
        text = _one_line(text) if field != "description" else text.strip()
        if not text:
            raise Invalid(field, "empty")
        if len(text) > LIMITS[field]:
            raise Invalid(field, "too_long")
        out[lang] = text
    return out


# ---------------------------------------------------------------- reading


def _view(row: SupportMeasure) -> MeasureView:
    return MeasureView(
        id=row.id,
        key=row.key,
        region_code=row.region_code,
        category=row.category or "",
        title=dict(row.title or {}),
        description=dict(row.description or {}),
        address=dict(row.address) if row.address else None,
        phone=row.phone,
        url=row.url,
        valid_until=row.valid_until,
        archived=row.archived_at is not None,
        source=row.source,
    )


def _snapshot(row: SupportMeasure) -> dict[str, Any]:
    return {
        "region_code": row.region_code,
        "category": row.category,
        "title": dict(row.title or {}),
        "description": dict(row.description or {}),
        "address": dict(row.address) if row.address else None,
        "phone": row.phone,
        "url": row.url,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "archived": row.archived_at is not None,
    }


async def _actor(session: AsyncSession, actor: Profile) -> Profile | None:
    """The actor as the database knows her now: a role taken away a minute ago counts."""
    return await users.get_profile(session, actor.user_id)


async def _refuse(
    session: AsyncSession,
    actor: Profile,
    attempted: str,
    *,
    now: datetime,
    measure_id: int | None = None,
    region: str | None = None,
) -> Refused:
    details: dict[str, Any] = {"attempted": attempted}
    if region is not None:
        details["region"] = region
    audit.record(
        session,
        actor_id=actor.user_id,
        action="denied",
        object_type="measure",
        object_id=measure_id,
        now=now,
        **details,
    )
    await session.commit()
    return Refused(attempted)


async def _invalid(session: AsyncSession, field: str, reason: str) -> Invalid:
    await session.rollback()
    return Invalid(field, reason)


async def _load(
    session: AsyncSession, actor: Profile, measure_id: int, attempted: str, *, now: datetime
) -> SupportMeasure:
    """A support entry the actor may edit; otherwise the refusal is audited and ``Refused`` raised."""
    fresh = await _actor(session, actor)
    row = await session.get(SupportMeasure, measure_id)
    if row is None or row.kind != MeasureKind.SUPPORT.value or not can_edit(fresh, row.region_code):
        raise await _refuse(session, actor, attempted, measure_id=measure_id, now=now)
    return row


async def editable_regions(session: AsyncSession, *, actor: Profile) -> list[catalog.RegionInfo]:
    """The regions whose entries the actor edits: admins all, "federal" first; staff their own."""
    fresh = await _actor(session, actor)
    rows = await session.scalars(select(Region).order_by(Region.code != catalog.FEDERAL, Region.position))
    found = [catalog.RegionInfo(r.code, r.name, r.timezone) for r in rows if can_edit(fresh, r.code)]
    await session.commit()
    return found


async def entries(
    session: AsyncSession, *, actor: Profile, region_code: str, category: str, now: datetime
) -> list[MeasureView]:
    """One region's entries of one need, archived ones last (the editor's list)."""
    fresh = await _actor(session, actor)
    if not can_edit(fresh, region_code):
        raise await _refuse(session, actor, "list", region=region_code, now=now)
    if category not in catalog.CATEGORIES:
        raise await _invalid(session, "category", "category")
    rows = await session.scalars(
        select(SupportMeasure)
        .where(
            SupportMeasure.region_code == region_code,
            SupportMeasure.kind == MeasureKind.SUPPORT.value,
            SupportMeasure.category == category,
        )
        .order_by(SupportMeasure.archived_at.is_not(None), SupportMeasure.position, SupportMeasure.id)
    )
    found = [_view(r) for r in rows]
    await session.commit()
    return found


async def get(
    session: AsyncSession, *, actor: Profile, measure_id: int, attempted: str = "open", now: datetime
) -> MeasureView:
    row = await _load(session, actor, measure_id, attempted, now=now)
    view = _view(row)
    await session.commit()
    return view


# ---------------------------------------------------------------- changes


def _version(
    session: AsyncSession,
    row: SupportMeasure,
    *,
    actor: Profile,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
    fields: list[str] | None = None,
) -> None:
    session.add(
        MeasureVersion(
            measure_id=row.id, actor_id=actor.user_id, action=action, before=before, after=_snapshot(row), at=now
        )
    )
    extra: dict[str, Any] = {"region": row.region_code}
    if fields:
        extra["fields"] = fields
    audit.record(
        session,
        actor_id=actor.user_id,
        action=f"measure_{action}",
        object_type="measure",
        object_id=row.id,
        now=now,
        **extra,
    )


async def create(
    session: AsyncSession,
    *,
    actor: Profile,
    region_code: str,
    category: str,
    title: str | dict[str, str],
    description: str | dict[str, str],
    address: str | dict[str, str] | None = None,
    phone: str | None = None,
    url: str | None = None,
    valid_until: date | str | None = None,
    today: date,
    now: datetime,
) -> MeasureView:
    """A new entry of the region (key ``bot-<random>``, never a file's key: those take no hyphen)."""
    fresh = await _actor(session, actor)
    if await session.get(Region, region_code) is None:
        raise await _invalid(session, "region", "region")
    if not can_edit(fresh, region_code):
        raise await _refuse(session, actor, "create", region=region_code, now=now)
    if category not in catalog.CATEGORIES:
        raise await _invalid(session, "category", "category")
    raw = {
        "title": title,
        "description": description,
        "address": address,
        "phone": phone,
        "url": url,
        "valid_until": valid_until,
    }
    values: dict[str, Any] = {}
    for field in FIELDS:
        try:
            values[field] = clean(field, raw[field], today=today)
        except Invalid as exc:
            raise await _invalid(session, exc.field, exc.reason) from None
    last = await session.scalar(
        select(func.max(SupportMeasure.position)).where(SupportMeasure.region_code == region_code)
    )
    row = SupportMeasure(
        region_code=region_code,
        key=f"{BOT}-{secrets.token_hex(8)}",
        kind=MeasureKind.SUPPORT.value,
        category=category,
        position=max((last or 0) + 1, _FIRST_POSITION),
        archived_at=None,
        updated_at=now,
        source=BOT,
        **values,
    )
    session.add(row)
    await session.flush()
    _version(session, row, actor=actor, action=CREATED, before=None, now=now)
    view = _view(row)
    await session.commit()
    return view


async def edit(
    session: AsyncSession, *, actor: Profile, measure_id: int, today: date, now: datetime, **changes: Any
) -> MeasureView:
    """``edit(..., phone="8 800 ...")``, ``edit(..., url=None)`` (clears an optional field).

    Only what really changes is written; an edit that changes nothing writes no version.
    """
    unknown = [f for f in changes if f not in FIELDS]
    if unknown or not changes:
        raise await _invalid(session, unknown[0] if unknown else "fields", "unknown_field")
    row = await _load(session, actor, measure_id, "edit", now=now)
    if row.archived_at is not None:
        raise await _invalid(session, "measure", "archived")
    cleaned: dict[str, Any] = {}
    for field, value in changes.items():
        try:
            cleaned[field] = clean(field, value, today=today)
        except Invalid as exc:
            raise await _invalid(session, exc.field, exc.reason) from None
    before = _snapshot(row)
    changed = [f for f, v in cleaned.items() if getattr(row, f) != v]
    if not changed:
        view = _view(row)
        await session.commit()
        return view
    for field in changed:
        setattr(row, field, cleaned[field])
    row.source, row.updated_at = BOT, now
    _version(session, row, actor=actor, action=EDITED, before=before, now=now, fields=changed)
    view = _view(row)
    await session.commit()
    return view


async def _set_archived(
    session: AsyncSession, *, actor: Profile, measure_id: int, now: datetime, archived: bool
) -> MeasureView:
    row = await _load(session, actor, measure_id, ARCHIVED if archived else RESTORED, now=now)
    if (row.archived_at is not None) == archived:  # already so: nothing to record
        view = _view(row)
        await session.commit()
        return view
    before = _snapshot(row)
    row.archived_at = now if archived else None
    row.source, row.updated_at = BOT, now  # a file entry archived in the bot stays archived after a restart
    _version(session, row, actor=actor, action=ARCHIVED if archived else RESTORED, before=before, now=now)
    view = _view(row)
    await session.commit()
    return view


async def archive(session: AsyncSession, *, actor: Profile, measure_id: int, now: datetime) -> MeasureView:
    return await _set_archived(session, actor=actor, measure_id=measure_id, now=now, archived=True)


async def restore(session: AsyncSession, *, actor: Profile, measure_id: int, now: datetime) -> MeasureView:
    return await _set_archived(session, actor=actor, measure_id=measure_id, now=now, archived=False)


async def history(session: AsyncSession, *, actor: Profile, limit: int = 30, now: datetime) -> list[Change]:
    """The latest changes, newest first: staff those of their region, admins all. Audited."""
    fresh = await _actor(session, actor)
    if fresh is None or fresh.role not in (Role.STAFF, Role.ADMIN):
        raise await _refuse(session, actor, "history", now=now)
    stmt = (
        select(MeasureVersion, SupportMeasure.region_code)
        .join(SupportMeasure, SupportMeasure.id == MeasureVersion.measure_id)
        .order_by(MeasureVersion.at.desc(), MeasureVersion.id.desc())
        .limit(limit)
    )
    if fresh.role != Role.ADMIN:
        stmt = stmt.where(SupportMeasure.region_code == (fresh.scope_region or ""))
    rows = (await session.execute(stmt)).all()
    names: dict[int, str | None] = {}
    ids = {v.actor_id for v, _ in rows if v.actor_id is not None}
    if ids:
        for user in await session.scalars(select(User).where(User.id.in_(ids))):
            names[user.id] = user.display_name
    changes = [
        Change(
            measure_id=v.measure_id,
            region_code=region,
            action=v.action,
            actor_id=v.actor_id,
            actor_name=names.get(v.actor_id) if v.actor_id is not None else None,
            at=v.at,
            before=v.before,
            after=v.after,
        )
        for v, region in rows
    ]
    audit.record(session, actor_id=actor.user_id, action="catalog_history_viewed", now=now, count=len(changes))
    await session.commit()
    return changes
