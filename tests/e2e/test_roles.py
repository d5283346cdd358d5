"""Roles: ADMIN_IDS bootstrap, admins give roles, staff see an overview; everyone else is refused."""

from sqlalchemy import select

from db.models import AuditEvent, Role, User
from tests.conftest import ADMIN_ID
from tests.e2e.people import at_menu


async def test_admin_gives_a_role_and_staff_see_the_overview(bot, fake, session) -> None:
    admin = fake.user(user_id=ADMIN_ID) if ADMIN_ID not in fake.chats else fake.users[ADMIN_ID]
    staff = await at_menu(fake)
    await staff.send("/stats")
    await staff.expect("only for the programme team")

    await admin.send("/setrole")
    await admin.expect("Usage: /setrole TELEGRAM_ID ROLE")
    await admin.send(f"/setrole {staff.id} wizard")
    await admin.expect("Usage")
    await admin.send(f"/setrole {staff.id} staff")
    await admin.expect("now has the role “staff”")
    await admin.send(f"/setrole {ADMIN_ID} none")
    await admin.expect("cannot take the admin role away from yourself")

    await staff.send("/stats")
    overview = await staff.expect("People in the bot")
    assert "staff:" in overview.text
    await staff.send(f"/setrole {staff.id} admin")  # staff are not admins
    await staff.expect("only for the programme team")

    session.expire_all()
    row = await session.get(User, staff.id)
    assert row is not None and row.role == Role.STAFF
    actions = (
        await session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == staff.id).order_by(AuditEvent.id))
    ).all()
    assert actions == ["denied", "stats_viewed", "denied"]


async def test_admin_ids_are_admins_from_the_start(bot, session) -> None:
    row = await session.get(User, ADMIN_ID)
    assert row is not None and row.role == Role.ADMIN


async def test_a_facilitator_made_with_setrole_gets_a_name_that_can_be_edited(bot, fake, session) -> None:
    admin = fake.user(user_id=ADMIN_ID) if ADMIN_ID not in fake.chats else fake.users[ADMIN_ID]
    facilitator = await at_menu(fake)
    await admin.send(f"/setrole {facilitator.id} facilitator")
    done = await admin.expect("now has the role “facilitator”")
    assert f"/setname {facilitator.id}" in done.text  # no name yet: how to give one
    await admin.send(f"/setname {facilitator.id} Наталья")
    await admin.expect("is now shown as Наталья")
    await facilitator.send("/myname Ната")
    await facilitator.expect("participants now see you as Ната")
    await facilitator.send("/myname 12345")
    await facilitator.expect("Usage: /myname")
    stranger = await at_menu(fake)
    await admin.send(f"/setname {stranger.id} Кто-то")
    await admin.expect("not in the programme team")
    session.expire_all()
    row = await session.get(User, facilitator.id)
    assert row is not None and row.display_name == "Ната"
