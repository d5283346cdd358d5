"""People and their preferences. A person is known by the Telegram id alone."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Row, Table, bindparam, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from bot.config import SUPPORTED_LOCALES
from bot.services import audit, forgetting
from db import cache as db_cache
from db import upsert
from db.engine import run_alone
from db.models import Region, Role, User

TEAM_ROLES = frozenset({Role.CURATOR, Role.FACILITATOR, Role.STAFF, Role.ADMIN})
PARTICIPANT_ROLES = frozenset({Role.WOMAN, Role.RELATIVE})

# last_seen is a coarse "is she still around" mark; writing it on every update would double the writes.
_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: int
    role: Role | None
    chosen_locale: str | None
    timezone: str | None
    region: str | None
    first_seen: datetime
    blocked_bot: bool
    is_new: bool
    scope_region: str | None = None  # team members: the region whose cases staff see
    app_language: str | None = None  # her Telegram app's language, for messages sent on the bot's own
    discreet: bool = False  # what the bot sends on its own starts with neutral words

    def locale(self, default: str) -> str:
        """The language to write to her in when she has not just written herself."""
        return resolve_locale(self.chosen_locale, self.app_language, default)

    @property
    def is_team(self) -> bool:
        return self.role in TEAM_ROLES

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


def _profile(user: User | Row[Any], *, is_new: bool = False) -> Profile:
    return Profile(
        user_id=user.id,
        role=Role(user.role) if user.role else None,
        chosen_locale=user.locale,
        timezone=user.timezone,
        region=user.region,
        first_seen=user.first_seen,
        blocked_bot=user.blocked_bot,
        is_new=is_new,
        scope_region=user.scope_region,
        app_language=user.app_language,
        discreet=bool(user.discreet),
    )


def resolve_locale(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """Her own choice, else the language of her Telegram app, else the service default."""
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if telegram_code:
        base = telegram_code.split("-", 1)[0].lower()
        if base in SUPPORTED_LOCALES:
            return base
    return default


def _short(code: str | None) -> str | None:
    return code[:8] if code else None


async def locale_of(session: AsyncSession, user_id: int, default: str) -> str:
    """Someone's language for a message worded for her (her choice, else her app's, else ``default``)."""
    profile = await get_profile(session, user_id)
    return profile.locale(default) if profile else default


async def get_profile(session: AsyncSession, user_id: int) -> Profile | None:
    """Her profile as the database holds it (from the process's cache while her row has not changed;
    a change waiting in this session is read from the session)."""
    cache = profiles(session)
    pending = _pending_users(session)
    if not pending:
        cached = cache.get(user_id)
        if cached is not None:
            return cached[0]
    version = cache.version(user_id)
    user = await session.get(User, user_id)
    if user is None:
        return None
    profile = _profile(user)
    if not pending and user not in session.dirty:
        cache.put(profile, user.last_seen, version)
    return profile


def _pending_users(session: AsyncSession) -> bool:
    return any(isinstance(obj, User) for obj in (*session.new, *session.dirty, *session.deleted))


_USERS = cast(Table, User.__table__)
# What a profile is made of, read and written by ``touch`` as plain rows (no ORM object: the speaker is
# looked up on every update the cache cannot answer, and the ORM's loading cost more than the query).
_PROFILE_ROW = tuple(
    _USERS.c[name]
    for name in (
        "id",
        "role",
        "locale",
        "timezone",
        "region",
        "first_seen",
        "last_seen",
        "blocked_bot",
        "scope_region",
        "app_language",
        "discreet",
    )
)
_READ_ROW = select(*_PROFILE_ROW).where(_USERS.c.id == bindparam("id"))


class ProfileCache:
    """The speakers' profiles as last read, so an update reads the ``users`` row only when something
    may have changed: a change to a ``users`` row flushed by any session of this process drops that
    person (at the flush and again at the commit, so a read that raced the change is not kept); a
    bulk statement on the table drops everyone. Like the dialog state cache, it is only correct while
    one instance serves a person (the database stays the truth; a restart reads it again); with
    ``REDIS_URL`` (several instances) it is off (``db.cache.configure``)."""

    SIZE = 20_000

    def __init__(self, engine: AsyncEngine) -> None:
        self._items: OrderedDict[int, tuple[Profile, datetime]] = OrderedDict()
        self._versions: dict[int, int] = {}
        self._epoch = 0
        new_row = upsert.insert(engine, _USERS).values(
            {name: bindparam(name) for name in ("id", "first_seen", "last_seen", "blocked_bot", "app_language")}
        )
        self.insert_row = new_row.on_conflict_do_nothing(index_elements=[_USERS.c.id]).returning(*_PROFILE_ROW)

    def version(self, user_id: int) -> tuple[int, int]:
        return self._epoch, self._versions.get(user_id, 0)

    def get(self, user_id: int) -> tuple[Profile, datetime] | None:
        if not db_cache.ENABLED:
            return None
        item = self._items.get(user_id)
        if item is not None:
            self._items.move_to_end(user_id)
        return item

    def put(self, profile: Profile, last_seen: datetime, version: tuple[int, int]) -> None:
        if not db_cache.ENABLED or self.version(profile.user_id) != version:
            return  # changed since it was read (or several instances: no cache)
        self._items[profile.user_id] = (profile, last_seen)
        self._items.move_to_end(profile.user_id)
        while len(self._items) > self.SIZE:
            self._items.popitem(last=False)

    def drop(self, user_id: int) -> None:
        self._items.pop(user_id, None)
        self._versions[user_id] = self._versions.get(user_id, 0) + 1
        if len(self._versions) > 4 * self.SIZE:
            self.clear()

    def clear(self) -> None:
        self._items.clear()
        self._versions.clear()
        self._epoch += 1


_caches: weakref.WeakKeyDictionary[Engine, ProfileCache] = weakref.WeakKeyDictionary()


def profiles(session: AsyncSession) -> ProfileCache:
    """The cache of the database this session talks to (each application has its own engine)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    cache = _caches.get(engine)
    if cache is None:
        bind = session.bind
        assert isinstance(bind, AsyncEngine)
        cache = _caches[engine] = ProfileCache(bind)
    return cache


def _drop(user_ids: set[int] | None) -> None:
    for cache in list(_caches.values()):
        if user_ids is None:
            cache.clear()
        else:
            for user_id in user_ids:
                cache.drop(user_id)


@event.listens_for(Session, "after_flush")
def _users_flushed(session: Session, _flush: UOWTransaction) -> None:
    changed = {obj.id for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, User) and obj.id}
    if changed:
        _drop(changed)
        session.info.setdefault("users_changed", set()).update(changed)


@event.listens_for(Session, "do_orm_execute")
def _users_bulk(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) == User.__tablename__:
            _drop(None)
            session_info: dict[str, Any] = state.session.info
            session_info["users_bulk"] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _users_settled(session: Session, *_args: Any) -> None:
    if session.info.pop("users_bulk", False):
        _drop(None)
    changed = session.info.pop("users_changed", None)
    if changed:
        _drop(changed)


async def touch(
    session: AsyncSession,
    user_id: int,
    *,
    now: datetime | None = None,
    wrote: bool = True,
    app_language: str | None = None,
) -> Profile:
    """Registers a first visit or refreshes last_seen. ``wrote``: she sent a message or pressed a
    button, so she has not blocked the bot (whatever we believed)."""
    now = now or datetime.now(UTC)
    cache = profiles(session)
    cached = cache.get(user_id)
    if cached is not None:
        profile, last_seen = cached
        if _up_to_date(profile, last_seen, now=now, app_language=app_language, wrote=wrote):
            return profile  # nothing to write and nothing changed: no statement at all
    else:
        # Not in memory: her row read (or made) in one statement; the ORM only when it must change.
        version = cache.version(user_id)
        row = await _one_row(session, _READ_ROW, {"id": user_id})
        if row is None:
            params = {"id": user_id, "first_seen": now, "last_seen": now, "blocked_bot": False}
            row = await _one_row(session, cache.insert_row, {**params, "app_language": _short(app_language)})
            if row is not None:
                # Her row did not exist until this statement wrote it, so no other session can have
                # changed it in between: kept as written, and the screens that follow (the menu) do
                # not read it again.
                cache.put(_profile(row), row.last_seen, cache.version(user_id))
                return _profile(row, is_new=True)
            row = await _one_row(session, _READ_ROW, {"id": user_id})  # made at this moment elsewhere
        if row is not None:
            profile = _profile(row)
            if _up_to_date(profile, row.last_seen, now=now, app_language=app_language, wrote=wrote):
                cache.put(profile, row.last_seen, version)
                return profile
    version = cache.version(user_id)
    user = await session.get(User, user_id)
    if user is None:
        user, created = await ensure(session, user_id, now=now, app_language=_short(app_language))
        if created:  # her row went between the read above and this one ("delete my data"): made again
            await session.commit()
            return _profile(user, is_new=True)
    if now - user.last_seen >= _SEEN_RESOLUTION:
        user.last_seen = now
    if app_language and user.app_language != _short(app_language):
        user.app_language = _short(app_language)
    if wrote and user.blocked_bot:
        user.blocked_bot = False
        audit.record(session, actor_id=user_id, action="bot_unblocked", now=now)
    profile, last_seen = _profile(user), user.last_seen
    # Always end the transaction: the connection must not wait in the update while Telegram answers.
    await session.commit()
    cache.put(profile, last_seen, version)  # kept only if nothing (this touch included) changed her row
    return profile


def _up_to_date(profile: Profile, last_seen: datetime, *, now: datetime, app_language: str | None, wrote: bool) -> bool:
    """Nothing of hers to write: last_seen recent enough, the same app language, not marked blocked
    while she writes."""
    return (
        timedelta(0) <= now - last_seen < _SEEN_RESOLUTION
        and (not app_language or profile.app_language == _short(app_language))
        and not (wrote and profile.blocked_bot)
    )


async def _one_row(session: AsyncSession, statement: Any, params: dict[str, Any]) -> Row[Any] | None:
    rows = await run_alone(session, statement, params)
    return rows[0] if rows else None


async def ensure(
    session: AsyncSession, user_id: int, *, now: datetime, app_language: str | None = None
) -> tuple[User, bool]:
    """The person's row, created when missing, and whether this call created it. Race-free on both
    backends (``INSERT … ON CONFLICT DO NOTHING``): two first updates of one person at once (two
    instances, or a retry after an outage) never collide. Does not commit."""
    inserted = await session.scalar(
        upsert.insert(session, User)
        .values(id=user_id, first_seen=now, last_seen=now, blocked_bot=False, app_language=app_language)
        .on_conflict_do_nothing(index_elements=[User.id])
        .returning(User)  # the new row, as the database made it (no second read); nothing if she was there
    )
    if inserted is not None:
        return inserted, True
    user = await session.get(User, user_id, populate_existing=True)
    assert user is not None
    return user, False


async def set_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    user = await _require(session, user_id)
    user.locale = locale
    await session.commit()


async def set_discreet(session: AsyncSession, user_id: int, discreet: bool) -> None:
    """Discreet mode: messages the bot sends on its own open with neutral words, the rest hidden."""
    user = await _require(session, user_id)
    user.discreet = discreet
    await session.commit()


class UnknownRegion(ValueError):
    pass


async def set_region(session: AsyncSession, user_id: int, region_code: str | None) -> Region | None:
    """Her region (and with it her time zone). None means "mine is not in the list": she then sees
    what holds everywhere in Russia, recorded as the federal pseudo-region so no default overrides it."""
    user = await _require(session, user_id)
    region = await session.get(Region, region_code or "federal")
    if region is None:
        await session.rollback()
        raise UnknownRegion(region_code)
    user.region = region.code
    user.timezone = region.timezone
    await session.commit()
    return region


async def set_blocked(session: AsyncSession, user_id: int, blocked: bool, *, now: datetime) -> None:
    user = await session.get(User, user_id)
    if user is not None and user.blocked_bot != blocked:
        user.blocked_bot = blocked
        audit.record(session, actor_id=user_id, action="bot_blocked" if blocked else "bot_unblocked", now=now)
    await session.commit()


async def bootstrap_admins(session: AsyncSession, admin_ids: list[int], *, now: datetime | None = None) -> None:
    """ADMIN_IDS become admins at start; nobody else is ever promoted by configuration."""
    now = now or datetime.now(UTC)
    for admin_id in admin_ids:
        user, created = await ensure(session, admin_id, now=now)
        if created or user.role != Role.ADMIN:
            user.role = Role.ADMIN
        else:
            continue
        audit.record(
            session,
            actor_id=None,
            action="role_granted",
            object_type="user",
            object_id=admin_id,
            role=Role.ADMIN.value,
            source="ADMIN_IDS",
            now=now,
        )
    await session.commit()


class NotAllowed(PermissionError):
    pass


async def set_role(
    session: AsyncSession,
    *,
    actor: Profile,
    target_id: int,
    role: Role | None,
    scope_region: str | None = None,
    now: datetime,
) -> None:
    """Only an admin changes roles, and an admin cannot demote herself (the service would lose its last key)."""
    if actor.role != Role.ADMIN:
        await audit.denied(
            session, actor_id=actor.user_id, object_type="user", object_id=target_id, attempted="set_role", now=now
        )
        raise NotAllowed("only an admin changes roles")
    if target_id == actor.user_id and role != Role.ADMIN:
        raise NotAllowed("an admin cannot remove her own admin role")
    user = await session.get(User, target_id) or (await ensure(session, target_id, now=now))[0]
    if scope_region is not None and await session.get(Region, scope_region) is None:
        await session.rollback()
        raise UnknownRegion(scope_region)
    user.role = role.value if role else None
    user.scope_region = scope_region if role in TEAM_ROLES else None
    audit.record(
        session,
        actor_id=actor.user_id,
        action="role_set",
        object_type="user",
        object_id=target_id,
        role=role.value if role else None,
        region=user.scope_region,
        now=now,
    )
    await session.commit()


async def forget(session: AsyncSession, user_id: int, *, now: datetime | None = None) -> int:
    """Deletes the person, her dialog state and every row that holds her Telegram id; what must stay
    as proof keeps her pseudonym (``bot.services.forgetting``), which is returned."""
    return await forgetting.forget(session, user_id=user_id, now=now or datetime.now(UTC))


async def counts_by_role_and_region(session: AsyncSession) -> list[tuple[str | None, str | None, int]]:
    rows = await session.execute(
        select(User.role, User.region, func.count()).group_by(User.role, User.region).order_by(User.role, User.region)
    )
    return [(role, region, count) for role, region, count in rows.all()]


async def _require(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError("unknown user")
    return user


async def display_name(session: AsyncSession, user_id: int) -> str | None:
    """A team member's first name as participants see it."""
    user = await session.get(User, user_id)
    name = user.display_name if user else None
    await session.commit()
    return name


class BadName(ValueError):
    pass


async def set_display_name(session: AsyncSession, *, actor: Profile, target_id: int, name: str, now: datetime) -> str:
    """The first name participants see for a team member: an admin sets anyone's, a team member her
    own. One line of letters (spaces, hyphens, apostrophes), up to 40 characters."""
    clean = " ".join((name or "").split())
    if not clean or len(clean) > 40 or not all(ch.isalpha() or ch in " -'’." for ch in clean):
        raise BadName(name)
    user = await session.get(User, target_id)
    allowed = actor.role == Role.ADMIN or (target_id == actor.user_id and actor.role in TEAM_ROLES)
    if user is None or not allowed or user.role not in {r.value for r in TEAM_ROLES}:
        await audit.denied(
            session, actor_id=actor.user_id, object_type="user", object_id=target_id, attempted="set_name", now=now
        )
        raise NotAllowed("set_name")
    user.display_name = clean
    audit.record(
        session, actor_id=actor.user_id, action="display_name_set", object_type="user", object_id=target_id, now=now
    )
    await session.commit()
    return clean
