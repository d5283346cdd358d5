"""bot/services/notices.py and the notices' renderers (issue 11): a decision and its notice commit
together or not at all; the notice carries ids only and is worded when it is sent, in the reader's
language of that moment; a notice whose subject is gone is dropped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiogram.utils.i18n import I18n
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import AppContext
from bot.jobs import notify
from bot.jobs.outgoing import Drop, Outgoing
from bot.jobs.renderers import notices as notice_handlers
from bot.services import agreements, meetings, notices, outbox, programme, reminders, users
from bot.services.cases import Refused
from bot.services.programme import NotNow
from db.models import AgreementAck, Case, ConsentEvent, ConsentPurpose, Decision, Reminder, Role
from tests.conftest import make_settings
from tests.factories import NOW, Ids
from tests.test_agreements import VERSION, items_of, team

_ids = Ids(1_530_000_000, __name__)
new_id = _ids.new

ROOT = Path(__file__).resolve().parent.parent


async def _notices_to(session: AsyncSession, recipient_id: int) -> list[Reminder]:
    rows = (
        await session.scalars(
            select(Reminder).where(Reminder.kind == notices.KIND, Reminder.recipient_id == recipient_id)
        )
    ).all()
    await session.commit()
    return list(rows)


def _payload(row: Reminder) -> dict[str, Any]:
    return row.payload or {}


async def _recorded(session: AsyncSession) -> tuple[SimpleNamespace, int]:
    t = await team(session)
    recorded = await agreements.record(
        session,
        actor=t.facilitator,
        case_id=t.case_id,
        items=items_of(t),
        valid_until=NOW.date() + timedelta(days=30),
        consequences=None,
        now=NOW,
        rules=agreements.Rules(),
    )
    return t, recorded.agreement_id


# ------------------------------------------------------------------ both or neither


async def test_a_confirmation_and_its_notice_commit_together(session) -> None:
    t, agreement_id = await _recorded(session)
    before = await _notices_to(session, t.facilitator.user_id)
    await agreements.acknowledge(
        session, user_id=t.woman, agreement_id=agreement_id, confirmed=True, comment=None, now=NOW
    )
    after = await _notices_to(session, t.facilitator.user_id)
    new = [r for r in after if r.id not in {b.id for b in before}]
    assert len(new) == 1
    row = new[0]
    assert row.payload is not None and _payload(row)["event"] == "agreement_confirmed"
    assert _payload(row)["agreement"] == agreement_id and _payload(row)["participant"] == t.pid
    assert row.due_at == NOW and row.case_id == t.case_id
    # ids and codes only: not her name, not a word of the agreement
    assert set(row.payload) == {"event", "agreement", "participant", "n"}
    assert "Анна" not in str(row.payload)
    assert await session.get(AgreementAck, (agreement_id, t.pid)) is not None


async def test_a_dispute_keeps_her_words_encrypted_in_the_row(session) -> None:
    t, agreement_id = await _recorded(session)
    await agreements.acknowledge(
        session,
        user_id=t.woman,
        agreement_id=agreement_id,
        confirmed=False,
        comment="Не так, обед по субботам",
        now=NOW,
    )
    rows = [
        r for r in await _notices_to(session, t.facilitator.user_id) if _payload(r)["event"] == "agreement_disputed"
    ]
    assert len(rows) == 1
    assert "обед" not in str(rows[0].payload)
    assert await reminders.text_of(session, rows[0].id) == "Не так, обед по субботам"
    await session.commit()


async def test_pressing_yes_again_tells_nobody_twice(session) -> None:
    """The inbox may handle her press again after a crash: the same answer is no new notice."""
    t, agreement_id = await _recorded(session)
    for _ in range(2):
        await agreements.acknowledge(
            session, user_id=t.woman, agreement_id=agreement_id, confirmed=True, comment=None, now=NOW
        )
    rows = await _notices_to(session, t.facilitator.user_id)
    assert sum(_payload(r)["event"] == "agreement_confirmed" for r in rows) == 1


async def test_a_refused_confirmation_leaves_neither(session) -> None:
    t, agreement_id = await _recorded(session)
    stranger = new_id()
    before = len(await _notices_to(session, t.facilitator.user_id))
    with pytest.raises(Refused):
        await agreements.acknowledge(
            session, user_id=stranger, agreement_id=agreement_id, confirmed=True, comment=None, now=NOW
        )
    await session.rollback()
    assert len(await _notices_to(session, t.facilitator.user_id)) == before
    acks = await session.scalar(
        select(func.count()).select_from(AgreementAck).where(AgreementAck.agreement_id == agreement_id)
    )
    assert acks == 0


async def test_a_decision_not_possible_now_leaves_neither(session) -> None:
    """Withdrawing what was never given: no consent row, no notice to the team."""
    t = await team(session, relative_agrees=False)
    team_ids = (t.facilitator.user_id, t.curator.user_id)
    before = {i: len(await _notices_to(session, i)) for i in team_ids}
    events = await session.scalar(
        select(func.count()).select_from(ConsentEvent).where(ConsentEvent.participant_id == t.rid)
    )
    with pytest.raises(NotNow):
        await programme.decide(
            session,
            user_id=t.relative,
            participant_id=t.rid,
            purpose=ConsentPurpose.PARTICIPATION,
            decision=Decision.WITHDRAW,
            version=VERSION,
            locale="ru",
            now=NOW,
        )
    assert {i: len(await _notices_to(session, i)) for i in team_ids} == before
    after = await session.scalar(
        select(func.count()).select_from(ConsentEvent).where(ConsentEvent.participant_id == t.rid)
    )
    assert after == events


async def test_a_rollback_after_queueing_drops_the_notice_too(session) -> None:
    """What a service queued belongs to its transaction: if that transaction does not commit, there is
    no notice (and no kick)."""
    t = await team(session, relative_agrees=False)
    kicks: list[int] = []
    session.sync_session.info[outbox.WAKE] = lambda: kicks.append(1)  # as the app's factory sets it
    before = len(await _notices_to(session, t.facilitator.user_id))
    await programme.decide(  # without the commit at its end: the same steps, then a failure
        session,
        user_id=t.relative,
        participant_id=t.rid,
        purpose=ConsentPurpose.DATA,
        decision=Decision.DECLINE,
        version=VERSION,
        locale="ru",
        now=NOW,
    )
    assert kicks == [1]  # committed with its notice: the sender is woken once
    assert len(await _notices_to(session, t.facilitator.user_id)) == before + 1
    await notices.queue(session, recipient_id=t.facilitator.user_id, event="consent", now=NOW, participant=t.rid)
    await session.rollback()
    assert kicks == [1]
    assert len(await _notices_to(session, t.facilitator.user_id)) == before + 1
    session.sync_session.info.pop(outbox.WAKE)


async def test_a_consent_decision_tells_the_team_in_its_transaction(session) -> None:
    """Her "yes" to taking part and the team's notice are one commit; her "yes" to keeping data
    alone tells nobody (the team hears of both with taking part)."""
    t = await team(session, relative_agrees=False)
    before = len(await _notices_to(session, t.facilitator.user_id))
    await programme.decide(
        session,
        user_id=t.relative,
        participant_id=t.rid,
        purpose=ConsentPurpose.DATA,
        decision=Decision.AGREE,
        version=VERSION,
        locale="ru",
        now=NOW,
    )
    assert len(await _notices_to(session, t.facilitator.user_id)) == before
    await programme.decide(
        session,
        user_id=t.relative,
        participant_id=t.rid,
        purpose=ConsentPurpose.PARTICIPATION,
        decision=Decision.AGREE,
        version=VERSION,
        locale="ru",
        now=NOW,
    )
    for member in (t.facilitator.user_id, t.curator.user_id):
        rows = [r for r in await _notices_to(session, member) if _payload(r).get("participant") == t.rid]
        assert [(_payload(r)["event"], _payload(r)["purpose"], _payload(r)["decision"]) for r in rows] == [
            ("consent", "participation", "agree")
        ]


def test_the_payload_takes_ids_and_codes_only() -> None:
    async def call() -> None:
        await notices.queue(None, recipient_id=1, event="x", now=NOW, name={"first": "Анна"})  # type: ignore[arg-type]

    import asyncio

    with pytest.raises(TypeError):
        asyncio.run(call())


# ------------------------------------------------------------------ worded when sent


def _context(session_factory: async_sessionmaker[AsyncSession]) -> AppContext:
    from bot.services.crisis import CrisisDetector

    settings = make_settings("http://127.0.0.1:1", "sqlite+aiosqlite://")
    return AppContext(settings=settings, crisis=CrisisDetector([]), db=session_factory, clock=lambda: NOW)


async def _render(session_factory, i18n: I18n, row: Reminder, locale: str) -> Outgoing | Drop:
    claimed = reminders.Claimed(
        row.id, row.kind, row.recipient_id, row.due_at, 1, row.meeting_id, row.case_id, row.payload
    )
    render = notify.notice_renderer(_context(session_factory), None, notice_handlers.events())  # type: ignore[arg-type]
    with i18n.context(), i18n.use_locale(locale):
        async with session_factory() as session:
            return await render(session, claimed, locale)


@pytest.fixture
def i18n() -> I18n:
    return I18n(path=ROOT / "content" / "locales", default_locale="en", domain="messages")


async def test_the_notice_is_worded_at_send_time_in_the_readers_language(session, session_factory, i18n) -> None:
    t, agreement_id = await _recorded(session)
    await agreements.acknowledge(
        session, user_id=t.woman, agreement_id=agreement_id, confirmed=True, comment=None, now=NOW
    )
    (row,) = [
        r for r in await _notices_to(session, t.facilitator.user_id) if _payload(r)["event"] == "agreement_confirmed"
    ]
    english = await _render(session_factory, i18n, row, "en")
    russian = await _render(session_factory, i18n, row, "ru")
    assert isinstance(english, Outgoing) and isinstance(russian, Outgoing)
    assert english.text == f"Case {t.case.code}: Анна confirmed the agreement."
    assert t.case.code in russian.text and "Анна" in russian.text and russian.text != english.text


async def test_a_notice_whose_case_is_gone_is_dropped(session, session_factory, i18n) -> None:
    t, agreement_id = await _recorded(session)
    await agreements.acknowledge(
        session, user_id=t.woman, agreement_id=agreement_id, confirmed=False, comment="нет", now=NOW
    )
    (row,) = [
        r for r in await _notices_to(session, t.facilitator.user_id) if _payload(r)["event"] == "agreement_disputed"
    ]
    claimed_row = SimpleNamespace(
        **{c: getattr(row, c) for c in ("id", "kind", "recipient_id", "due_at", "meeting_id", "payload")}
    )
    claimed_row.case_id = None  # as if the row outlived its case (the case's own rows go with it)
    await session.execute(delete(Case).where(Case.id == t.case_id))
    await session.commit()
    outcome = await _render(session_factory, i18n, claimed_row, "en")  # type: ignore[arg-type]
    assert outcome == Drop("gone")


async def test_every_event_a_service_queues_has_a_renderer() -> None:
    events = notice_handlers.events()
    files = [*(ROOT / "bot" / "services").rglob("*.py"), *(ROOT / "dialogs").rglob("*.py")]
    source = "".join(p.read_text() for p in files)
    import re

    queued = set(re.findall(r'event="([a-z_]+)"', source))
    assert {"other_time", "join_request", "conversation_closed", "goodbye"} <= queued  # the scan sees them
    queued |= {
        "consent",
        "consent_withdrawn",
        "meeting_booked",
        "meeting_moved",
        "agreement_confirmed",
        "agreement_disputed",
    }
    assert queued <= set(events), queued - set(events)


async def test_a_meeting_booked_tells_the_facilitator_in_its_transaction(session) -> None:
    """A slot taken by someone else first (Taken): no booking, no notice."""
    from bot.services.meetings import SlotDraft, Taken

    t = await team(session)
    zone = "Asia/Barnaul"
    draft = SlotDraft(
        case_id=t.case_id,
        kind="preliminary",
        day=(NOW + timedelta(days=3)).date(),
        at=(NOW + timedelta(hours=1)).time().replace(second=0, microsecond=0),
        duration_min=60,
        format="phone",
        place=None,
        for_participant_id=t.pid,
    )
    meeting_id, _ = await meetings.offer(session, actor=t.facilitator, draft=draft, timezone=zone, now=NOW)
    before = {r.id for r in await _notices_to(session, t.facilitator.user_id)}
    await meetings.book(session, user_id=t.woman, meeting_id=meeting_id, now=NOW, before=())
    new = [r for r in await _notices_to(session, t.facilitator.user_id) if r.id not in before]
    assert [(_payload(r)["event"], _payload(r)["meeting"], _payload(r)["participant"]) for r in new] == [
        ("meeting_booked", meeting_id, t.pid)
    ]
    with pytest.raises((Taken, Refused)):
        await meetings.book(session, user_id=t.relative, meeting_id=meeting_id, now=NOW, before=())
    assert len(await _notices_to(session, t.facilitator.user_id)) == len(before) + 1


async def test_her_language_is_read_when_the_notice_goes(session, session_factory, i18n) -> None:
    """The facilitator switches to Russian after the decision: the notice comes in Russian."""
    from aiogram.utils.i18n import gettext

    t, agreement_id = await _recorded(session)
    await users.set_locale(session, t.facilitator.user_id, "en")
    await session.commit()
    await agreements.acknowledge(
        session, user_id=t.woman, agreement_id=agreement_id, confirmed=True, comment=None, now=NOW
    )
    (row,) = [
        r for r in await _notices_to(session, t.facilitator.user_id) if _payload(r)["event"] == "agreement_confirmed"
    ]
    await users.set_locale(session, t.facilitator.user_id, "ru")
    await session.commit()
    locale = await notify.recipient_locale(session_factory, t.facilitator.user_id, "en")
    assert locale == "ru"
    outcome = await _render(session_factory, i18n, row, locale)
    with i18n.context(), i18n.use_locale("ru"):
        expected = gettext("Case {code}: {name} confirmed the agreement.").format(code=t.case.code, name="Анна")
    assert isinstance(outcome, Outgoing) and outcome.text == expected
    assert "confirmed the agreement" not in outcome.text


async def test_a_case_from_her_join_request_answers_it_in_one_transaction(session) -> None:
    """The case, the request's answer and her invitation (a notice whose token is encrypted, never in
    the payload) are one commit."""
    from bot.services import cases, join
    from db.models import JoinRequest
    from tests.factories import REGION_A, RULES, draft, ensure_regions

    await ensure_regions(session)
    staff = await _ids.person(session, Role.STAFF, scope=REGION_A)
    woman = new_id()
    request = await join.submit(
        session, user_id=woman, region_code=REGION_A, first_name="Вера", release="soon", note=None, now=NOW
    )
    told = [_payload(r) for r in await _notices_to(session, staff.user_id)]
    assert {"event": "join_request", "request": request.id} in [{k: v for k, v in p.items() if k != "n"} for p in told]
    registered = await cases.register(
        session, actor=staff, draft=draft(), rules=RULES, now=NOW, join_request_id=request.id
    )
    (invite,) = await _notices_to(session, woman)
    assert _payload(invite)["event"] == "join_invited" and registered.woman_token not in str(invite.payload)
    assert await reminders.text_of(session, invite.id) == registered.woman_token
    row = await session.get(JoinRequest, request.id)
    assert row is not None and row.state == "case" and row.case_id == registered.case_id
    await session.commit()


async def test_a_notice_queued_again_with_its_key_is_the_one_notice(session) -> None:
    """A reminder that met a 403 tells the facilitator before its row is closed; a crash between the
    two sends the row again, and the notice, queued with the same key, is not queued twice."""
    recipient = new_id()
    for _ in range(2):
        await notices.queue(
            session, recipient_id=recipient, event="reminder_unreachable", now=NOW, once="unreachable-7", meeting=7
        )
        await session.commit()
    assert len(await _notices_to(session, recipient)) == 1
    await notices.queue(session, recipient_id=recipient, event="reminder_unreachable", now=NOW, meeting=7)
    await session.commit()
    assert len(await _notices_to(session, recipient)) == 2  # without a key, two notices are two
