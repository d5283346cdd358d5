"""How each decision's notice is worded, at the moment it is sent (``bot.jobs.notify.notice_renderer``).

A notice row carries its event and ids only (``bot.services.notices``). Each renderer here reads what
it needs now — the case's code, the person's first name, the meeting's time in the reader's zone —
in the reader's language (already active), and drops the notice when what it is about is gone (the
case deleted, the meeting removed, the person no longer there).
"""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.jobs.buttons import JOIN_CALLBACK, OPEN_PROGRAMME, my_meetings_button
from bot.jobs.notify import EventRenderer, Notice
from bot.jobs.outgoing import Drop, Outgoing
from bot.jobs.renderers import agreements as agreement_renderers
from bot.services import catalog, invitations, meetings
from bot.services.formatting import format_when
from bot.wording.labels import APPROVALS, DECISIONS_TEAM, RELATIONS, RELEASE_LABELS, label, region_name
from db.models import Agreement, Case, Conversation, ConversationState, JoinRequest, Meeting, Participant


async def _person(notice: Notice, key: str = "participant") -> tuple[Participant, Case] | None:
    participant = await notice.session.get(Participant, notice.id(key))
    if participant is None:
        return None
    case = await notice.session.get(Case, participant.case_id)
    return (participant, case) if case is not None else None


def _who(participant: Participant) -> str:
    return gettext("the woman") if participant.kind == "woman" else gettext("a relative")


async def consent(notice: Notice) -> Outgoing | Drop:
    found = await _person(notice)
    if found is None:
        return Drop("gone")
    participant, case = found
    return Outgoing(
        gettext("Case {code}: {name} ({who}) — {purpose}: {decision}.").format(
            code=case.code,
            name=escape(participant.first_name),
            who=_who(participant),
            purpose=gettext("keeping data") if notice.payload.get("purpose") == "data" else gettext("taking part"),
            decision=label(DECISIONS_TEAM, notice.payload.get("decision")),
        )
    )


async def consent_withdrawn(notice: Notice) -> Outgoing | Drop:
    found = await _person(notice)
    if found is None:
        return Drop("gone")
    participant, case = found
    what = (
        gettext("keeping data and taking part") if notice.payload.get("purpose") == "data" else gettext("taking part")
    )
    return Outgoing(
        gettext(
            "Case {code}: {name} ({who}) withdrew consent to {what}. Please do not tell the other participants "
            "who withdrew."
        ).format(code=case.code, name=escape(participant.first_name), who=_who(participant), what=what)
    )


async def left_programme(notice: Notice) -> Outgoing | Drop:
    found = await _person(notice)
    if found is None:
        return Drop("gone")
    participant, case = found
    return Outgoing(
        gettext(
            "Case {code}: {name} deleted her data in the bot and withdrew her consent. "
            "Please do not tell the other participants."
        ).format(code=case.code, name=escape(participant.first_name))
    )


async def general_off(notice: Notice) -> Outgoing | Drop:
    if notice.claimed.case_id is None or await notice.session.get(Case, notice.claimed.case_id) is None:
        return Drop("gone")
    return Outgoing(
        gettext(
            "The general meeting will not take place as planned. This can happen, and it is nobody's fault. "
            "The facilitator will be in touch about what comes next."
        )
    )


async def relative_decided(notice: Notice) -> Outgoing | Drop:
    found = await _person(notice, "relative")
    if found is None:
        return Drop("gone")
    relative, case = found
    head = gettext("Case {code}: {relative} ({relation}) — {state}.").format(
        code=case.code,
        relative=escape(relative.first_name),
        relation=label(RELATIONS, relative.relation),
        state=label(APPROVALS, notice.payload.get("approval")),
    )
    token = await notice.typed()
    if token:
        username = (await notice.bot.me()).username or ""
        return Outgoing(
            head
            + "\n\n"
            + gettext("Invitation for this person (it works once, for {days} days):\n{link}").format(
                days=notice.app.settings.invite_ttl_days, link=invitations.link(username, token)
            )
        )
    if notice.payload.get("revoked"):
        return Outgoing(head + "\n\n" + gettext("The link given earlier no longer works."))
    return Outgoing(head)


async def _agreement_person(notice: Notice) -> tuple[Participant, Case] | None:
    if await notice.session.get(Agreement, notice.id("agreement")) is None:
        return None
    return await _person(notice)


async def agreement_confirmed(notice: Notice) -> Outgoing | Drop:
    found = await _agreement_person(notice)
    if found is None:
        return Drop("gone")
    participant, case = found
    return Outgoing(
        gettext("Case {code}: {name} confirmed the agreement.").format(
            code=case.code, name=escape(participant.first_name)
        )
    )


async def agreement_disputed(notice: Notice) -> Outgoing | Drop:
    found = await _agreement_person(notice)
    if found is None:
        return Drop("gone")
    participant, case = found
    comment = await notice.typed()
    return Outgoing(
        gettext("Case {code}: {name} says the agreement is not right:").format(
            code=case.code, name=escape(participant.first_name)
        )
        + ("\n\n" + escape(comment) if comment else "")
    )


def _meeting_event(msgid: str) -> EventRenderer:
    async def render(notice: Notice) -> Outgoing | Drop:
        meeting = await notice.session.get(Meeting, notice.id("meeting"))
        found = await _person(notice)
        if meeting is None or found is None:
            return Drop("gone")
        participant, case = found
        zone = await meetings.zone_of(
            notice.session, notice.claimed.recipient_id, None, notice.app.settings.default_timezone
        )
        return Outgoing(
            gettext(msgid).format(
                code=case.code,
                name=escape(participant.first_name),
                when=format_when(meeting.starts_at, notice.locale, zone),
            )
        )

    return render


# The msgids of the meeting notices, as they were before (their translations keep working).
_CHOSE = N_("Case {code}: {name} chose {when}.")
_MOVED = N_("Case {code}: {name} moved her meeting to {when}.")
_CANCELLED = N_("Case {code}: {name} cancelled the meeting on {when}.")
_CANNOT = N_("Case {code}: {name} cannot come on {when}.")


TIMES = {
    "offered": N_("The facilitator offers a time to meet: {when}. Choose a time that suits you."),
    "general_offered": N_("There is a time to answer for the general meeting: {when}. Does it suit you?"),
    "general_fixed": N_("The general meeting is set: {when}."),
    "taken_back": N_("The facilitator had to cancel the meeting on {when}. You can choose another time."),
}


async def meeting_time(notice: Notice) -> Outgoing | Drop:
    """A time offered, fixed or taken back, in her zone, with the button to her meetings."""
    meeting = await notice.session.get(Meeting, notice.id("meeting"))
    msgid = TIMES.get(str(notice.payload.get("what")))
    if meeting is None or msgid is None:
        return Drop("gone")
    zone = await meetings.zone_of(notice.session, notice.claimed.recipient_id, None, meeting.timezone)
    return Outgoing(
        gettext(msgid).format(when=format_when(meeting.starts_at, notice.locale, zone)), my_meetings_button()
    )


async def join_request(notice: Notice) -> Outgoing | Drop:
    """Someone without a link asks to take part: her answers, for the staff, with the button that
    opens /newcase filled in."""
    row = await notice.session.get(JoinRequest, notice.id("request"))
    if row is None:
        return Drop("gone")
    region = await catalog.region(notice.session, row.region_code) if row.region_code else None
    lines = [
        gettext("🤝 <b>A request to take part</b>, from someone without an invitation link"),
        gettext("First name: {name}").format(name=escape(row.first_name or "") or gettext("not said")),
        gettext("Region: {region}").format(region=region_name(region, notice.locale)),
        gettext("Release: {release}").format(release=gettext(RELEASE_LABELS.get(row.release, RELEASE_LABELS[None]))),
        gettext("In her words: {note}").format(note=escape(row.note or "") or gettext("not said")),
        gettext("📝 Register a case: the button below opens /newcase filled in; she gets her link here."),
    ]
    button = InlineKeyboardButton(text=gettext("📝 Register a case"), callback_data=f"{JOIN_CALLBACK}{row.id}")
    return Outgoing("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[button]]))


async def join_invited(notice: Notice) -> Outgoing | Drop:
    """Her request became a case: her invitation, in the bot."""
    token = await notice.typed()
    if not token or await notice.session.get(JoinRequest, notice.id("request")) is None:
        return Drop("gone")
    username = (await notice.bot.me()).username or ""
    return Outgoing(
        gettext(
            "🌱 Good news: the team has opened a place in the programme for you. Open this invitation to read "
            "about it calmly and decide for yourself (it works once, for {days} days):\n{link}"
        ).format(days=notice.app.settings.invite_ttl_days, link=invitations.link(username, token))
    )


async def relative_proposed(notice: Notice) -> Outgoing | Drop:
    """The team suggests someone close: she is asked in "My programme" (never named here)."""
    if await _person(notice, "relative") is None:
        return Drop("gone")
    return Outgoing(
        gettext(
            "The team suggests inviting someone close to you to the programme. Nobody is invited without your yes. "
            "Open 📋 My programme to answer when you are ready."
        ),
        InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=gettext("📋 My programme"), callback_data=OPEN_PROGRAMME)]]
        ),
    )


async def conversation_closed(notice: Notice) -> Outgoing | Drop:
    """The curator closed her conversation: she may rate it (unless it is open again by now)."""
    conversation_id = notice.id("conversation")
    conversation = await notice.session.get(Conversation, conversation_id)
    if conversation is None or conversation.state != ConversationState.CLOSED.value:
        return Drop("gone_or_reopened")
    stars = [InlineKeyboardButton(text="⭐" * n, callback_data=f"rt:{conversation_id}:{n}") for n in range(1, 6)]
    return Outgoing(
        gettext(
            "The curator has closed this conversation. If you want to say more, just write: it opens again.\n\n"
            "How was it to talk with us? Tap the stars."
        ),
        InlineKeyboardMarkup(inline_keyboard=[stars[:3], stars[3:]]),
    )


async def other_time(notice: Notice) -> Outgoing | Drop:
    """She asks for another time, in her words (kept encrypted in the row)."""
    found = await _person(notice)
    if found is None:
        return Drop("gone")
    participant, case = found
    words = await notice.typed()
    return Outgoing(
        gettext("Case {code}: {name} asks for another time:").format(
            code=case.code, name=escape(participant.first_name)
        )
        + "\n\n"
        + escape(words or "")
    )


async def reminder_unreachable(notice: Notice) -> Outgoing | Drop:
    """A meeting's reminder met a participant who has blocked the bot."""
    participant = await notice.session.get(Participant, notice.id("participant"))
    meeting = await notice.session.get(Meeting, notice.id("meeting"))
    if meeting is None:
        return Drop("gone")
    case = await notice.session.get(Case, meeting.case_id)
    if case is None:
        return Drop("gone")
    return Outgoing(
        gettext(
            "Case {code}: the reminder did not reach {name}: she has blocked the bot. Please reach her another way."
        ).format(code=case.code, name=escape(participant.first_name) if participant is not None else "?")
    )


def events() -> dict[str, EventRenderer]:
    """Every event's renderer, for ``bot.jobs.notify.notice_renderer``."""
    return {
        "consent": consent,
        "consent_withdrawn": consent_withdrawn,
        "left_programme": left_programme,
        "general_off": general_off,
        "relative_decided": relative_decided,
        "agreement_confirmed": agreement_confirmed,
        "agreement_disputed": agreement_disputed,
        "meeting_booked": _meeting_event(_CHOSE),
        "meeting_moved": _meeting_event(_MOVED),
        "meeting_cancelled": _meeting_event(_CANCELLED),
        "meeting_declined": _meeting_event(_CANNOT),
        "meeting_time": meeting_time,
        "join_request": join_request,
        "join_invited": join_invited,
        "relative_proposed": relative_proposed,
        "agreement_recorded": agreement_renderers.render_recorded,
        "goodbye": agreement_renderers.render_goodbye,
        "conversation_closed": conversation_closed,
        "other_time": other_time,
        "reminder_unreachable": reminder_unreachable,
    }
