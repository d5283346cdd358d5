"""A decision and its notice: both or neither (issue 11). The real bot process is killed (SIGKILL)
while her withdrawal is being written; after the restart her team is told exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from db.engine import create_engine
from db.models import ConsentEvent, Participant, Reminder
from tests.e2e.people import agrees, register_case, team_member
from tests.e2e.test_process import _spawn, _until

ENV: dict[str, Any] = {"INBOX_LEASE_SECONDS": "2", "REMINDER_POLL_SECONDS": "1", "REMINDER_LEASE_SECONDS": "30"}


async def _stop(proc: Any) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def _poll(check: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@pytest.mark.both_backends
async def test_kill_9_while_her_withdrawal_is_written_her_team_is_told_once(
    fake, backend, database_url, session, tmp_path
) -> None:
    proc = await _spawn(fake, database_url, tmp_path, **ENV)
    watcher = create_engine(database_url)
    try:
        await _until(lambda: fake.polling, timeout=60)
        staff = await team_member(fake, session, "staff", name="Светлана")
        curator = await team_member(fake, session, "curator", name="Ирина")
        facilitator = await team_member(fake, session, "facilitator", name="Павел")
        code, payload = await register_case(staff, curator=curator.first_name, facilitator=facilitator.first_name)
        woman = fake.user(first_name="Anna", language_code="en")
        await agrees(woman, payload)
        await facilitator.expect(f"Case {code}")
        await woman.press("My programme")
        await woman.expect("My programme", predicate=lambda m: m.has_button("Withdraw from the programme"))
        await woman.press("Withdraw from the programme")
        await woman.expect("Withdraw from the programme?", predicate=lambda m: m.has_button("Yes, withdraw"))
        session.expire_all()
        participant = await session.scalar(select(Participant.id).where(Participant.user_id == woman.id))
        await session.commit()

        async def withdrawals() -> int:
            async with watcher.connect() as conn:
                return int(
                    await conn.scalar(  # type: ignore[arg-type]  # a count is never NULL
                        select(func.count())
                        .select_from(ConsentEvent)
                        .where(ConsentEvent.participant_id == participant, ConsentEvent.decision == "withdraw")
                    )
                )

        if backend == "postgresql":
            # The notices' table is locked: the bot is stopped in the middle of writing her decision.
            # Her withdrawal and the team's notice are one transaction, so neither is there when the
            # process dies (were the notice written after the decision's commit, the decision would
            # be, and the replayed press would find nothing left to withdraw and tell nobody).
            lock = await watcher.connect()
            await lock.begin()
            await lock.execute(text("LOCK TABLE reminders IN ACCESS EXCLUSIVE MODE"))

            async def waits_on_the_notice() -> bool:
                async with watcher.connect() as conn:
                    found = await conn.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query ILIKE 'INSERT INTO reminders%'"
                        )
                    )
                return bool(found)

            await woman.press("Yes, withdraw")
            await _poll(waits_on_the_notice, timeout=30)
            proc.kill()
            await proc.wait()
            await lock.rollback()
            await lock.close()
            assert await withdrawals() == 0  # neither her decision nor its notice
        else:
            # Her decision is taken and the notice is being sent when the process dies: the row
            # written with the decision is sent again after the restart, once.
            fake.delay("sendMessage", 600, times=None)

            async def decided_and_sending() -> bool:
                if not await withdrawals():
                    return False
                async with watcher.connect() as conn:
                    rows = (
                        await conn.execute(
                            select(Reminder.state).where(
                                Reminder.kind == "notice", Reminder.recipient_id == facilitator.id
                            )
                        )
                    ).all()
                return any(state == "sending" for (state,) in rows)

            await woman.press("Yes, withdraw")
            await _poll(decided_and_sending, timeout=30)
            proc.kill()
            await proc.wait()
            fake.clear_faults()
            assert not [m for m in facilitator.messages if "withdrew consent" in m.text]
            # The dead instance's claim would be given back once REMINDER_LEASE_SECONDS (30 s at least)
            # had passed: the test moves the claim back by that much rather than wait it out.
            lease = timedelta(seconds=int(ENV["REMINDER_LEASE_SECONDS"]) + 1)
            async with watcher.begin() as conn:
                dead = await conn.scalar(
                    select(Reminder.claimed_by).where(
                        Reminder.state == "sending", Reminder.recipient_id == facilitator.id
                    )
                )
                assert dead is not None
                claims = (
                    await conn.execute(
                        select(Reminder.id, Reminder.claimed_at).where(
                            Reminder.state == "sending", Reminder.claimed_by == dead
                        )
                    )
                ).all()
                for claim in claims:
                    await conn.execute(
                        update(Reminder).where(Reminder.id == claim.id).values(claimed_at=claim.claimed_at - lease)
                    )
    finally:
        await _stop(proc)

    proc = await _spawn(fake, database_url, tmp_path, **ENV)
    try:
        await woman.expect("You have withdrawn", timeout=60)
        told = await facilitator.expect("withdrew consent", timeout=60)
        assert code in told.text and "Анна" in told.text
        await curator.expect("withdrew consent", timeout=30)
        assert await withdrawals() == 1

        async def notices_settled() -> bool:  # no notice to them is waiting or being sent any more
            async with watcher.connect() as conn:
                unsettled = await conn.scalar(
                    select(func.count())
                    .select_from(Reminder)
                    .where(
                        Reminder.kind == "notice",
                        Reminder.recipient_id.in_([facilitator.id, curator.id]),
                        Reminder.state.in_(["pending", "sending"]),
                    )
                )
            return not unsettled

        await _poll(notices_settled, timeout=60)  # a second copy would have been sent by now
        assert sum("withdrew consent" in m.text for m in facilitator.messages) == 1
        assert sum("withdrew consent" in m.text for m in curator.messages) == 1
    finally:
        await _stop(proc)
        await watcher.dispose()
