"""Forms to sign, filled from the case: the agreement (Appendix 3), the protocol of the general meeting
and the report on the programme, as DOCX from the templates in ``content/templates`` (docxtpl).

Nothing is retyped: the parties and their obligations come from the recorded agreement, the
protocol's free fields from what the facilitator typed in the bot, the report from the accounting
card. Nothing about the offence is in any of them (the bot never asks it). The report names no
one: the case is its code. Who may have them: whoever may fill the card (``cases.can_move_stage``);
each generation is audited.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import accounting, agreements, audit, cases
from bot.services.users import Profile
from db.models import (
    AccountingCard,
    Agreement,
    Case,
    Meeting,
    MeetingKind,
    MeetingState,
    Participant,
    Region,
    User,
)

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "content" / "templates"
FORMS = ("agreement", "protocol", "report")
PROTOCOL_FIELDS = ("position_1", "position_2", "agreed", "no_repeat", "notes", "further")
LOCALE = "ru"  # the forms go to the commission in Russian
RELATIONS_RU = {
    "mother": "мать",
    "partner": "партнёр",
    "adult_child": "взрослый сын или дочь",
    "guardian": "опекун детей",
    "other": "близкий человек",
}


@dataclass(frozen=True, slots=True)
class Document:
    form: str
    filename: str
    content: bytes


def _day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "____________"


@dataclass(frozen=True, slots=True)
class _Read:
    """What the templates are filled from, read in one transaction."""

    case: Case
    region: Region | None
    zone: ZoneInfo
    card: dict[str, Any]  # the accounting card's fields (None where there is no card)
    protocol: dict[str, Any]
    people: list[Participant]
    facilitator: User | None
    general: Meeting | None
    agreement_created: datetime | None
    text: agreements.AgreementText | None


async def _read(session: AsyncSession, *, actor: Profile, case_id: int, now: Any) -> _Read:
    """The case and what goes with it, if the actor may fill its card; audited; commits."""
    case = await session.get(Case, case_id)
    if case is None or not cases.can_move_stage(actor, case):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted="documents", now=now
        )
        raise cases.Refused("documents")
    region = await session.get(Region, case.region_code)
    card = await session.get(AccountingCard, case.id)
    people = (
        await session.scalars(
            select(Participant)
            .where(Participant.case_id == case.id, Participant.approval == "approved")
            .order_by(Participant.id)
        )
    ).all()
    facilitator = await session.get(User, case.facilitator_id) if case.facilitator_id else None
    general = await session.scalar(
        select(Meeting)
        .where(
            Meeting.case_id == case.id,
            Meeting.kind == MeetingKind.GENERAL.value,
            Meeting.state == MeetingState.FIXED.value,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
    agreement_id = await session.scalar(
        select(Agreement.id).where(Agreement.case_id == case.id).order_by(Agreement.id.desc()).limit(1)
    )
    agreement_created = None
    if agreement_id is not None:
        agreement_created = (await session.get(Agreement, agreement_id)).created_at  # type: ignore[union-attr]  # its id was just selected
    audit.record(
        session, actor_id=actor.user_id, action="documents_made", object_type="case", object_id=case.id, now=now
    )
    await session.commit()
    return _Read(
        case=case,
        region=region,
        zone=ZoneInfo(region.timezone if region else "UTC"),
        card={k: getattr(card, k) if card else None for k in accounting.FIELDS if k != "programme_type"},
        protocol=dict(card.protocol or {}) if card else {},
        people=list(people),
        facilitator=facilitator,
        general=general,
        agreement_created=agreement_created,
        text=await agreements.text_of(session, agreement_id) if agreement_id is not None else None,
    )


def _agreement_fields(read: _Read) -> dict[str, Any]:
    """The agreement and the protocol: the parties, their duties, the meeting."""
    text, zone, card = read.text, read.zone, read.card
    parties = [
        {
            "name": p.first_name,
            "role": "участница программы" if p.kind == "woman" else RELATIONS_RU.get(p.relation or "", "родственник"),
        }
        for p in read.people
    ]
    sides: dict[str, list[str]] = {}
    for item_text, names, due, repeat in text.items if text else ():
        when = f" (до {_day(due)})" if due else (" (регулярно)" if repeat else "")
        for name in names or ("все участники",):
            sides.setdefault(name, []).append(item_text + when)
    facilitator = read.facilitator
    return {
        "code": read.case.code,
        "territory": card["territory"] or (read.region.name.get(LOCALE) if read.region else ""),
        "institution": card["institution"] or "____________",
        "facilitator": (facilitator.display_name if facilitator and facilitator.display_name else "____________"),
        "parties": parties,
        "sides": [{"name": name, "duties": duties} for name, duties in sides.items()],
        "has_agreement": text is not None,
        "consequences": (text.consequences if text and text.consequences else "____________"),
        "concluded": _day(read.agreement_created.astimezone(zone).date()) if read.agreement_created else "____________",
        "valid_until": _day(text.valid_until) if text else "____________",
        "meeting_date": _day(read.general.starts_at.astimezone(zone).date()) if read.general else "____________",
        **{key: read.protocol.get(key, "") for key in PROTOCOL_FIELDS},
    }


def _report_fields(read: _Read, now: Any) -> dict[str, Any]:
    """The report on the programme: the accounting card in words, the case's dates."""
    case, card, zone = read.case, read.card, read.zone

    def words(key: str, value: Any) -> str:
        return accounting.words(key, value, LOCALE) or "не заполнено"

    return {
        "programme_type": words("programme_type", case.programme_type),
        **{key: words(key, card[key]) for key in ("source", "conflict_type", "nature", "earlier", "result")},
        "no_result_reason": words("no_result_reason", card["no_result_reason"]) if card["no_result_reason"] else "—",
        "participants": card["participants"] if card["participants"] is not None else len(read.people),
        "representatives": card["representatives"] if card["representatives"] is not None else "—",
        "situation_date": _day(card["situation_date"]),
        "handed_date": _day(card["handed_date"]),
        "registered": _day(case.created_at.astimezone(zone).date()),
        "started": _day(case.programme_started.astimezone(zone).date()) if case.programme_started else "—",
        "closed": _day(case.closed_at.astimezone(zone).date()) if case.closed_at else "—",
        "report_date": _day(card["report_date"] or now.astimezone(zone).date()),
    }


async def context_of(session: AsyncSession, *, actor: Profile, case_id: int, now: Any) -> dict[str, Any]:
    """Everything the three templates use, read in one transaction. Audited; commits."""
    read = await _read(session, actor=actor, case_id=case_id, now=now)
    return {**_agreement_fields(read), **_report_fields(read, now)}


def render(form: str, context: dict[str, Any], folder: Path = DEFAULT_DIR) -> bytes:
    # docxtpl brings python-docx and lxml: some 7 MiB of every process's memory and 0.03 s of
    # its start-up, for forms that staff generate now and then. So it is imported on the first form.
    from docxtpl import DocxTemplate  # noqa: PLC0415  (deferred: 7 MiB, needed only for a form)

    template = DocxTemplate(str(folder / f"{form}.docx"))
    template.render(context, autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_all(context: dict[str, Any], folder: Path = DEFAULT_DIR) -> list[Document]:
    return [Document(form, f"{form}_{context['code']}.docx", render(form, context, folder)) for form in FORMS]
