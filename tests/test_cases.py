"""bot/services/cases.py: registration, who sees which case, stages, deadlines, relatives, digests."""

import hashlib
import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import cases, invitations, users
from bot.services.cases import registration
from db.models import Approval, Case, Invitation, Participant, ParticipantKind, Role, StageMove
from tests.factories import (
    NOW,
    REGION_A,
    REGION_B,
    RULES,
    ZONE_A,
    Ids,
    audit_rows,
    draft,
    ensure_regions,
    register,
)

_ids = Ids(610_000_000, __name__)
new_id, person = _ids.new, _ids.person


class World(SimpleNamespace):
    pass


async def world(session: AsyncSession) -> World:
    """Two regions, their staff, an admin, a curator and a facilitator of case X (region A), case Y (B)."""
    await ensure_regions(session)
    w = World()
    w.staff_a = await person(session, Role.STAFF, scope=REGION_A)
    w.staff_b = await person(session, Role.STAFF, scope=REGION_B)
    w.admin = await person(session, Role.ADMIN)
    w.curator = await person(session, Role.CURATOR, name="Ольга")
    w.facilitator = await person(session, Role.FACILITATOR, name="Ирина")
    w.other_curator = await person(session, Role.CURATOR)
    w.other_facilitator = await person(session, Role.FACILITATOR)
    w.x = await register(session, w.staff_a, curator_id=w.curator.user_id, facilitator_id=w.facilitator.user_id)
    w.y = await register(session, w.admin, region_code=REGION_B)
    return w


# ---------------------------------------------------------------- registration


async def test_staff_registers_a_case_in_her_region(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await cases.register(
        session, actor=staff, draft=draft(first_name="  Анна   Мария "), rules=RULES, now=NOW
    )
    assert len(registered.code) == cases.CODE_LENGTH == 8
    assert set(registered.code) <= set(cases.CODE_ALPHABET)

    session.expire_all()
    case = await session.get(Case, registered.case_id)
    assert case is not None
    assert case.code == registered.code
    assert case.first_name == "Анна Мария"
    assert (case.region_code, case.stage, case.created_by) == (REGION_A, 1, staff.user_id)
    assert case.stage_since == NOW and case.created_at == NOW and case.programme_started is None

    woman = await session.get(Participant, registered.woman_participant_id)
    assert woman is not None
    assert (woman.case_id, woman.kind, woman.approval) == (case.id, ParticipantKind.WOMAN.value, "approved")
    assert woman.first_name == "Анна Мария" and woman.user_id is None

    raw = (await session.execute(text("SELECT first_name FROM cases WHERE id = :id"), {"id": case.id})).scalar_one()
    assert "Анна" not in raw
    await session.commit()

    created = await audit_rows(session, staff.user_id, "case_created")
    assert [e.object_id for e in created] == [str(case.id)]


async def test_registration_stores_only_the_hash_of_the_token(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await cases.register(session, actor=staff, draft=draft(), rules=RULES, now=NOW)
    token = registered.woman_token
    assert len(token) >= 32

    rows = (
        await session.scalars(select(Invitation).where(Invitation.participant_id == registered.woman_participant_id))
    ).all()
    assert len(rows) == 1
    invitation = rows[0]
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.created_by == staff.user_id
    assert invitation.expires_at == NOW + timedelta(days=RULES.invite_ttl_days)
    assert invitation.used_at is None and invitation.revoked_at is None and invitation.role is None

    raw = (await session.execute(text("SELECT * FROM invitations WHERE id = :id"), {"id": invitation.id})).one()
    assert all(token not in str(value) for value in raw)
    await session.commit()


async def test_admin_registers_anywhere(session: AsyncSession) -> None:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    for region in (REGION_A, REGION_B):
        registered = await cases.register(session, actor=admin, draft=draft(region_code=region), rules=RULES, now=NOW)
        case = await session.get(Case, registered.case_id)
        assert case is not None and case.region_code == region


@pytest.mark.parametrize(
    ("role", "scope"),
    [(Role.STAFF, REGION_B), (Role.STAFF, None), (Role.CURATOR, REGION_A), (Role.FACILITATOR, None), (None, None)],
)
async def test_others_may_not_register(session: AsyncSession, role: Role | None, scope: str | None) -> None:
    await ensure_regions(session)
    actor = await person(session, role, scope=scope)
    with pytest.raises(cases.Refused):
        await cases.register(session, actor=actor, draft=draft(), rules=RULES, now=NOW)
    denied = await audit_rows(session, actor.user_id, "denied")
    assert len(denied) == 1
    assert denied[0].object_type == "case" and denied[0].details == {"attempted": "register_case"}
    made = await session.scalar(select(func.count()).select_from(Case).where(Case.created_by == actor.user_id))
    assert made == 0
    await session.commit()


@pytest.mark.parametrize("name", ["Анна1", "", "   ", "А" * 41, "!!!", "-"])
async def test_bad_first_name(session: AsyncSession, name: str) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    with pytest.raises(cases.Invalid) as caught:
        await cases.register(session, actor=staff, draft=draft(first_name=name), rules=RULES, now=NOW)
    assert caught.value.field == "first_name"
    made = await session.scalar(select(func.count()).select_from(Case).where(Case.created_by == staff.user_id))
    assert made == 0
    await session.commit()


@pytest.mark.parametrize("name", ["А" * 40, "Анна-Мария", "D'Arcy", "Ольга Петровна"])
async def test_good_first_names(session: AsyncSession, name: str) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    registered = await cases.register(session, actor=staff, draft=draft(first_name=name), rules=RULES, now=NOW)
    case = await session.get(Case, registered.case_id)
    assert case is not None and case.first_name == name


async def test_curator_and_facilitator_must_have_their_roles(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    not_a_curator = await person(session, Role.FACILITATOR)
    curator = await person(session, Role.CURATOR)
    for bad in (not_a_curator.user_id, staff.user_id, new_id()):
        with pytest.raises(cases.Invalid) as caught:
            await cases.register(session, actor=staff, draft=draft(curator_id=bad), rules=RULES, now=NOW)
        assert caught.value.field == "curator"
        await session.rollback()
    with pytest.raises(cases.Invalid) as caught:
        await cases.register(session, actor=staff, draft=draft(facilitator_id=curator.user_id), rules=RULES, now=NOW)
    assert caught.value.field == "facilitator"
    await session.rollback()
    made = await session.scalar(select(func.count()).select_from(Case).where(Case.created_by == staff.user_id))
    assert made == 0
    await session.commit()


async def test_unknown_region_and_programme_type(session: AsyncSession) -> None:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    with pytest.raises(cases.Invalid) as caught:
        await cases.register(session, actor=admin, draft=draft(region_code="atlantis"), rules=RULES, now=NOW)
    assert caught.value.field == "region"
    await session.rollback()
    with pytest.raises(cases.Invalid) as caught:
        await cases.register(session, actor=admin, draft=draft(programme_type="trial"), rules=RULES, now=NOW)
    assert caught.value.field == "programme_type"
    await session.rollback()


async def test_invalid_input_ends_the_transaction(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    facilitator = await person(session, Role.FACILITATOR)
    assert not session.in_transaction()
    with pytest.raises(cases.Invalid):
        await cases.register(session, actor=staff, draft=draft(curator_id=facilitator.user_id), rules=RULES, now=NOW)
    # docs/DEVELOPING.md: a service ends its transaction (commit, or rollback before raising).
    assert not session.in_transaction()


@pytest.mark.parametrize(
    "call",
    [
        "find_code",
        "team",
        "move_stage_invalid",
        "propose_relative_invalid",
        "open_case",
        "list_cases",
        "stage_history",
        "claim_digest",
    ],
)
async def test_services_end_their_transaction(session: AsyncSession, call: str) -> None:
    w = await world(session)
    await session.commit()
    assert not session.in_transaction()
    if call == "find_code":
        await cases.find_code(session, actor=w.curator, code=w.x.code, now=NOW)
    elif call == "team":
        await cases.team(session, role=Role.CURATOR, region_code=REGION_A)
    elif call == "move_stage_invalid":
        with pytest.raises(cases.Invalid):
            await cases.move_stage(session, actor=w.facilitator, case_id=w.x.case_id, to_stage=2, reason=" ", now=NOW)
    elif call == "propose_relative_invalid":
        with pytest.raises(cases.Invalid):
            await cases.propose_relative(
                session, actor=w.curator, case_id=w.x.case_id, first_name="Мария", relation="cousin", now=NOW
            )
    elif call == "open_case":
        await cases.open_case(session, actor=w.curator, case_id=w.x.case_id, rules=RULES, now=NOW)
    elif call == "list_cases":
        await cases.list_cases(session, actor=w.curator, rules=RULES, now=NOW)
    elif call == "stage_history":
        await cases.stage_history(session, actor=w.curator, case_id=w.x.case_id, now=NOW)
    else:
        await cases.claim_digest(session, kind="t", user_id=w.curator.user_id, day=NOW.date(), now=NOW)
    assert not session.in_transaction()


async def test_codes_are_unique(session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    await ensure_regions(session)
    admin = await person(session, Role.ADMIN)
    first = await cases.register(session, actor=admin, draft=draft(), rules=RULES, now=NOW)
    # The generator first draws the code already taken, then a new one: the taken one must be skipped.
    taken = set((await session.scalars(select(Case.code))).all())
    fresh = next(code for code in ("".join(p) for p in itertools.product("ABCD", repeat=8)) if code not in taken)
    await session.commit()
    chars = iter(first.code + fresh)
    monkeypatch.setattr(registration, "secrets", SimpleNamespace(choice=lambda _alphabet: next(chars)))
    second = await cases.register(session, actor=admin, draft=draft(), rules=RULES, now=NOW)
    assert second.code == fresh != first.code
    monkeypatch.undo()
    codes = {first.code, second.code}
    for _ in range(5):
        codes.add((await cases.register(session, actor=admin, draft=draft(), rules=RULES, now=NOW)).code)
    assert len(codes) == 7
    assert all(len(c) == 8 and set(c) <= set(cases.CODE_ALPHABET) for c in codes)


async def test_team_lists_people_of_a_role_for_a_region(session: AsyncSession) -> None:
    await ensure_regions(session)
    everywhere = await person(session, Role.CURATOR, name="Везде")
    here = await person(session, Role.CURATOR, scope=REGION_A)
    there = await person(session, Role.CURATOR, scope=REGION_B)
    facilitator = await person(session, Role.FACILITATOR, scope=REGION_A)
    listed = await cases.team(session, role=Role.CURATOR, region_code=REGION_A)
    ids = {m.user_id: m.name for m in listed}
    await session.commit()
    assert ids[everywhere.user_id] == "Везде"
    assert ids[here.user_id] == str(here.user_id)
    assert there.user_id not in ids and facilitator.user_id not in ids


# ---------------------------------------------------------------- access


async def test_list_cases_by_role(session: AsyncSession) -> None:
    w = await world(session)
    x, y = w.x.case_id, w.y.case_id

    def ids(lines: list[cases.CaseLine]) -> list[int]:
        return [line.id for line in lines]

    admin_sees = await cases.list_cases(session, actor=w.admin, rules=RULES, now=NOW)
    assert {x, y} <= set(ids(admin_sees))
    assert ids(admin_sees) == sorted(ids(admin_sees), reverse=True)  # newest first

    staff_a = await cases.list_cases(session, actor=w.staff_a, rules=RULES, now=NOW)
    assert x in ids(staff_a) and y not in ids(staff_a)
    assert {line.region_code for line in staff_a} == {REGION_A}
    staff_b = await cases.list_cases(session, actor=w.staff_b, rules=RULES, now=NOW)
    assert y in ids(staff_b) and x not in ids(staff_b)
    assert {line.region_code for line in staff_b} == {REGION_B}

    assert ids(await cases.list_cases(session, actor=w.curator, rules=RULES, now=NOW)) == [x]
    assert ids(await cases.list_cases(session, actor=w.facilitator, rules=RULES, now=NOW)) == [x]
    assert ids(await cases.list_cases(session, actor=w.other_curator, rules=RULES, now=NOW)) == []
    assert ids(await cases.list_cases(session, actor=w.other_facilitator, rules=RULES, now=NOW)) == []

    for role in (Role.WOMAN, Role.RELATIVE, None):
        outsider = await person(session, role)
        assert await cases.list_cases(session, actor=outsider, rules=RULES, now=NOW) == []
    unscoped_staff = await person(session, Role.STAFF)
    assert await cases.list_cases(session, actor=unscoped_staff, rules=RULES, now=NOW) == []

    listed = await audit_rows(session, w.curator.user_id, "cases_listed")
    assert [e.details for e in listed] == [{"count": 1}]


async def test_list_line_has_the_deadline(session: AsyncSession) -> None:
    w = await world(session)
    [line] = await cases.list_cases(session, actor=w.curator, rules=RULES, now=NOW)
    assert (line.code, line.first_name, line.stage) == (w.x.code, "Анна", 1)
    assert line.deadline == cases.Deadline("handoff", date(2026, 11, 24), False, 0)
    later = NOW + timedelta(days=6)  # Thursday 26 November: two working days past Tuesday
    assert await cases.list_cases(session, actor=w.curator, rules=RULES, now=NOW, only_overdue=True) == []
    [late] = await cases.list_cases(session, actor=w.curator, rules=RULES, now=later, only_overdue=True)
    assert late.id == w.x.case_id
    assert late.deadline == cases.Deadline("handoff", date(2026, 11, 24), True, 2)
    assert [e.details for e in await audit_rows(session, w.curator.user_id, "overdue_listed")] == [
        {"count": 0},
        {"count": 1},
    ]


async def test_open_case_by_role(session: AsyncSession) -> None:
    w = await world(session)
    x, y = w.x.case_id, w.y.case_id
    allowed = [(w.admin, x), (w.admin, y), (w.staff_a, x), (w.staff_b, y), (w.curator, x), (w.facilitator, x)]
    for actor, case_id in allowed:
        view = await cases.open_case(session, actor=actor, case_id=case_id, rules=RULES, now=NOW)
        assert view.id == case_id
        viewed = await audit_rows(session, actor.user_id, "case_viewed")
        assert viewed[-1].object_id == str(case_id) and viewed[-1].object_type == "case"

    woman = await person(session, Role.WOMAN)
    relative = await person(session, Role.RELATIVE)
    refused = [
        (w.staff_a, y),
        (w.staff_b, x),
        (w.curator, y),
        (w.other_curator, x),
        (w.other_facilitator, x),
        (woman, x),
        (relative, x),
        (w.admin, 2_000_000_000),
    ]
    for actor, case_id in refused:
        with pytest.raises(cases.Refused):
            await cases.open_case(session, actor=actor, case_id=case_id, rules=RULES, now=NOW)
        denied = await audit_rows(session, actor.user_id, "denied")
        assert denied[-1].object_id == str(case_id)
        assert denied[-1].details == {"attempted": "view_case"}
    for outsider in (woman, relative, w.other_curator):
        assert await audit_rows(session, outsider.user_id, "case_viewed") == []


async def test_case_card(session: AsyncSession) -> None:
    w = await world(session)
    view = await cases.open_case(session, actor=w.curator, case_id=w.x.case_id, rules=RULES, now=NOW)
    assert (view.code, view.first_name, view.region_code, view.stage) == (w.x.code, "Анна", REGION_A, 1)
    assert (view.curator_id, view.curator_name) == (w.curator.user_id, "Ольга")
    assert (view.facilitator_id, view.facilitator_name) == (w.facilitator.user_id, "Ирина")
    assert view.deadline == cases.Deadline("handoff", date(2026, 11, 24), False, 0)
    assert view.can_move_stage is False
    [woman] = view.participants
    assert (woman.id, woman.kind, woman.first_name) == (w.x.woman_participant_id, "woman", "Анна")
    assert (woman.approval, woman.joined, woman.link_open) == ("approved", False, True)
    assert woman.data_consent is None and woman.participation_consent is None

    facilitator_view = await cases.open_case(session, actor=w.facilitator, case_id=w.x.case_id, rules=RULES, now=NOW)
    assert facilitator_view.can_move_stage is True
    # After the link expires it is no longer open.
    expired = NOW + timedelta(days=RULES.invite_ttl_days, seconds=1)
    late_view = await cases.open_case(session, actor=w.staff_a, case_id=w.x.case_id, rules=RULES, now=expired)
    assert late_view.participants[0].link_open is False


async def test_find_code(session: AsyncSession) -> None:
    w = await world(session)
    messy = "-".join([w.x.code[:4].lower(), w.x.code[4:]])
    assert await cases.find_code(session, actor=w.curator, code=messy, now=NOW) == w.x.case_id
    with pytest.raises(cases.Refused):
        await cases.find_code(session, actor=w.curator, code=w.y.code, now=NOW)
    with pytest.raises(cases.Refused):
        await cases.find_code(session, actor=w.admin, code="ZZZZZZZZZ", now=NOW)
    assert [e.details for e in await audit_rows(session, w.curator.user_id, "denied")] == [{"attempted": "find_case"}]


# ---------------------------------------------------------------- stages


async def test_move_stage(session: AsyncSession) -> None:
    w = await world(session)
    x = w.x.case_id
    t1 = NOW + timedelta(days=3)
    left = await cases.move_stage(
        session, actor=w.facilitator, case_id=x, to_stage=2, reason="  Передано ведущему  ", now=t1
    )
    assert left == 1
    session.expire_all()
    case = await session.get(Case, x)
    assert case is not None
    assert (case.stage, case.stage_since, case.programme_started) == (2, t1, t1)

    [move] = (await session.scalars(select(StageMove).where(StageMove.case_id == x))).all()
    assert (move.from_stage, move.to_stage, move.actor_id, move.at) == (1, 2, w.facilitator.user_id, t1)
    assert move.reason == "Передано ведущему"
    raw = await session.scalar(text("SELECT reason FROM stage_moves WHERE id = :id"), {"id": move.id})
    assert raw and "Передано" not in raw and raw != move.reason
    await session.commit()

    moved = await audit_rows(session, w.facilitator.user_id, "stage_moved")
    assert [(e.object_id, e.details) for e in moved] == [(str(x), {"from_stage": 1, "to_stage": 2})]

    # Staff of the region may move too; the programme keeps the date it first started.
    t2 = t1 + timedelta(days=10)
    assert await cases.move_stage(session, actor=w.staff_a, case_id=x, to_stage=3, reason="Встреча", now=t2) == 2
    assert await cases.move_stage(session, actor=w.admin, case_id=x, to_stage=1, reason="Назад", now=t2) == 3
    t3 = t2 + timedelta(days=1)
    await cases.move_stage(session, actor=w.facilitator, case_id=x, to_stage=2, reason="Снова", now=t3)
    session.expire_all()
    case = await session.get(Case, x)
    assert case is not None and (case.stage, case.stage_since, case.programme_started) == (2, t3, t1)

    history = await cases.stage_history(session, actor=w.curator, case_id=x, now=NOW)
    assert [(m.from_stage, m.to_stage) for m in history] == [(1, 2), (2, 3), (3, 1), (1, 2)]


async def test_move_stage_refused(session: AsyncSession) -> None:
    w = await world(session)
    x = w.x.case_id
    woman = await person(session, Role.WOMAN)
    for actor in (w.curator, w.staff_b, w.other_facilitator, woman):
        with pytest.raises(cases.Refused):
            await cases.move_stage(session, actor=actor, case_id=x, to_stage=2, reason="Хочу", now=NOW)
        denied = await audit_rows(session, actor.user_id, "denied")
        assert [(e.object_id, e.details) for e in denied] == [(str(x), {"attempted": "move_stage"})]
    session.expire_all()
    case = await session.get(Case, x)
    assert case is not None and case.stage == 1 and case.programme_started is None
    assert await session.scalar(select(func.count()).select_from(StageMove).where(StageMove.case_id == x)) == 0
    await session.commit()


@pytest.mark.parametrize(
    ("to_stage", "reason", "field"),
    [(2, "", "reason"), (2, "   ", "reason"), (2, "x" * 501, "reason"), (1, "Та же", "stage"), (6, "Нет", "stage")],
)
async def test_move_stage_invalid(session: AsyncSession, to_stage: int, reason: str, field: str) -> None:
    w = await world(session)
    with pytest.raises(cases.Invalid) as caught:
        await cases.move_stage(
            session, actor=w.facilitator, case_id=w.x.case_id, to_stage=to_stage, reason=reason, now=NOW
        )
    assert caught.value.field == field
    await session.rollback()
    session.expire_all()
    case = await session.get(Case, w.x.case_id)
    assert case is not None and case.stage == 1
    await session.commit()


async def test_reason_of_500_characters_is_accepted(session: AsyncSession) -> None:
    w = await world(session)
    await cases.move_stage(session, actor=w.facilitator, case_id=w.x.case_id, to_stage=2, reason="я" * 500, now=NOW)
    move = await session.scalar(select(StageMove).where(StageMove.case_id == w.x.case_id))
    assert move is not None and move.reason == "я" * 500
    await session.commit()


# ---------------------------------------------------------------- deadlines


def a_case(**overrides: object) -> Case:
    values: dict[str, object] = {
        "stage": 1,
        "parole": True,
        "release_date": date(2027, 3, 1),
        "created_at": NOW,
        "stage_since": NOW,
        "programme_started": None,
        "closed_at": None,
    }
    values.update(overrides)
    return Case(**values)


def test_handoff_for_parole_counts_from_registration() -> None:
    deadline = cases.deadline_of(a_case(), rules=RULES, today=date(2026, 11, 20), timezone=ZONE_A)
    assert deadline == cases.Deadline("handoff", date(2026, 11, 24), False, 0)  # Friday + 2 = Tuesday


def test_handoff_without_parole_counts_from_release() -> None:
    case = a_case(parole=False)  # released Monday 1 March 2027
    deadline = cases.deadline_of(case, rules=RULES, today=date(2026, 11, 30), timezone=ZONE_A)
    assert deadline == cases.Deadline("handoff", date(2027, 3, 3), False, 0)
    # Released before registration: registration counts.
    earlier = a_case(parole=False, release_date=date(2026, 10, 1))
    deadline = cases.deadline_of(earlier, rules=RULES, today=date(2026, 11, 20), timezone=ZONE_A)
    assert deadline == cases.Deadline("handoff", date(2026, 11, 24), False, 0)


def test_handoff_uses_the_local_date() -> None:
    # 20:00 UTC on Thursday is 03:00 on Friday in Barnaul.
    case = a_case(created_at=datetime(2026, 11, 19, 20, 0, tzinfo=UTC))
    local = cases.deadline_of(case, rules=RULES, today=date(2026, 11, 20), timezone=ZONE_A)
    assert local is not None and local.due == date(2026, 11, 24)
    utc = cases.deadline_of(case, rules=RULES, today=date(2026, 11, 20), timezone="UTC")
    assert utc is not None and utc.due == date(2026, 11, 23)


def test_handoff_across_a_public_holiday_and_overdue() -> None:
    case = a_case(created_at=datetime(2026, 11, 3, 5, 0, tzinfo=UTC))  # Tuesday; Wednesday 4th is Unity Day
    on_time = cases.deadline_of(case, rules=RULES, today=date(2026, 11, 6), timezone=ZONE_A)
    assert on_time == cases.Deadline("handoff", date(2026, 11, 6), False, 0)
    late = cases.deadline_of(case, rules=RULES, today=date(2026, 11, 10), timezone=ZONE_A)
    assert late == cases.Deadline("handoff", date(2026, 11, 6), True, 2)  # Monday 9th and Tuesday 10th


def test_programme_deadline_for_stages_two_and_three() -> None:
    started = NOW  # Friday 20 November 2026; 30 working days cross the New Year holidays
    for stage in (2, 3):
        case = a_case(stage=stage, programme_started=started, stage_since=started + timedelta(days=12))
        deadline = cases.deadline_of(case, rules=RULES, today=date(2026, 12, 1), timezone=ZONE_A)
        assert deadline == cases.Deadline("programme", date(2027, 1, 12), False, 0)
    late = cases.deadline_of(
        a_case(stage=3, programme_started=started), rules=RULES, today=date(2027, 1, 15), timezone=ZONE_A
    )
    assert late == cases.Deadline("programme", date(2027, 1, 12), True, 3)
    no_start = cases.deadline_of(
        a_case(stage=2, programme_started=None), rules=RULES, today=NOW.date(), timezone=ZONE_A
    )
    assert no_start is not None and no_start.due == date(2027, 1, 12)  # falls back to stage_since
    shorter = cases.deadline_of(
        a_case(stage=2, programme_started=started),
        rules=replace(RULES, programme_max=2),
        today=NOW.date(),
        timezone=ZONE_A,
    )
    assert shorter is not None and shorter.due == date(2026, 11, 24)


def test_report_deadline_for_stage_four() -> None:
    case = a_case(stage=4, stage_since=NOW, programme_started=NOW - timedelta(days=40))
    assert cases.deadline_of(case, rules=RULES, today=date(2026, 11, 23), timezone=ZONE_A) == cases.Deadline(
        "report", date(2026, 11, 23), False, 0
    )
    assert cases.deadline_of(case, rules=RULES, today=date(2026, 11, 25), timezone=ZONE_A) == cases.Deadline(
        "report", date(2026, 11, 23), True, 2
    )
    # Past due only by a weekend: no working day lost yet, so not late; on Monday it is.
    friday_meeting = a_case(stage=4, stage_since=datetime(2026, 11, 26, 5, tzinfo=UTC))
    weekend = cases.deadline_of(friday_meeting, rules=RULES, today=date(2026, 11, 28), timezone=ZONE_A)
    assert weekend == cases.Deadline("report", date(2026, 11, 27), False, 0)
    monday = cases.deadline_of(friday_meeting, rules=RULES, today=date(2026, 11, 30), timezone=ZONE_A)
    assert monday == cases.Deadline("report", date(2026, 11, 27), True, 1)


def test_no_deadline_at_stage_five_or_when_closed_and_reported() -> None:
    assert cases.deadline_of(a_case(stage=5), rules=RULES, today=NOW.date(), timezone=ZONE_A) is None
    closed = a_case(closed_at=NOW)
    assert cases.deadline_of(closed, rules=RULES, today=NOW.date(), timezone=ZONE_A, reported=True) is None
    # Closed, no report yet: due one working day after the closing (Friday → Monday).
    due = cases.deadline_of(closed, rules=RULES, today=NOW.date(), timezone=ZONE_A)
    assert due == cases.Deadline("report", date(2026, 11, 23), False, 0)


def test_programme_window() -> None:
    assert cases.programme_window(a_case(stage=2), rules=RULES, timezone=ZONE_A) is None
    window = cases.programme_window(a_case(stage=2, programme_started=NOW), rules=RULES, timezone=ZONE_A)
    assert window == (date(2026, 12, 4), date(2027, 1, 12))


# ---------------------------------------------------------------- relatives and digests


async def test_propose_relative(session: AsyncSession) -> None:
    w = await world(session)
    x = w.x.case_id
    proposal = await cases.propose_relative(
        session, actor=w.curator, case_id=x, first_name=" Мария ", relation="mother", now=NOW
    )
    assert proposal.woman_user_id is None
    session.expire_all()
    relative = await session.get(Participant, proposal.participant_id)
    assert relative is not None
    assert (relative.case_id, relative.kind, relative.first_name) == (x, "relative", "Мария")
    assert (relative.relation, relative.approval, relative.proposed_by) == ("mother", "pending", w.curator.user_id)
    assert relative.user_id is None
    links = await session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.participant_id == relative.id)
    )
    assert links == 0  # nobody is invited before the woman agrees
    await session.commit()
    proposed = await audit_rows(session, w.curator.user_id, "relative_proposed")
    assert [e.object_id for e in proposed] == [str(relative.id)]

    woman_id = new_id()
    await invitations.redeem(session, token=w.x.woman_token, user_id=woman_id, first_name="Анна", now=NOW)
    second = await cases.propose_relative(
        session, actor=w.staff_a, case_id=x, first_name="Пётр", relation="partner", now=NOW
    )
    assert second.woman_user_id == woman_id
    assert second.participant_id != proposal.participant_id


async def test_propose_relative_refused_and_invalid(session: AsyncSession) -> None:
    w = await world(session)
    with pytest.raises(cases.Refused):
        await cases.propose_relative(
            session, actor=w.staff_b, case_id=w.x.case_id, first_name="Мария", relation="mother", now=NOW
        )
    assert [e.details for e in await audit_rows(session, w.staff_b.user_id, "denied")] == [
        {"attempted": "propose_relative"}
    ]
    with pytest.raises(cases.Invalid) as caught:
        await cases.propose_relative(
            session, actor=w.curator, case_id=w.x.case_id, first_name="Мария", relation="neighbour", now=NOW
        )
    assert caught.value.field == "relation"
    await session.rollback()
    with pytest.raises(cases.Invalid) as caught:
        await cases.propose_relative(
            session, actor=w.curator, case_id=w.x.case_id, first_name="M4ria", relation="mother", now=NOW
        )
    assert caught.value.field == "first_name"
    await session.rollback()
    relatives = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(Participant.case_id == w.x.case_id, Participant.kind == ParticipantKind.RELATIVE.value)
    )
    assert relatives == 0
    await session.commit()


async def test_claim_digest_once_per_kind_person_and_day(session: AsyncSession) -> None:
    uid = new_id()
    day = date(2026, 11, 20)
    assert await cases.claim_digest(session, kind="overdue", user_id=uid, day=day, now=NOW) is True
    assert await cases.claim_digest(session, kind="overdue", user_id=uid, day=day, now=NOW) is False
    assert (
        await cases.claim_digest(session, kind="overdue", user_id=uid, day=day, now=NOW + timedelta(hours=1)) is False
    )
    assert await cases.claim_digest(session, kind="overdue", user_id=uid, day=day + timedelta(days=1), now=NOW) is True
    assert await cases.claim_digest(session, kind="weekly", user_id=uid, day=day, now=NOW) is True
    assert await cases.claim_digest(session, kind="overdue", user_id=uid + 1, day=day, now=NOW) is True


async def test_digest_recipients_are_staff_and_admins_who_have_not_blocked(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    admin = await person(session, Role.ADMIN)
    curator = await person(session, Role.CURATOR)
    blocked = await person(session, Role.STAFF, scope=REGION_A)
    await users.set_blocked(session, blocked.user_id, True, now=NOW)
    found = {p.user_id for p in await cases.digest_recipients(session)}
    assert staff.user_id in found and admin.user_id in found
    assert curator.user_id not in found and blocked.user_id not in found


async def test_woman_participant_row_is_approved_by_definition(session: AsyncSession) -> None:
    w = await world(session)
    rows = (await session.scalars(select(Participant).where(Participant.case_id == w.y.case_id))).all()
    await session.commit()
    assert [(p.kind, p.approval) for p in rows] == [(ParticipantKind.WOMAN.value, Approval.APPROVED.value)]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("31.12.2026", date(2026, 12, 31)),
        ("1.2.27", date(2027, 2, 1)),
        ("31/12/2026", date(2026, 12, 31)),
        ("2026-12-31", date(2026, 12, 31)),
        (" 05.01.2026 ", date(2026, 1, 5)),
    ],
)
def test_parse_day(typed: str, expected: date) -> None:
    assert cases.parse_day(typed, today=date(2026, 11, 26)) == expected


@pytest.mark.parametrize("typed", ["", None, "завтра", "31.02.2026", "12.2026", "1.1.1990", "31.12.2026.1"])
def test_parse_day_refuses(typed: str | None) -> None:
    with pytest.raises(cases.Invalid) as caught:
        cases.parse_day(typed, today=date(2026, 11, 26))
    assert caught.value.field == "date"


async def test_the_appointed_team_works_in_the_case_region(session: AsyncSession) -> None:
    await ensure_regions(session)
    staff = await person(session, Role.STAFF, scope=REGION_A)
    elsewhere = await person(session, Role.CURATOR, scope=REGION_B)
    with pytest.raises(cases.Invalid) as caught:
        await cases.register(session, actor=staff, draft=draft(curator_id=elsewhere.user_id), rules=RULES, now=NOW)
    assert caught.value.field == "curator"
    assert not session.in_transaction()
