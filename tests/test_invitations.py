"""bot/services/invitations.py: role links, participant links, single use, expiry, revocation."""

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import cases, invitations
from bot.services.users import Profile
from db.models import Invitation, Participant, Role, User
from tests.factories import NOW, REGION_A, REGION_B, TTL, ZONE_A, Ids, audit_rows, ensure_regions, register

_ids = Ids(620_000_000, __name__)
new_id, person = _ids.new, _ids.person


async def staff_and_case(session: AsyncSession) -> tuple[Profile, cases.Registered]:
    """Staff of region A and a case she has just registered (its woman has not joined)."""
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    return staff, await register(session, staff)


async def propose_mother(session: AsyncSession, staff: Profile, registered: cases.Registered) -> int:
    proposal = await cases.propose_relative(
        session, actor=staff, case_id=registered.case_id, first_name="Мария", relation="mother", now=NOW
    )
    return proposal.participant_id


async def approved_mother(session: AsyncSession, staff: Profile, registered: cases.Registered) -> tuple[int, str]:
    """A relative the woman has agreed to invite, and the link staff has issued her."""
    relative_id = await propose_mother(session, staff, registered)
    relative = await session.get(Participant, relative_id)
    assert relative is not None
    relative.approval = "approved"  # as if the woman had agreed
    await session.commit()
    token = await invitations.reissue(session, actor=staff, participant_id=relative_id, now=NOW, ttl_days=TTL)
    return relative_id, token


async def links_of(session: AsyncSession, participant_id: int) -> int:
    query = select(func.count()).select_from(Invitation).where(Invitation.participant_id == participant_id)
    count = (await session.execute(query)).scalar_one()
    await session.commit()
    return count


async def fetch(session: AsyncSession, model: type[Any], key: object):
    session.expire_all()
    row = await session.get(model, key)
    await session.commit()
    return row


async def refusals(session: AsyncSession, user_id: int) -> list[tuple[str | None, dict | None]]:
    return [(e.object_id, e.details) for e in await audit_rows(session, user_id, "invite_refused")]


# ---------------------------------------------------------------- role links


async def test_staff_invites_to_her_own_region(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    for role in (Role.CURATOR, Role.FACILITATOR, Role.STAFF):
        token = await invitations.issue_for_role(
            session, actor=staff, role=role, region_code=REGION_A, now=NOW, ttl_days=TTL
        )
        row = await session.scalar(select(Invitation).where(Invitation.token_hash == invitations.hash_token(token)))
        assert row is not None
        assert (row.role, row.region_code, row.participant_id, row.created_by) == (
            role.value,
            REGION_A,
            None,
            staff.user_id,
        )
        assert row.expires_at == NOW + timedelta(days=TTL)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        await session.commit()
    issued = await audit_rows(session, staff.user_id, "role_invite_issued")
    assert [e.details for e in issued] == [{"role": r, "region": REGION_A} for r in ("curator", "facilitator", "staff")]


async def test_admin_invites_to_any_region(session: AsyncSession) -> None:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    for region in (REGION_A, REGION_B, None):
        token = await invitations.issue_for_role(
            session, actor=admin, role=Role.STAFF, region_code=region, now=NOW, ttl_days=TTL
        )
        row = await session.scalar(select(Invitation).where(Invitation.token_hash == invitations.hash_token(token)))
        assert row is not None and row.region_code == region and row.role == "staff"
        await session.commit()


@pytest.mark.parametrize(
    ("role", "scope", "invite", "region"),
    [
        (Role.STAFF, REGION_A, Role.CURATOR, REGION_B),  # another region
        (Role.STAFF, REGION_A, Role.CURATOR, None),  # every region
        (Role.STAFF, None, Role.CURATOR, REGION_A),  # staff without a region
        (Role.STAFF, REGION_A, Role.ADMIN, REGION_A),  # not an invitable role
        (Role.ADMIN, None, Role.ADMIN, None),
        (Role.ADMIN, None, Role.CURATOR, "atlantis"),  # no such region
        (Role.CURATOR, REGION_A, Role.CURATOR, REGION_A),
        (Role.FACILITATOR, REGION_A, Role.FACILITATOR, REGION_A),
        (Role.WOMAN, None, Role.CURATOR, REGION_A),
    ],
)
async def test_role_invite_refused(
    session: AsyncSession, role: Role, scope: str | None, invite: Role, region: str | None
) -> None:
    await ensure_regions(session)
    actor = await person(session, role, scope=scope)
    with pytest.raises(invitations.NotAllowed):
        await invitations.issue_for_role(session, actor=actor, role=invite, region_code=region, now=NOW, ttl_days=TTL)
    denied = await audit_rows(session, actor.user_id, "denied")
    assert [e.details for e in denied] == [{"attempted": "role_invite", "role": invite.value}]
    made = await session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.created_by == actor.user_id)
    )
    assert made == 0
    await session.commit()


async def test_role_redeem_makes_a_team_member(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    token = await invitations.issue_for_role(
        session, actor=staff, role=Role.CURATOR, region_code=REGION_A, now=NOW, ttl_days=TTL
    )
    newcomer = new_id()  # never wrote to the bot before
    joined = await invitations.redeem(session, token=token, user_id=newcomer, first_name="Ольга", now=NOW)
    assert joined == invitations.JoinedTeam(Role.CURATOR, REGION_A)
    user = await fetch(session, User, newcomer)
    assert user is not None
    assert (user.role, user.scope_region, user.display_name) == ("curator", REGION_A, "Ольга")
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == invitations.hash_token(token)))
    assert invitation is not None and (invitation.used_at, invitation.used_by) == (NOW, newcomer)
    await session.commit()
    redeemed = await audit_rows(session, newcomer, "invite_redeemed")
    assert [e.object_id for e in redeemed] == [str(invitation.id)]

    # A role link works once, also for the one who used it.
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token=token, user_id=newcomer, first_name="Ольга", now=NOW)
    assert caught.value.reason == "used"


async def test_role_redeem_keeps_a_name_already_known_and_changes_the_role(session: AsyncSession) -> None:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    existing = await person(session, Role.CURATOR, scope=REGION_A, name="Ирина")
    token = await invitations.issue_for_role(
        session, actor=admin, role=Role.STAFF, region_code=REGION_B, now=NOW, ttl_days=TTL
    )
    joined = await invitations.redeem(session, token=token, user_id=existing.user_id, first_name="Irina", now=NOW)
    assert joined == invitations.JoinedTeam(Role.STAFF, REGION_B)
    user = await fetch(session, User, existing.user_id)
    assert (user.role, user.scope_region, user.display_name) == ("staff", REGION_B, "Ирина")


async def test_an_admin_keeps_the_admin_role(session: AsyncSession) -> None:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    other_admin = await person(session, Role.ADMIN)
    token = await invitations.issue_for_role(
        session, actor=admin, role=Role.STAFF, region_code=REGION_A, now=NOW, ttl_days=TTL
    )
    joined = await invitations.redeem(session, token=token, user_id=other_admin.user_id, first_name="Вера", now=NOW)
    assert joined == invitations.JoinedTeam(Role.ADMIN, None)  # what she is now, for the welcome
    user = await fetch(session, User, other_admin.user_id)
    assert (user.role, user.scope_region, user.display_name) == ("admin", None, "Вера")


# ---------------------------------------------------------------- participant links


async def test_woman_redeems_her_link(session: AsyncSession) -> None:
    _, registered = await staff_and_case(session)
    woman = new_id()  # opens the bot through the link: no row yet
    joined = await invitations.redeem(session, token=registered.woman_token, user_id=woman, first_name="Аня", now=NOW)
    assert joined == invitations.JoinedCase(registered.woman_participant_id, registered.case_id, "woman", again=False)

    user = await fetch(session, User, woman)
    assert user is not None
    assert (user.role, user.region, user.timezone) == ("woman", REGION_A, ZONE_A)
    assert user.display_name is None and user.scope_region is None
    participant = await fetch(session, Participant, registered.woman_participant_id)
    assert (participant.user_id, participant.joined_at) == (woman, NOW)
    invitation = await session.scalar(
        select(Invitation).where(Invitation.participant_id == registered.woman_participant_id)
    )
    assert invitation is not None and (invitation.used_at, invitation.used_by) == (NOW, woman)
    await session.commit()

    # Opening her own link again is harmless.
    later = NOW + timedelta(days=1)
    again = await invitations.redeem(session, token=registered.woman_token, user_id=woman, first_name=None, now=later)
    assert again == invitations.JoinedCase(registered.woman_participant_id, registered.case_id, "woman", again=True)
    # ... even after it would have expired.
    expired = NOW + timedelta(days=TTL + 5)
    again = await invitations.redeem(session, token=registered.woman_token, user_id=woman, first_name=None, now=expired)
    assert isinstance(again, invitations.JoinedCase)
    assert again.again is True
    assert await refusals(session, woman) == []


async def test_existing_user_keeps_her_region_and_role(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    woman = await person(session, None, region=REGION_B)
    await invitations.redeem(session, token=registered.woman_token, user_id=woman.user_id, first_name=None, now=NOW)
    user = await fetch(session, User, woman.user_id)
    assert (user.role, user.region) == ("woman", REGION_B)

    # A team member who opens a woman's link keeps her role.
    second = await register(session, staff)
    curator = await person(session, Role.CURATOR)
    await invitations.redeem(session, token=second.woman_token, user_id=curator.user_id, first_name=None, now=NOW)
    user = await fetch(session, User, curator.user_id)
    assert (user.role, user.region) == ("curator", REGION_A)


async def test_used_link_refuses_another_person(session: AsyncSession) -> None:
    _, registered = await staff_and_case(session)
    woman, stranger = new_id(), new_id()
    await invitations.redeem(session, token=registered.woman_token, user_id=woman, first_name=None, now=NOW)
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token=registered.woman_token, user_id=stranger, first_name=None, now=NOW)
    assert caught.value.reason == "used"
    invitation = await session.scalar(
        select(Invitation).where(Invitation.participant_id == registered.woman_participant_id)
    )
    assert invitation is not None
    await session.commit()
    assert await refusals(session, stranger) == [(str(invitation.id), {"reason": "used"})]
    participant = await fetch(session, Participant, registered.woman_participant_id)
    assert participant.user_id == woman
    assert await fetch(session, User, stranger) is None  # nothing of the stranger was kept


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=100)])
async def test_expired_link(session: AsyncSession, after: timedelta) -> None:
    _, registered = await staff_and_case(session)
    woman = new_id()
    expires_at = NOW + timedelta(days=TTL)
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(
            session, token=registered.woman_token, user_id=woman, first_name=None, now=expires_at + after
        )
    assert caught.value.reason == "expired"
    [(object_id, details)] = await refusals(session, woman)
    assert details == {"reason": "expired"} and object_id is not None
    participant = await fetch(session, Participant, registered.woman_participant_id)
    assert participant.user_id is None
    # A moment before the end it still works.
    joined = await invitations.redeem(
        session, token=registered.woman_token, user_id=woman, first_name=None, now=expires_at - timedelta(seconds=1)
    )
    assert isinstance(joined, invitations.JoinedCase) and joined.again is False


async def test_reissue_revokes_the_old_link(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    later = NOW + timedelta(hours=2)
    fresh = await invitations.reissue(
        session, actor=staff, participant_id=registered.woman_participant_id, now=later, ttl_days=TTL
    )
    assert fresh != registered.woman_token
    rows = (
        await session.scalars(
            select(Invitation)
            .where(Invitation.participant_id == registered.woman_participant_id)
            .order_by(Invitation.id)
        )
    ).all()
    assert [(r.revoked_at, r.token_hash) for r in rows] == [
        (later, invitations.hash_token(registered.woman_token)),
        (None, invitations.hash_token(fresh)),
    ]
    old_id = rows[0].id
    await session.commit()

    woman = new_id()
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token=registered.woman_token, user_id=woman, first_name=None, now=later)
    assert caught.value.reason == "revoked"
    assert await refusals(session, woman) == [(str(old_id), {"reason": "revoked"})]
    joined = await invitations.redeem(session, token=fresh, user_id=woman, first_name=None, now=later)
    assert isinstance(joined, invitations.JoinedCase) and joined.participant_id == registered.woman_participant_id


async def test_unknown_token(session: AsyncSession) -> None:
    uid = new_id()
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token="no-such-token-at-all", user_id=uid, first_name=None, now=NOW)
    assert caught.value.reason == "unknown"
    assert await refusals(session, uid) == [(None, {"reason": "unknown"})]
    assert await fetch(session, User, uid) is None


async def test_reissue_for_a_relative_not_approved(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    relative_id = await propose_mother(session, staff, registered)
    with pytest.raises(invitations.NotApproved):
        await invitations.reissue(session, actor=staff, participant_id=relative_id, now=NOW, ttl_days=TTL)
    assert not session.in_transaction()
    assert await links_of(session, relative_id) == 0


async def test_relative_link_makes_a_relative(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    relative_id, token = await approved_mother(session, staff, registered)
    uid = new_id()
    joined = await invitations.redeem(session, token=token, user_id=uid, first_name=None, now=NOW)
    assert joined == invitations.JoinedCase(relative_id, registered.case_id, "relative", again=False)
    user = await fetch(session, User, uid)
    assert (user.role, user.region) == ("relative", REGION_A)


async def test_one_account_cannot_be_two_people_of_a_case(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    relative_id, token = await approved_mother(session, staff, registered)
    woman = new_id()
    await invitations.redeem(session, token=registered.woman_token, user_id=woman, first_name=None, now=NOW)
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token=token, user_id=woman, first_name=None, now=NOW)
    assert caught.value.reason == "used"
    relative = await fetch(session, Participant, relative_id)
    assert relative.user_id is None
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == invitations.hash_token(token)))
    assert invitation is not None and invitation.used_at is None  # the claim was rolled back
    await session.commit()


async def test_reissue_after_joining(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    await invitations.redeem(session, token=registered.woman_token, user_id=new_id(), first_name=None, now=NOW)
    with pytest.raises(invitations.AlreadyJoined):
        await invitations.reissue(
            session, actor=staff, participant_id=registered.woman_participant_id, now=NOW, ttl_days=TTL
        )
    assert not session.in_transaction()
    assert await links_of(session, registered.woman_participant_id) == 1


async def test_reissue_and_revoke_out_of_reach(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    other = await person(session, Role.STAFF, scope=REGION_B)
    pid = registered.woman_participant_id
    with pytest.raises(invitations.NotAllowed):
        await invitations.reissue(session, actor=other, participant_id=pid, now=NOW, ttl_days=TTL)
    with pytest.raises(invitations.NotAllowed):
        await invitations.revoke(session, actor=other, participant_id=pid, now=NOW)
    with pytest.raises(invitations.NotAllowed):
        await invitations.reissue(session, actor=staff, participant_id=2_000_000_000, now=NOW, ttl_days=TTL)
    denied = await audit_rows(session, other.user_id, "denied")
    assert [e.details for e in denied] == [{"attempted": "reissue_invite"}, {"attempted": "revoke_invite"}]
    [missing] = await audit_rows(session, staff.user_id, "denied")
    assert (missing.object_type, missing.object_id) == ("participant", "2000000000")
    # The woman's link is untouched.
    joined = await invitations.redeem(session, token=registered.woman_token, user_id=new_id(), first_name=None, now=NOW)
    assert isinstance(joined, invitations.JoinedCase)


async def test_revoke(session: AsyncSession) -> None:
    staff, registered = await staff_and_case(session)
    pid = registered.woman_participant_id
    assert await invitations.revoke(session, actor=staff, participant_id=pid, now=NOW) == 1
    assert await invitations.revoke(session, actor=staff, participant_id=pid, now=NOW) == 0
    assert [e.object_id for e in await audit_rows(session, staff.user_id, "invite_revoked")] == [str(pid)] * 2
    uid = new_id()
    with pytest.raises(invitations.InviteProblem) as caught:
        await invitations.redeem(session, token=registered.woman_token, user_id=uid, first_name=None, now=NOW)
    assert caught.value.reason == "revoked"


def test_link_and_payload() -> None:
    assert invitations.payload_of("abc") == "i-abc"
    assert invitations.link("vmeste_bot", "abc") == "https://t.me/vmeste_bot?start=i-abc"
    assert invitations.hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


async def _redeem_or_reason(
    session_factory: async_sessionmaker[AsyncSession], token: str, user_id: int
) -> invitations.JoinedCase | invitations.JoinedTeam | str:
    async with session_factory() as s:
        try:
            return await invitations.redeem(s, token=token, user_id=user_id, first_name=None, now=NOW)
        except invitations.InviteProblem as problem:
            return problem.reason


async def test_two_people_opening_one_link_at_once(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        _, registered = await staff_and_case(session)
    people = [new_id() for _ in range(3)]
    results = await asyncio.gather(*(_redeem_or_reason(session_factory, registered.woman_token, u) for u in people))
    joined = [r for r in results if isinstance(r, invitations.JoinedCase)]
    assert len(joined) == 1 and joined[0].again is False
    assert sorted(r for r in results if isinstance(r, str)) == ["used", "used"]
    async with session_factory() as session:
        participant = await session.get(Participant, registered.woman_participant_id)
        assert participant is not None and participant.user_id == people[results.index(joined[0])]


async def test_same_person_opening_her_link_twice_at_once(
    session_factory: async_sessionmaker[AsyncSession], backend: str
) -> None:
    async with session_factory() as session:
        _, registered = await staff_and_case(session)
    woman = new_id()
    if backend == "sqlite":
        # One pooled connection: the two taps cannot interleave, they come one after the other.
        results = [await _redeem_or_reason(session_factory, registered.woman_token, woman) for _ in "ab"]
        assert [r.again for r in results if isinstance(r, invitations.JoinedCase)] == [False, True], results
        return
    # A third session holds the row so that both redeems read it unused, then queue on the claim.
    async with session_factory() as lock:
        await lock.execute(
            text("SELECT id FROM invitations WHERE token_hash = :h FOR UPDATE"),
            {"h": invitations.hash_token(registered.woman_token)},
        )
        tasks = [asyncio.create_task(_redeem_or_reason(session_factory, registered.woman_token, woman)) for _ in "ab"]
        # Both wait on the row (polled, not a fixed pause a busy machine could miss).
        deadline = asyncio.get_running_loop().time() + 120
        waiting = text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")  # live, not a snapshot
        while (await lock.execute(waiting)).scalar_one() < 2:
            assert asyncio.get_running_loop().time() < deadline, "the two redeems never queued on the row"
            await asyncio.sleep(0.02)
        await lock.commit()
    results = await asyncio.gather(*tasks)
    # Both taps are hers: one joins, the other is the harmless "again".
    assert sorted(r.again for r in results if isinstance(r, invitations.JoinedCase)) == [False, True], results
