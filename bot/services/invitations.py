"""Single-use invitation links: ``https://t.me/<bot>?start=i-<token>``.

A token is 24 random bytes (192 bits) in URL-safe base64; only its SHA-256 is stored, so a database
dump opens nobody's case. A link expires (``INVITE_TTL_DAYS``), works once, and issuing a new one for
the same person revokes the old. A participant's link binds her Telegram account to her place in the
case; a role link makes a team member (curator, facilitator, staff) of a region.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, users
from bot.services.access import load_visible
from bot.services.users import Profile
from db.models import Approval, Case, Invitation, Participant, ParticipantKind, Region, Role, User

PREFIX = "i-"
TOKEN_BYTES = 24
INVITABLE_ROLES = (Role.CURATOR, Role.FACILITATOR, Role.STAFF)


class InviteProblem(Exception):
    """Why a link does not work: ``unknown``, ``expired``, ``used``, ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAllowed(PermissionError):
    pass


class NotApproved(ValueError):
    """A relative the woman has not agreed to invite gets no link."""


class AlreadyJoined(ValueError):
    """The person has opened her link already; a new one would be of no use."""


@dataclass(frozen=True, slots=True)
class JoinedCase:
    participant_id: int
    case_id: int
    kind: str
    again: bool  # she had opened this same link before


@dataclass(frozen=True, slots=True)
class JoinedTeam:
    role: Role
    region_code: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def payload_of(token: str) -> str:
    return PREFIX + token


def link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={payload_of(token)}"


async def revoke_open(session: AsyncSession, participant_id: int, now: datetime) -> int:
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.participant_id == participant_id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def issue_for_participant(
    session: AsyncSession, *, participant_id: int, created_by: int | None, now: datetime, ttl_days: int
) -> str:
    """A new link for a participant (older open ones are revoked). The caller commits."""
    await revoke_open(session, participant_id, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        Invitation(
            token_hash=hash_token(token),
            participant_id=participant_id,
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )
    )
    audit.record(
        session,
        actor_id=created_by,
        action="invite_issued",
        object_type="participant",
        object_id=participant_id,
        now=now,
    )
    return token


async def _participant_in_reach(
    session: AsyncSession, actor: Profile, participant_id: int, attempted: str, *, now: datetime
) -> Participant:
    participant = await session.get(Participant, participant_id)
    if participant is None:
        await audit.denied(
            session,
            actor_id=actor.user_id,
            object_type="participant",
            object_id=participant_id,
            attempted=attempted,
            now=now,
        )
        raise NotAllowed(attempted)
    try:
        await load_visible(session, actor, participant.case_id, attempted, now=now)
    except PermissionError:
        raise NotAllowed(attempted) from None
    return participant


async def reissue(session: AsyncSession, *, actor: Profile, participant_id: int, now: datetime, ttl_days: int) -> str:
    """A fresh link for a participant who has not joined yet (the old link stops working)."""
    participant = await _participant_in_reach(session, actor, participant_id, "reissue_invite", now=now)
    if participant.approval != Approval.APPROVED.value:
        await session.rollback()
        raise NotApproved(participant_id)
    if participant.user_id is not None:
        await session.rollback()
        raise AlreadyJoined(participant_id)
    token = await issue_for_participant(
        session, participant_id=participant.id, created_by=actor.user_id, now=now, ttl_days=ttl_days
    )
    await session.commit()
    return token


async def revoke(session: AsyncSession, *, actor: Profile, participant_id: int, now: datetime) -> int:
    participant = await _participant_in_reach(session, actor, participant_id, "revoke_invite", now=now)
    count = await revoke_open(session, participant.id, now)
    audit.record(
        session,
        actor_id=actor.user_id,
        action="invite_revoked",
        object_type="participant",
        object_id=participant.id,
        now=now,
    )
    await session.commit()
    return count


async def issue_for_role(
    session: AsyncSession, *, actor: Profile, role: Role, region_code: str | None, now: datetime, ttl_days: int
) -> str:
    """Staff invite team members to their own region; admins to any region, or to all (None)."""
    allowed = role in INVITABLE_ROLES and (
        actor.role == Role.ADMIN
        or (actor.role == Role.STAFF and actor.scope_region and region_code == actor.scope_region)
    )
    if region_code is not None and await session.get(Region, region_code) is None:
        allowed = False
    if not allowed:
        audit.record(
            session, actor_id=actor.user_id, action="denied", attempted="role_invite", role=role.value, now=now
        )
        await session.commit()
        raise NotAllowed("role_invite")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        Invitation(
            token_hash=hash_token(token),
            role=role.value,
            region_code=region_code,
            created_by=actor.user_id,
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )
    )
    audit.record(
        session, actor_id=actor.user_id, action="role_invite_issued", now=now, role=role.value, region=region_code
    )
    await session.commit()
    return token


async def redeem(
    session: AsyncSession, *, token: str, user_id: int, first_name: str | None, now: datetime
) -> JoinedCase | JoinedTeam:
    """Uses a link once. Opening her own link again is harmless (``again``); anything else that is
    not a live link raises ``InviteProblem`` and is audited."""
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        raise await _problem(session, user_id, None, "unknown", now)
    again = await _opened_before(session, token, user_id)
    if again is not None:
        return again
    if invitation.revoked_at is not None:
        raise await _problem(session, user_id, invitation.id, "revoked", now)
    if invitation.used_at is not None:
        raise await _problem(session, user_id, invitation.id, "used", now)
    if invitation.expires_at <= now:
        raise await _problem(session, user_id, invitation.id, "expired", now)
    # Single use enforced by the database: of two people opening one link at once, one wins.
    claimed = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(used_at=now, used_by=user_id)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        # Someone was quicker. If it was she herself (a double tap on the link), she is in.
        invitation_id = invitation.id
        await session.rollback()
        again = await _opened_before(session, token, user_id)
        if again is not None:
            return again
        raise await _problem(session, user_id, invitation_id, "used", now)
    user = await session.get(User, user_id) or (await users.ensure(session, user_id, now=now))[0]
    result: JoinedCase | JoinedTeam
    if invitation.participant_id is not None:
        result = await _join_case(session, invitation, user, now)
    else:
        result = _join_team(invitation, user, first_name)
    audit.record(
        session, actor_id=user_id, action="invite_redeemed", object_type="invitation", object_id=invitation.id, now=now
    )
    await session.commit()
    return result


async def _opened_before(session: AsyncSession, token: str, user_id: int) -> JoinedCase | None:
    """Her own case link that she has already opened: harmless to open again."""
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None or invitation.used_by != user_id or invitation.participant_id is None:
        return None
    participant = await session.get(Participant, invitation.participant_id)
    if participant is None or participant.user_id != user_id:
        return None
    joined = JoinedCase(participant.id, participant.case_id, participant.kind, again=True)
    await session.commit()
    return joined


async def _join_case(session: AsyncSession, invitation: Invitation, user: User, now: datetime) -> JoinedCase:
    participant = await session.get(Participant, invitation.participant_id)
    assert participant is not None
    if participant.user_id is not None and participant.user_id != user.id:
        raise await _problem(session, user.id, invitation.id, "used", now)
    already = await session.scalar(
        select(Participant.id).where(Participant.case_id == participant.case_id, Participant.user_id == user.id)
    )
    if already is not None and already != participant.id:
        # One Telegram account cannot be two people of one case.
        raise await _problem(session, user.id, invitation.id, "used", now)
    participant.user_id = user.id
    participant.joined_at = now
    if user.role is None:
        user.role = Role.WOMAN.value if participant.kind == ParticipantKind.WOMAN.value else Role.RELATIVE.value
    if user.region is None:
        case = await session.get(Case, participant.case_id)
        region = await session.get(Region, case.region_code) if case else None
        if region is not None:
            user.region, user.timezone = region.code, region.timezone
    return JoinedCase(participant.id, participant.case_id, participant.kind, again=False)


def _join_team(invitation: Invitation, user: User, first_name: str | None) -> JoinedTeam:
    assert invitation.role is not None  # no participant, so issue_for_role made it
    role = Role(invitation.role)
    if user.role == Role.ADMIN.value:  # an admin keeps her key
        role = Role.ADMIN
    else:
        user.role = role.value
        user.scope_region = invitation.region_code
    if not user.display_name and first_name:
        user.display_name = first_name[:64]
    return JoinedTeam(role, user.scope_region)


async def _problem(
    session: AsyncSession, user_id: int, invitation_id: int | None, reason: str, now: datetime
) -> InviteProblem:
    await session.rollback()
    audit.record(
        session,
        actor_id=user_id,
        action="invite_refused",
        object_type="invitation",
        object_id=invitation_id,
        now=now,
        reason=reason,
    )
    await session.commit()
    return InviteProblem(reason)
