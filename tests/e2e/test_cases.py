"""Cases from the team's side: relatives the woman approves, links that no longer work, who may see
which case, role invitations, and deadlines on the production calendar."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db.models import AuditEvent, Case, Participant, User
from tests.conftest import ADMIN_ID, Clock
from tests.e2e.people import (
    agrees,
    at_menu,
    consent_screens,
    invite_payload,
    register_case,
    suggest_relative,
    team_member,
)


async def _woman_joins(fake, payload: str):
    woman = fake.user(language_code="en")
    await agrees(woman, payload)
    return woman


async def test_the_woman_decides_whom_to_invite(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    curator = await team_member(fake, session, "curator", name="Ирина")
    code, payload = await register_case(staff, curator=curator.first_name)
    woman = await _woman_joins(fake, payload)

    await suggest_relative(staff, code, "Мария", "mother")
    # A relative she has not approved has no link, and staff cannot make one.
    await staff.press("Мария")
    person = await staff.expect("Мария (mother)", predicate=lambda m: m.has_button("Back"))
    assert "There is no link until she agrees" in person.text
    assert not person.has_button("New invitation link")

    await woman.expect("suggests inviting someone close to you")
    await woman.press("📋")
    await woman.expect("1 waiting for your answer", predicate=lambda m: m.has_button("Whom to invite"))
    await woman.press("Whom to invite")
    await woman.expect("Nobody is invited without your yes", predicate=lambda m: m.has_button("Мария"))
    await woman.press("Мария")
    await woman.expect("May we invite", predicate=lambda m: m.has_button("Not now"))
    await woman.press("Not now")
    await woman.expect("Whom to invite", predicate=lambda m: m.has_button("she will decide later"))
    await staff.expect("she will decide later")
    await woman.press("Мария")
    await woman.expect("May we invite", predicate=lambda m: m.has_button("Yes"))
    await woman.press("Yes")
    await woman.expect("Whom to invite", predicate=lambda m: m.has_button("she agreed to invite"))
    approved = await staff.expect("Invitation for this person")
    await curator.expect("Invitation for this person")
    first_link = invite_payload(approved)

    # She changes her mind before Мария answers: the link given out stops working.
    await woman.press("Мария")
    await woman.expect("May we invite", predicate=lambda m: m.has_button("No"))
    await woman.press("No")
    await woman.expect("Whom to invite", predicate=lambda m: m.has_button("she does not want to invite"))
    await staff.expect("The link given earlier no longer works")
    relative = fake.user(language_code="en")
    await relative.send(f"/start {first_link}")
    await relative.expect("This invitation has been cancelled")
    await relative.expect("What would you like to do")

    # She says yes again; this time Мария answers, and then her answer can no longer be changed.
    await woman.press("Мария")
    await woman.expect("May we invite", predicate=lambda m: m.has_button("Yes"))
    await woman.press("Yes")
    await woman.expect("Whom to invite", predicate=lambda m: m.has_button("she agreed to invite"))
    second = await staff.expect("Invitation for this person")
    await consent_screens(relative, invite_payload(second))
    await relative.press("Yes, I agree")
    await relative.expect("Question 2 of 2", predicate=lambda m: m.has_button("I agree"))
    await relative.press("I agree")
    await relative.expect("Thank you. 🌱")
    await woman.press("Мария")
    answered = await woman.expect("has already answered", predicate=lambda m: m.has_button("Back"))
    assert not answered.has_button("Yes")

    session.expire_all()
    row = await session.scalar(select(User).where(User.id == relative.id))
    assert row is not None and row.role == "relative"
    # A relative's "My programme" shows no one else's people.
    await relative.press("My programme")
    mine = await relative.expect("My programme", predicate=lambda m: m.has_button("Withdraw"))
    assert not mine.has_button("Whom to invite")


async def test_links_that_do_not_work(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    _code, payload = await register_case(staff)

    # Re-issuing revokes the old link.
    await staff.press("People and invitations")
    await staff.expect("Tap a person", predicate=lambda m: m.has_button("Анна"))
    await staff.press("Анна")
    await staff.expect("link given, not opened yet", predicate=lambda m: m.has_button("New invitation link"))
    await staff.press("New invitation link")
    fresh = await staff.expect("New invitation")
    woman = fake.user(language_code="en")
    await woman.send(f"/start {payload}")
    await woman.expect("This invitation has been cancelled")

    # The new one works once; a second person cannot use it; she herself may open it again.
    await consent_screens(woman, invite_payload(fresh))
    stranger = fake.user(language_code="en")
    await stranger.send(f"/start {invite_payload(fresh)}")
    await stranger.expect("has already been used")
    await woman.send(f"/start {invite_payload(fresh)}")
    await woman.expect("My programme", predicate=lambda m: m.has_button("Decide"))

    # Nonsense after i- is an unknown link, answered the same kind way.
    await stranger.send("/start i-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    await stranger.expect("does not work")

    refusals = (
        await session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == "invite_refused", AuditEvent.actor_id.in_([woman.id, stranger.id]))
            .order_by(AuditEvent.id)
        )
    ).all()
    assert [r["reason"] for r in refusals] == ["revoked", "used", "unknown"]


async def test_an_expired_link(start_bot, fake, session) -> None:
    clock = Clock(datetime.now(UTC))
    await start_bot(clock=clock, invite_ttl_days=3)
    staff = await team_member(fake, session, "staff")
    _code, payload = await register_case(staff)
    clock.now += timedelta(days=3, minutes=1)
    woman = fake.user(language_code="en")
    await woman.send(f"/start {payload}")
    await woman.expect("This invitation has expired")
    await woman.expect("What would you like to do")


async def test_nobody_reaches_another_case(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    other_staff = await team_member(fake, session, "staff", region="federal")
    curator = await team_member(fake, session, "curator", name="Ирина")
    outsider = await team_member(fake, session, "curator", name="Нина")
    code, payload = await register_case(staff, curator=curator.first_name)
    woman = await _woman_joins(fake, payload)
    case_id = await session.scalar(select(Case.id).where(Case.code == code))

    # A participant has no team commands.
    await woman.send(f"/case {code}")
    await woman.expect("only for the programme team")
    # A curator of another case, and staff of another region, do not find it.
    await outsider.send(f"/case {code}")
    await outsider.expect("No case with this code is available to you")
    await other_staff.send(f"/case {code}")
    await other_staff.expect("No case with this code is available to you")
    # Its own curator does.
    await curator.send(f"/case {code}")
    card = await curator.expect(f"Case {code}", predicate=lambda m: m.has_button("People"))
    assert not card.has_button("Move to another stage")  # curators follow, facilitators and staff move

    # A forged press on another region's list, pointing at this case, is refused and audited.
    await other_staff.send("/cases")
    listing = await other_staff.expect("Cases", predicate=lambda m: m.has_button("Menu"))
    menu_data = listing.button_data[next(b for b in listing.button_data if "Menu" in b)]
    intent = menu_data.split("\x1d", 1)[0]
    await other_staff.forge_callback(f"{intent}\x1dcase:{case_id}", listing)
    answer = await other_staff.expect_callback_answer()
    assert "not available to you" in answer.get("text", "")

    # The woman forging a relative's button of another case: refused and audited.
    other_code, _ = await register_case(staff, name="Вера")
    await suggest_relative(staff, other_code, "Олег", "partner")
    foreign = await session.scalar(
        select(Participant.id).join(Case).where(Case.code == other_code, Participant.kind == "relative")
    )
    await suggest_relative(staff, code, "Дима", "adult son")
    await woman.expect("suggests inviting")
    await woman.press("📋")
    await woman.expect("My programme", predicate=lambda m: m.has_button("Whom to invite"))
    await woman.press("Whom to invite")
    mine = await woman.expect("Whom to invite", predicate=lambda m: m.has_button("Дима"))
    intent = mine.button_data[next(b for b in mine.button_data if "Дима" in b)].split("\x1d", 1)[0]
    await woman.forge_callback(f"{intent}\x1drel:{foreign}", mine)
    assert "out of date" in (await woman.expect_callback_answer()).get("text", "")

    session.expire_all()
    denied = (
        await session.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "denied", AuditEvent.actor_id.in_([outsider.id, other_staff.id, woman.id])
            )
        )
    ).all()
    assert outsider.id in denied and other_staff.id in denied and woman.id in denied
    viewed = (
        await session.scalars(
            select(AuditEvent.actor_id).where(AuditEvent.action == "case_viewed", AuditEvent.object_id == str(case_id))
        )
    ).all()
    assert curator.id in viewed and other_staff.id not in viewed


async def test_role_invitations(bot, fake, session) -> None:
    admin = fake.users[ADMIN_ID] if ADMIN_ID in fake.users else fake.user(user_id=ADMIN_ID)
    staff = await at_menu(fake, first_name="Светлана")
    await admin.send(f"/setrole {staff.id} staff altai_krai")
    await admin.expect("now has the role")

    await staff.send("/invite")
    await staff.expect("Which role?", predicate=lambda m: m.has_button("facilitator"))
    await staff.press("facilitator")
    invitation = await staff.expect("Invitation for a new team member")
    newcomer = fake.user(first_name="Павел", language_code="en")
    await newcomer.send(f"/start {invite_payload(invitation)}")
    await newcomer.expect("Welcome to the team")
    session.expire_all()
    row = await session.get(User, newcomer.id)
    assert row is not None and (row.role, row.scope_region, row.display_name) == ("facilitator", "altai_krai", "Павел")
    await newcomer.send("/overdue")
    await newcomer.expect("Nothing is overdue")
    await newcomer.send("/newcase")  # facilitators do not register cases
    await newcomer.expect("only for the programme team")


async def test_stage_moves_and_deadlines_across_a_holiday(start_bot, fake, session) -> None:
    # Monday 2 November 2026, 10:00 in Barnaul; Wednesday 4 November is Unity Day.
    clock = Clock(datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    app = await start_bot(clock=clock)
    staff = await team_member(fake, session, "staff")
    facilitator = await team_member(fake, session, "facilitator", name="Павел")
    code, _ = await register_case(staff, name="Вера", parole=True, facilitator=facilitator.first_name)
    await staff.send(f"/case {code}")
    card = await staff.expect(f"Case {code}", predicate=lambda m: m.has_button("People"))
    assert "hand the case to the facilitator by November 5, 2026" in card.text  # Tue 3 + Thu 5; the 4th is off

    clock.now = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)
    await staff.send("/overdue")
    await staff.expect("Nothing is overdue")
    clock.now = datetime(2026, 11, 6, 3, 0, tzinfo=UTC)
    await staff.send("/overdue")
    late = await staff.expect("Overdue: ")
    assert code in late.text and "late by 1 working days" in late.text

    assert await app.jobs.send_daily_digest() >= 1
    digest = await staff.expect("Daily digest")
    assert code in digest.text
    assert await app.jobs.send_daily_digest() == 0  # once a day

    # The facilitator moves the case on, with a reason; the deadline becomes the programme window.
    await facilitator.send(f"/case {code}")
    await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("Move to another stage"))
    await facilitator.press("Move to another stage")
    await facilitator.expect("To which stage?", predicate=lambda m: m.has_button("Preliminary meetings"))
    await facilitator.press("Preliminary meetings")
    await facilitator.expect("Why?")
    await facilitator.send_sticker()
    await facilitator.expect("I need text here")
    await facilitator.send("Documents received")
    await facilitator.expect("Stage changed")
    moved = await facilitator.expect(f"Case {code}", predicate=lambda m: m.has_button("People"))
    assert "2 · Preliminary meetings" in moved.text
    assert "hold the general meeting by" in moved.text
    await staff.send("/overdue")
    await staff.expect("Nothing is overdue")

    actions = (
        await session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor_id == facilitator.id, AuditEvent.action == "stage_moved")
        )
    ).all()
    assert actions == ["stage_moved"]


async def test_registering_with_bad_input(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    await staff.send("/newcase")
    await staff.expect("Her first name", predicate=lambda m: m.has_button("Cancel"))
    await staff.send("Анна Петрова 1985")
    await staff.expect("only her first name")
    await staff.send_photo()
    await staff.expect("I need text here")
    await staff.send("Анна")
    await staff.expect("Release date", predicate=lambda m: m.has_button("Cancel"))
    await staff.send_sticker()
    await staff.expect("I need a date here")
    await staff.send("next spring")
    await staff.expect("I could not read this date")
    await staff.send("31.02.2027")
    await staff.expect("I could not read this date")
    await staff.send("15.03.2027")
    await staff.expect("on parole", predicate=lambda m: m.has_button("Yes"))
    await staff.press("Cancel")
    await staff.expect(predicate=lambda m: not m.has_button("Register"))
    count = await session.scalar(select(func.count()).select_from(Case).where(Case.created_by == staff.id))
    assert count == 0

    # Staff without a region of their own cannot register cases anywhere.
    drifter = await team_member(fake, session, "staff", region=None)
    await drifter.send("/newcase")
    await drifter.expect("Her first name")
    await drifter.send("Анна")
    await drifter.expect("Your region is not set")


async def test_stage_history_is_shown_on_the_card(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    code, _ = await register_case(staff)
    await staff.press("Move to another stage")
    await staff.expect("To which stage?", predicate=lambda m: m.has_button("General meeting"))
    await staff.press("General meeting")
    await staff.expect("Why?")
    await staff.send("All agreed on the phone")
    await staff.expect("Stage changed")
    await staff.expect(f"Case {code}", predicate=lambda m: m.has_button("History"))
    await staff.press("History")
    history = await staff.expect("Stage history", predicate=lambda m: m.has_button("Back"))
    assert "1 → 3" in history.text and "All agreed on the phone" in history.text


async def test_a_large_team_is_picked_a_page_at_a_time(bot, fake, session) -> None:
    staff = await team_member(fake, session, "staff")
    curators = [await team_member(fake, session, "curator", name=f"Куратор{i}") for i in range(11)]
    await staff.send("/newcase")
    await staff.expect("Her first name")
    await staff.send("Анна")
    await staff.expect("Release date")
    await staff.send("01.12.2026")
    await staff.expect("on parole", predicate=lambda m: m.has_button("Yes"))
    await staff.press("No")
    await staff.expect("Type of programme", predicate=lambda m: m.has_button("Family conference"))
    await staff.press("Family conference")
    picker = await staff.expect("Curator of the family", predicate=lambda m: m.has_button("Later"))
    names = [c.chat.user["first_name"] for c in curators]
    shown = [n for n in names if picker.has_button(n)]
    assert 0 < len(shown) <= 8  # a page, not the whole team
    first = names[0]  # the one active longest ago: on a later page
    assert not picker.has_button(first)
    for _ in range(5):  # ▶ until she is there (the fake does not know which page it is)
        if picker.has_button(first):
            break
        await staff.press(">", picker)
        picker = await staff.expect("Curator of the family", predicate=lambda m: m.event == "edited")
    await staff.press(first, picker)
    await staff.expect("Facilitator:", predicate=lambda m: m.has_button("Later"))
