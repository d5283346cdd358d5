"""Broadcasts: one message from the team to many people, and its deliveries (one row per recipient).

Composing: ``check_content`` refuses what Telegram would refuse (empty, too long after HTML parsing,
a broken tag, a button link that is not https); ``resolve`` turns an audience (roles, regions, case
stages, categories) into the exact people it reaches now; ``create`` writes the broadcast and one
``BroadcastDelivery`` per recipient in one transaction.

Sending (``bot.broadcaster``, a lane of the one sender): ``start_due`` turns scheduled broadcasts
whose time has come into sending ones; the deliveries are one of the outbox's queues (``QUEUE``),
claimed, finished, retried and released by ``bot.services.outbox``; a claim older than the lease
goes back to pending (its instance died). Each outcome is one short transaction: ``mark_sent``,
``mark_blocked``, ``mark_failed``, ``retry_later``, ``release``.

Delivery states: pending → sending → sent | blocked | failed, or back to pending (retry, release,
lease); pending → cancelled. ``error`` holds an error type or a code, never a message text.

Every function that writes ends its transaction; the reads do not commit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, outbox
from bot.services.errors import Invalid, Refused
from bot.services.subscriptions import subscribers
from bot.services.users import Profile
from db.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    Case,
    DeliveryState,
    Participant,
    Role,
    User,
)
from db.transaction import rollback_on_error

TEXT_LIMIT = 4096  # characters of a message after HTML parsing (UTF-16 code units, as Telegram counts)
CAPTION_LIMIT = 1024
BUTTON_TEXT_LIMIT = 64  # Broadcast.button_text
BUTTON_URL_LIMIT = 512  # Broadcast.button_url
KINDS = ("text", "photo", "document")
# Who can be addressed: roles as stored on users; "none" is everyone who has no role yet.
ROLES = ("woman", "relative", "curator", "facilitator", "staff", "none")
STAGE_ROLES = ("woman", "relative")  # the case stage filter applies to these
STAGES = (1, 2, 3, 4, 5)
MAX_ATTEMPTS = 5
BASE_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=5)
_ERROR_LEN = 64
_PENDING = DeliveryState.PENDING.value
_SENDING = DeliveryState.SENDING.value
_LIVE = (BroadcastState.SCHEDULED.value, BroadcastState.SENDING.value)

# Telegram's HTML: these tags (and their attributes) and nothing else.
_TAGS = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "tg-spoiler": (),
    "span": ("class",),
    "a": ("href",),
    "code": ("class",),
    "pre": (),
    "blockquote": ("expandable",),
    "tg-emoji": ("emoji-id",),
}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>")
_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|lt|gt|amp|quot);")


# ------------------------------------------------------------------ content


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain_text(html: str) -> str:
    """The text a recipient reads: ``html`` checked against Telegram's rules and parsed.
    Raises ``Invalid("html", problem=…)`` for a broken tag, an unknown tag, a stray ``<`` or ``&``."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(html):
        char = html[pos]
        if char == "<":
            match = _TAG.match(html, pos)
            if match is None:
                raise Invalid("html", problem="stray_lt", at=pos)
            closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3) or ""
            if name not in _TAGS:
                raise Invalid("html", problem="unknown_tag", tag=name)
            if closing:
                if not stack or stack[-1] != name:
                    raise Invalid("html", problem="unclosed" if stack else "unopened", tag=stack[-1] if stack else name)
                stack.pop()
            else:
                for attr, value in _ATTR.findall(attrs):
                    if attr.lower() not in _TAGS[name]:
                        raise Invalid("html", problem="attribute", tag=name)
                    if name == "a" and attr.lower() == "href":
                        href = unescape(value.strip("\"'"))
                        if not href or urlsplit(href).scheme not in ("http", "https", "tg", "mailto"):
                            raise Invalid("html", problem="link", tag=name)
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(html, pos)
            if match is None:
                raise Invalid("html", problem="stray_amp", at=pos)
            out.append(unescape(match.group(0)))
            pos = match.end()
        else:  # a bare ">" is read as text by Telegram
            nxt = min((i for i in (html.find("<", pos), html.find("&", pos)) if i >= 0), default=-1)
            end = len(html) if nxt < 0 else nxt
            out.append(html[pos:end])
            pos = end
    if stack:
        raise Invalid("html", problem="unclosed", tag=stack[-1])
    return "".join(out)


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or " " in url or len(url) > BUTTON_URL_LIMIT:
        raise Invalid("url")
    return url


@dataclass(frozen=True, slots=True)
class Content:
    kind: str = "text"  # text, photo, document
    text: str | None = None  # HTML; the caption of a photo or a document
    file_id: str | None = None
    button_text: str | None = None
    button_url: str | None = None


def check_content(content: Content) -> Content:
    """Refuses what Telegram would refuse, with the reason; returns the content tidied."""
    if content.kind not in KINDS:
        raise Invalid("kind")
    text = (content.text or "").strip()
    if content.kind == "text":
        if not plain_text(text).strip():
            raise Invalid("empty")
        limit, reason = TEXT_LIMIT, "too_long"
    else:
        if not content.file_id:
            raise Invalid("file")
        limit, reason = CAPTION_LIMIT, "caption_too_long"
    length = utf16_len(plain_text(text))
    if length > limit:
        raise Invalid(reason, length=length, limit=limit)
    button_text = (content.button_text or "").strip() or None
    button_url = (content.button_url or "").strip() or None
    if (button_text is None) != (button_url is None):
        raise Invalid("button")
    if button_text is not None:
        if len(button_text) > BUTTON_TEXT_LIMIT:
            raise Invalid("button_text", limit=BUTTON_TEXT_LIMIT)
        button_url = check_url(button_url or "")
    return Content(content.kind, text or None, content.file_id, button_text, button_url)


# ------------------------------------------------------------------ the audience


@dataclass(frozen=True, slots=True)
class Audience:
    roles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # empty: every region (admins only)
    stages: tuple[int, ...] = ()  # empty: any stage; applies to women and relatives
    categories: tuple[str, ...] = ()  # empty: no subscription filter

    def to_json(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "regions": list(self.regions),
            "stages": list(self.stages),
            "categories": list(self.categories),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        category = data.get("category")
        categories = list(data.get("categories") or ([category] if category else []))
        return cls(
            roles=tuple(r for r in ROLES if r in (data.get("roles") or [])),
            regions=tuple(sorted({str(r) for r in data.get("regions") or []})),
            stages=tuple(s for s in STAGES if s in {int(x) for x in data.get("stages") or []}),
            categories=tuple(sorted({str(c) for c in categories})),
        )


def in_scope(actor: Profile, audience: Audience) -> Audience:
    """Staff address their own region only (``scope_region``); admins any. Returns the audience with
    the staff member's region filled in; raises ``Refused`` outside it."""
    if actor.role == Role.ADMIN:
        return audience
    if actor.role != Role.STAFF or not actor.scope_region:
        raise Refused("broadcast")
    if audience.regions and set(audience.regions) != {actor.scope_region}:
        raise Refused("region")
    return Audience(audience.roles, (actor.scope_region,), audience.stages, audience.categories)


def _region_of_user(regions: Sequence[str]) -> Any:
    """A person is of a region by her own choice (/settings), by her team scope, or by the open case
    she takes part in."""
    in_case = exists().where(
        Participant.user_id == User.id,
        Participant.case_id == Case.id,
        Case.closed_at.is_(None),
        Case.region_code.in_(list(regions)),
    )
    return or_(User.region.in_(list(regions)), User.scope_region.in_(list(regions)), in_case)


async def resolve(session: AsyncSession, audience: Audience) -> list[int]:
    """The people the audience reaches now (not those who blocked the bot), by id. No commit."""
    if not audience.roles:
        return []
    by_role = []
    named = [r for r in audience.roles if r != "none"]
    for role in named:
        condition = User.role == role
        if role in STAGE_ROLES and audience.stages:
            condition = and_(
                condition,
                exists().where(
                    Participant.user_id == User.id,
                    Participant.case_id == Case.id,
                    Participant.kind == role,
                    Case.closed_at.is_(None),
                    Case.stage.in_(list(audience.stages)),
                ),
            )
        by_role.append(condition)
    if "none" in audience.roles:
        by_role.append(User.role.is_(None))
    stmt = select(User.id).where(User.blocked_bot.is_(False), or_(*by_role))
    if audience.regions:
        stmt = stmt.where(_region_of_user(audience.regions))
    ids = list((await session.scalars(stmt.order_by(User.id))).all())
    if audience.categories:
        ids = await _subscribed(session, ids, audience)
    return ids


async def _subscribed(session: AsyncSession, ids: list[int], audience: Audience) -> list[int]:
    keep = set()
    for category in audience.categories:
        found = await subscribers(session, category=category, regions=list(audience.regions))
        keep |= {getattr(p, "user_id", getattr(p, "id", p)) for p in found}
    return [i for i in ids if i in keep]


# ------------------------------------------------------------------ creating, cancelling


@dataclass(frozen=True, slots=True)
class Created:
    id: int
    total: int
    state: BroadcastState
    scheduled_at: datetime | None


async def create(
    session: AsyncSession,
    *,
    actor: Profile,
    content: Content,
    audience: Audience,
    now: datetime,
    scheduled_at: datetime | None = None,
    progress_chat_id: int | None = None,
) -> Created:
    """Checks everything, resolves the audience at this moment and writes the broadcast with one
    delivery per recipient, in one transaction. Raises ``Invalid`` (nothing written) or ``Refused``."""
    async with rollback_on_error(session):
        content = check_content(content)
        audience = in_scope(actor, audience)
        if scheduled_at is not None and scheduled_at <= now:
            raise Invalid("past")
        people = await resolve(session, audience)
        if not people:
            raise Invalid("nobody")
        row = Broadcast(
            author_id=actor.user_id,
            kind=content.kind,
            text=content.text,
            file_id=content.file_id,
            button_text=content.button_text,
            button_url=content.button_url,
            audience=audience.to_json(),
            state=(BroadcastState.SCHEDULED if scheduled_at else BroadcastState.SENDING).value,
            scheduled_at=scheduled_at,
            total=len(people),
            progress_chat_id=progress_chat_id,
            created_at=now,
            started_at=None if scheduled_at else now,
        )
        session.add(row)
        await session.flush()
        session.add_all(
            BroadcastDelivery(broadcast_id=row.id, user_id=uid, state=_PENDING, attempts=0) for uid in people
        )
        audit.record(
            session,
            actor_id=actor.user_id,
            action="broadcast_created",
            object_type="broadcast",
            object_id=row.id,
            now=now,
            total=len(people),
        )
        created = Created(row.id, len(people), BroadcastState(row.state), scheduled_at)
        await outbox.announce(session)
        await session.commit()
    return created


async def cancel(session: AsyncSession, *, actor: Profile, broadcast_id: int, now: datetime) -> int | None:
    """A scheduled or running broadcast → cancelled; its pending deliveries → cancelled (one being
    sent right now still goes). The author or an admin. Returns how many deliveries were stopped,
    None when it was no longer running. Commits."""
    async with rollback_on_error(session):
        row = await session.get(Broadcast, broadcast_id, populate_existing=True)
        if row is None:
            raise Refused("broadcast")
        if actor.role != Role.ADMIN and row.author_id != actor.user_id:
            raise Refused("broadcast")
        changed = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.state.in_([*_LIVE, BroadcastState.DRAFT.value]))
            .values(state=BroadcastState.CANCELLED.value, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if not cast(CursorResult[Any], changed).rowcount:
            await session.commit()
            return None
        stopped = await session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state == _PENDING)
            .values(state=DeliveryState.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            actor_id=actor.user_id,
            action="broadcast_cancelled",
            object_type="broadcast",
            object_id=broadcast_id,
            now=now,
        )
        await session.commit()
    return int(cast(CursorResult[Any], stopped).rowcount)


# ------------------------------------------------------------------ the sender's steps (commit)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    broadcast_id: int
    user_id: int
    attempts: int  # counting this one


async def start_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come → sending (one instance wins each). Commits."""
    async with rollback_on_error(session):
        due = list(
            (
                await session.scalars(
                    select(Broadcast.id).where(
                        Broadcast.state == BroadcastState.SCHEDULED.value, Broadcast.scheduled_at <= now
                    )
                )
            ).all()
        )
        started = []
        for broadcast_id in due:
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.SCHEDULED.value)
                .values(state=BroadcastState.SENDING.value, started_at=now)
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount:
                started.append(broadcast_id)
        await session.commit()
    return started


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(BroadcastDelivery.not_before.is_(None), BroadcastDelivery.not_before <= now)


QUEUE = outbox.Queue(
    model=BroadcastDelivery,
    pending=_PENDING,
    sending=_SENDING,
    failed=DeliveryState.FAILED.value,
    due=_due,
    due_at=lambda: BroadcastDelivery.not_before,
    order_by=lambda: (BroadcastDelivery.broadcast_id, BroadcastDelivery.id),
    done="sent_at",
    retry_at="not_before",
)


def _running(only: Sequence[int] | None = None) -> list[ColumnElement[bool]]:
    running = select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING.value)
    if only is not None:
        running = running.where(Broadcast.id.in_(list(only)))
    return [BroadcastDelivery.broadcast_id.in_(running.scalar_subquery())]


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    lease: timedelta,
    only: Sequence[int] | None = None,
) -> list[Claimed]:
    """Up to ``limit`` due pending deliveries of running broadcasts, claimed for ``worker``
    (``outbox.claim``: claims older than ``lease`` return first); commits.

    Deliveries to people who have blocked the bot since the broadcast was confirmed are marked
    blocked unsent first, in the same transaction. ``only``: these broadcasts (the tests keep apart
    by it)."""
    running = _running(only)
    async with rollback_on_error(session):
        await session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.state == _PENDING,
                *running,
                BroadcastDelivery.user_id.in_(select(User.id).where(User.blocked_bot.is_(True)).scalar_subquery()),
            )
            .values(state=DeliveryState.BLOCKED.value, error="blocked", sent_at=now)
            .execution_options(synchronize_session=False)
        )
    rows = await outbox.claim(
        session,
        QUEUE,
        now=now,
        worker=worker,
        limit=limit,
        lease=lease,
        returning=(BroadcastDelivery.broadcast_id, BroadcastDelivery.user_id, BroadcastDelivery.attempts),
        where=running,
        stale_where=(),
    )
    claimed = [Claimed(*row) for row in rows]  # type: ignore[call-arg]
    claimed.sort(key=lambda c: (c.broadcast_id, c.id))
    return claimed


async def next_due(session: AsyncSession, *, now: datetime, lease: timedelta) -> datetime | None:
    """When a delivery may next be claimed, or a scheduled broadcast starts. No commit."""
    moments = [
        await outbox.next_due(session, QUEUE, now=now, lease=lease, where=_running()),
        await session.scalar(
            select(func.min(Broadcast.scheduled_at)).where(Broadcast.state == BroadcastState.SCHEDULED.value)
        ),
    ]
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def _closed(state: DeliveryState, now: datetime, error: str | None = None) -> dict[str, Any]:
    return {"state": state.value, "sent_at": now, "error": error[:_ERROR_LEN] if error else None}


async def mark_sent(session: AsyncSession, ids: Iterable[int], *, now: datetime, worker: str) -> int:
    return await outbox.finish(session, QUEUE, list(ids), worker=worker, values=_closed(DeliveryState.SENT, now))


async def mark_blocked(session: AsyncSession, delivery_id: int, *, now: datetime, worker: str) -> int:
    values = _closed(DeliveryState.BLOCKED, now, "blocked")
    return await outbox.finish(session, QUEUE, [delivery_id], worker=worker, values=values)


async def mark_failed(session: AsyncSession, delivery_id: int, *, now: datetime, error: str, worker: str) -> int:
    values = _closed(DeliveryState.FAILED, now, error)
    return await outbox.finish(session, QUEUE, [delivery_id], worker=worker, values=values)


def backoff(attempts: int) -> timedelta:
    return outbox.backoff(attempts, BASE_DELAY, MAX_DELAY)


async def retry_later(
    session: AsyncSession,
    delivery: Claimed,
    *,
    now: datetime,
    error: str,
    worker: str,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """5xx, a timeout: back to pending after ``backoff``, or failed once attempts are spent."""
    return await outbox.retry_later(
        session,
        QUEUE,
        delivery.id,
        now=now,
        error=error,
        worker=worker,
        max_attempts=max_attempts,
        base=BASE_DELAY,
        cap=MAX_DELAY,
    )


async def release(session: AsyncSession, ids: Iterable[int], *, worker: str, not_before: datetime | None = None) -> int:
    """Claimed deliveries this worker will not send now (a 429 pause, shutdown) go back to pending;
    the claim does not count as an attempt. Commits."""
    return await outbox.release(session, QUEUE, list(ids), worker=worker, values={"not_before": not_before})


# ------------------------------------------------------------------ progress


@dataclass(frozen=True, slots=True)
class Progress:
    id: int
    author_id: int | None
    state: BroadcastState
    total: int
    counts: dict[str, int]
    errors: dict[str, int] = field(default_factory=dict)  # failed deliveries by error type
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
    scheduled_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def sent(self) -> int:
        return self.counts.get(DeliveryState.SENT.value, 0)

    @property
    def blocked(self) -> int:
        return self.counts.get(DeliveryState.BLOCKED.value, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(DeliveryState.FAILED.value, 0)

    @property
    def cancelled(self) -> int:
        return self.counts.get(DeliveryState.CANCELLED.value, 0)

    @property
    def left(self) -> int:
        return self.counts.get(_PENDING, 0) + self.counts.get(_SENDING, 0)


async def progress(session: AsyncSession, broadcast_id: int) -> Progress | None:
    row = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if row is None:
        return None
    counts = dict(
        (
            await session.execute(
                select(BroadcastDelivery.state, func.count())
                .where(BroadcastDelivery.broadcast_id == broadcast_id)
                .group_by(BroadcastDelivery.state)
            )
        ).all()
    )
    errors = Counter(
        dict(
            (
                await session.execute(
                    select(BroadcastDelivery.error, func.count())
                    .where(
                        BroadcastDelivery.broadcast_id == broadcast_id,
                        BroadcastDelivery.state == DeliveryState.FAILED.value,
                    )
                    .group_by(BroadcastDelivery.error)
                )
            ).all()
        )
    )
    return Progress(
        id=row.id,
        author_id=row.author_id,
        state=BroadcastState(row.state),
        total=row.total,
        counts={str(k): int(v) for k, v in counts.items()},
        errors={str(k or "unknown"): int(v) for k, v in errors.items()},
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress_chat_id=row.progress_chat_id,
        progress_message_id=row.progress_message_id,
        scheduled_at=row.scheduled_at,
        created_at=row.created_at,
    )


async def finish_if_done(session: AsyncSession, broadcast_id: int, *, now: datetime) -> bool:
    """A running broadcast with nothing pending or being sent → done; True for the one caller whose
    UPDATE changed it (that one sends the final report). Commits."""
    left = exists().where(
        BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.state.in_([_PENDING, _SENDING])
    )
    async with rollback_on_error(session):
        result = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.SENDING.value, ~left)
            .values(state=BroadcastState.DONE.value, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return bool(cast(CursorResult[Any], result).rowcount)


async def running(session: AsyncSession) -> list[int]:
    """Broadcasts being sent now (the sender checks them for the end). No commit."""
    return list(
        (await session.scalars(select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING.value))).all()
    )


async def claim_progress(session: AsyncSession, broadcast_id: int, *, now: datetime, every: timedelta) -> bool:
    """True for the one caller who may update the progress message now (at most once per ``every``)."""
    async with rollback_on_error(session):
        result = await session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                or_(Broadcast.progress_at.is_(None), Broadcast.progress_at <= now - every),
            )
            .values(progress_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return bool(cast(CursorResult[Any], result).rowcount)


async def set_progress_message(session: AsyncSession, broadcast_id: int, *, chat_id: int, message_id: int) -> None:
    async with rollback_on_error(session):
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


@dataclass(frozen=True, slots=True)
class Stored:
    """What the sender sends: the broadcast's content."""

    id: int
    content: Content


async def content_of(session: AsyncSession, broadcast_ids: Iterable[int]) -> dict[int, Content]:
    rows = await session.scalars(select(Broadcast).where(Broadcast.id.in_(list(broadcast_ids))))
    return {r.id: Content(r.kind, r.text, r.file_id, r.button_text, r.button_url) for r in rows.all()}


@dataclass(frozen=True, slots=True)
class Listed:
    id: int
    state: BroadcastState
    total: int
    created_at: datetime
    scheduled_at: datetime | None
    preview: str  # the first words of the plain text


async def recent(session: AsyncSession, *, actor: Profile, limit: int = 10) -> list[Listed]:
    """The latest broadcasts the actor may see: her own; an admin's, everyone's. No commit."""
    stmt = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(Broadcast.author_id == actor.user_id)
    rows = (await session.scalars(stmt)).all()
    out = []
    for r in rows:
        try:
            words = plain_text(r.text or "")
        except Invalid:
            words = ""
        out.append(Listed(r.id, BroadcastState(r.state), r.total, r.created_at, r.scheduled_at, words[:40]))
    return out
