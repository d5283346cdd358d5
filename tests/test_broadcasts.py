"""Broadcasts: content checks, the audience, creating, claiming and the outcomes, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services import broadcasts
from bot.services.broadcasts import Audience, Content, Invalid, Refused
from db.models import BroadcastDelivery, Participant, Role, Subscription, User
from tests.factories import NOW, REGION_A, REGION_B, Ids, ensure_regions, register

_ids = Ids(730_000_000, __name__)
LEASE = timedelta(seconds=60)


# ------------------------------------------------------------------ content (no database)


def test_plain_text_counts_after_parsing() -> None:
    assert broadcasts.plain_text("<b>Hi</b> &amp; <a href='https://x.org'>you</a> >") == "Hi & you >"
    long = "<b>" + "я" * 4096 + "</b>"
    assert broadcasts.check_content(Content("text", long)).text == long
    with pytest.raises(Invalid) as err:
        broadcasts.check_content(Content("text", "я" * 4097))
    assert err.value.reason == "too_long" and err.value.detail["length"] == 4097
    with pytest.raises(Invalid) as err:
        broadcasts.check_content(Content("photo", "x" * 1025, file_id="f"))
    assert err.value.reason == "caption_too_long"
    assert broadcasts.utf16_len("😀") == 2


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<b>bold", "unclosed"),
        ("<b><i>x</b></i>", "unclosed"),
        ("x</b>", "unopened"),
        ("<div>x</div>", "unknown_tag"),
        ("a < b", "stray_lt"),
        ("Tom & Jerry", "stray_amp"),
        ('<b class="x">y</b>', "attribute"),
        ('<a href="javascript:alert(1)">y</a>', "link"),
    ],
)
def test_broken_html_is_refused_with_the_reason(html: str, problem: str) -> None:
    with pytest.raises(Invalid) as err:
        broadcasts.check_content(Content("text", html))
    assert err.value.reason == "html"
    assert err.value.detail["problem"] == problem


def test_empty_text_and_buttons() -> None:
    for text in ("", "   ", "<b> </b>"):
        with pytest.raises(Invalid) as err:
            broadcasts.check_content(Content("text", text))
        assert err.value.reason == "empty"
    for url in ("http://example.org", "example.org", "https://", "ftp://x.org", "https://a b.org"):
        with pytest.raises(Invalid) as err:
            broadcasts.check_content(Content("text", "hi", button_text="Go", button_url=url))
        assert err.value.reason == "url"
    with pytest.raises(Invalid) as err:
        broadcasts.check_content(Content("text", "hi", button_text="Go"))
    assert err.value.reason == "button"
    ok = broadcasts.check_content(Content("text", "hi", button_text=" Go ", button_url="https://example.org/a"))
    assert (ok.button_text, ok.button_url) == ("Go", "https://example.org/a")
    assert broadcasts.check_content(Content("photo", None, file_id="abc")).text is None


# ------------------------------------------------------------------ the audience


async def _person(session, role: Role | None, *, region: str | None = REGION_A, blocked: bool = False) -> int:
    profile = await _ids.person(session, role, region=region)
    if blocked:
        row = await session.get(User, profile.user_id)
        row.blocked_bot = True
        await session.commit()
    return profile.user_id


async def _world(session):
    """A region of its own per test (people of earlier tests share the database)."""
    await ensure_regions(session)
    from db.models import Region

    code = f"zz_bc_{_ids.new() % 100_000}"
    session.add(Region(code=code, name={"ru": code, "en": code}, timezone="Europe/Moscow", position=990))
    await session.commit()
    return code


async def test_audience_by_role_region_stage_and_category(session) -> None:
    region = await _world(session)
    women = [await _person(session, Role.WOMAN, region=region) for _ in range(3)]
    relative = await _person(session, Role.RELATIVE, region=region)
    curator = await _person(session, Role.CURATOR, region=None)
    (await session.get(User, curator)).scope_region = region
    await session.commit()
    await _person(session, Role.WOMAN, region=region, blocked=True)
    await _person(session, Role.WOMAN, region=REGION_B)
    newcomer = await _person(session, None, region=region)

    everyone = Audience(roles=("woman", "relative", "curator", "none"), regions=(region,))
    assert set(await broadcasts.resolve(session, everyone)) == {*women, relative, curator, newcomer}
    assert await broadcasts.resolve(session, Audience(roles=("woman",), regions=(region,))) == women
    assert await broadcasts.resolve(session, Audience(roles=(), regions=(region,))) == []

    # Stage: the woman of a case at stage 1 (a new case), her relative too.
    admin = await _ids.person(session, Role.ADMIN)
    registered = await register(session, admin, region_code=region)
    (await session.get(Participant, registered.woman_participant_id)).user_id = women[0]
    session.add(
        Participant(
            case_id=registered.case_id,
            kind="relative",
            first_name="X",
            user_id=relative,
            approval="approved",
            created_at=NOW,
        )
    )
    await session.commit()
    staged = Audience(roles=("woman", "relative"), regions=(region,), stages=(1,))
    assert await broadcasts.resolve(session, staged) == [women[0], relative]
    assert await broadcasts.resolve(session, Audience(roles=("woman",), regions=(region,), stages=(3,))) == []

    # Category: without a row she gets it; subscribed=false takes her out of that category only.
    session.add(Subscription(user_id=women[1], category="housing", subscribed=False))
    session.add(Subscription(user_id=women[2], category="work", subscribed=False))
    await session.commit()
    housing = Audience(roles=("woman",), regions=(region,), categories=("housing",))
    assert await broadcasts.resolve(session, housing) == [women[0], women[2]]
    await session.commit()


async def test_staff_only_in_their_region(session) -> None:
    region = await _world(session)
    staff = await _ids.person(session, Role.STAFF, scope=region)
    other = await _ids.person(session, Role.STAFF, scope=None)
    curator = await _ids.person(session, Role.CURATOR, scope=region)
    assert broadcasts.in_scope(staff, Audience(roles=("woman",))).regions == (region,)
    with pytest.raises(Refused):
        broadcasts.in_scope(staff, Audience(roles=("woman",), regions=(REGION_B,)))
    for actor in (other, curator):
        with pytest.raises(Refused):
            broadcasts.in_scope(actor, Audience(roles=("woman",)))
    admin = await _ids.person(session, Role.ADMIN)
    assert broadcasts.in_scope(admin, Audience(roles=("woman",))).regions == ()


# ------------------------------------------------------------------ creating and sending


async def _created(session, n: int = 3, **kwargs):
    region = await _world(session)
    people = [await _person(session, Role.WOMAN, region=region) for _ in range(n)]
    staff = await _ids.person(session, Role.STAFF, scope=region)
    created = await broadcasts.create(
        session,
        actor=staff,
        content=Content("text", "<b>Hello</b>"),
        audience=Audience(roles=("woman",)),
        now=NOW,
        progress_chat_id=staff.user_id,
        **kwargs,
    )
    return created, people, staff


async def test_create_writes_one_delivery_per_recipient(session) -> None:
    created, people, _ = await _created(session)
    assert created.total == 3
    rows = (await session.scalars(select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == created.id))).all()
    assert sorted(r.user_id for r in rows) == people and {r.state for r in rows} == {"pending"}
    await session.commit()


async def test_refusals_write_nothing(session) -> None:
    region = await _world(session)
    staff = await _ids.person(session, Role.STAFF, scope=region)
    with pytest.raises(Invalid) as err:
        await broadcasts.create(
            session, actor=staff, content=Content("text", "hi"), audience=Audience(roles=("woman",)), now=NOW
        )
    assert err.value.reason == "nobody"
    await _person(session, Role.WOMAN, region=region)
    with pytest.raises(Invalid) as err:
        await broadcasts.create(
            session,
            actor=staff,
            content=Content("text", "hi"),
            audience=Audience(roles=("woman",)),
            now=NOW,
            scheduled_at=NOW - timedelta(minutes=1),
        )
    assert err.value.reason == "past"
    assert await broadcasts.recent(session, actor=staff) == []


async def test_claim_outcomes_lease_and_finish(session) -> None:
    created, _people, _staff = await _created(session, n=4)
    claimed = await broadcasts.claim(session, now=NOW, worker="w1", limit=100, lease=LEASE, only=[created.id])
    mine = [c for c in claimed if c.broadcast_id == created.id]
    assert len(mine) == 4 and all(c.attempts == 1 for c in mine)
    # A second worker gets none of them.
    other = await broadcasts.claim(session, now=NOW, worker="w2", limit=100, lease=LEASE, only=[created.id])
    assert not [c for c in other if c.broadcast_id == created.id]
    a, b, c, d = mine
    await broadcasts.mark_sent(session, [a.id], now=NOW, worker="w1")
    await broadcasts.mark_blocked(session, b.id, now=NOW, worker="w1")
    assert await broadcasts.retry_later(session, c, now=NOW, error="TelegramServerError", worker="w1")
    # d: its worker died; after the lease it goes back and is claimed again.
    assert not await broadcasts.finish_if_done(session, created.id, now=NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    again = [
        x
        for x in await broadcasts.claim(session, now=later, worker="w2", limit=100, lease=LEASE, only=[created.id])
        if x.broadcast_id == created.id
    ]
    assert {x.id for x in again} == {c.id, d.id}
    assert await broadcasts.mark_sent(session, [d.id], now=later, worker="w1") == 0  # not w1's any more
    for x in again:
        if x.id == c.id:
            await broadcasts.mark_failed(session, x.id, now=later, error="TelegramServerError", worker="w2")
        else:
            await broadcasts.mark_sent(session, [x.id], now=later, worker="w2")
    assert await broadcasts.finish_if_done(session, created.id, now=later)
    assert not await broadcasts.finish_if_done(session, created.id, now=later)  # once
    view = await broadcasts.progress(session, created.id)
    await session.commit()
    assert view is not None
    assert (view.sent, view.blocked, view.failed, view.left) == (2, 1, 1, 0)
    assert view.errors == {"TelegramServerError": 1}
    assert view.state.value == "done"


async def test_release_does_not_count_and_not_before_waits(session) -> None:
    created, _people, _ = await _created(session, n=1)
    (item,) = [
        c for c in await broadcasts.claim(session, now=NOW, worker="w", limit=100, lease=LEASE, only=[created.id])
    ]
    await broadcasts.release(session, [item.id], worker="w", not_before=NOW + timedelta(seconds=5))
    assert not [
        c for c in await broadcasts.claim(session, now=NOW, worker="w", limit=100, lease=LEASE, only=[created.id])
    ]
    (back,) = await broadcasts.claim(
        session, now=NOW + timedelta(seconds=5), worker="w", limit=100, lease=LEASE, only=[created.id]
    )
    assert back.id == item.id and back.attempts == 1


async def test_scheduled_starts_when_due_and_cancel_stops_it(session) -> None:
    created, _people, staff = await _created(session, n=2, scheduled_at=NOW + timedelta(hours=1))
    assert created.state.value == "scheduled"
    assert not [
        c for c in await broadcasts.claim(session, now=NOW, worker="w", limit=100, lease=LEASE, only=[created.id])
    ]
    assert await broadcasts.start_due(session, now=NOW) == []
    due = NOW + timedelta(hours=1)
    assert created.id in await broadcasts.start_due(session, now=due)
    assert created.id not in await broadcasts.start_due(session, now=due)
    (first,) = await broadcasts.claim(session, now=due, worker="w", limit=1, lease=LEASE, only=[created.id])
    stranger = await _ids.person(session, Role.STAFF, scope=REGION_A)
    with pytest.raises(Refused):
        await broadcasts.cancel(session, actor=stranger, broadcast_id=created.id, now=due)
    assert await broadcasts.cancel(session, actor=staff, broadcast_id=created.id, now=due) == 1
    assert await broadcasts.cancel(session, actor=staff, broadcast_id=created.id, now=due) is None
    await broadcasts.mark_sent(session, [first.id], now=due, worker="w")  # the one in flight still goes
    view = await broadcasts.progress(session, created.id)
    await session.commit()
    assert view is not None
    assert (view.state.value, view.sent, view.cancelled) == ("cancelled", 1, 1)
    assert not [
        c for c in await broadcasts.claim(session, now=due, worker="w", limit=100, lease=LEASE, only=[created.id])
    ]


async def test_blocked_since_confirming_are_not_sent(session) -> None:
    created, people, _ = await _created(session, n=2)
    row = await session.get(User, people[0])
    row.blocked_bot = True
    await session.commit()
    claimed = [
        c for c in await broadcasts.claim(session, now=NOW, worker="w", limit=100, lease=LEASE, only=[created.id])
    ]
    assert [c.user_id for c in claimed if c.broadcast_id == created.id] == [people[1]]
    view = await broadcasts.progress(session, created.id)
    await session.commit()
    assert view is not None
    assert view.blocked == 1
