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
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from docxtpl import DocxTemplate
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


async def context_of(session: AsyncSession, *, actor: Profile, case_id: int, now: Any) -> dict[str, Any]:
    """Everything the three templates use, read in one transaction. Audited; commits."""
    case = await session.get(Case, case_id)
    if case is None or not cases.can_move_stage(actor, case):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted="documents", now=now
        )
        raise cases.Refused("documents")
    region = await session.get(Region, case.region_code)
    zone = ZoneInfo(region.timezone if region else "UTC")
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
    card_values = {k: getattr(card, k) if card else None for k in accounting.FIELDS if k != "programme_type"}
    protocol = dict(card.protocol or {}) if card else {}
    agreement_created = None
    if agreement_id is not None:
        agreement_created = (await session.get(Agreement, agreement_id)).created_at  # type: ignore[union-attr]  # its id was just selected
    created = case.created_at
    audit.record(
        session, actor_id=actor.user_id, action="documents_made", object_type="case", object_id=case.id, now=now
    )
    await session.commit()
    text = await agreements.text_of(session, agreement_id) if agreement_id is not None else None

    parties = [
        {
            "name": p.first_name,
            "role": "участница программы" if p.kind == "woman" else RELATIONS_RU.get(p.relation or "", "родственник"),
        }
        for p in people
    ]
    sides: dict[str, list[str]] = {}
    for item_text, names, due, repeat in text.items if text else ():
        when = f" (до {_day(due)})" if due else (" (регулярно)" if repeat else "")
        for name in names or ("все участники",):
            sides.setdefault(name, []).append(item_text + when)

    def words(key: str, value: Any) -> str:
        return accounting.words(key, value, LOCALE) or "не заполнено"

    return {
        "code": case.code,
        "territory": card_values["territory"] or (region.name.get(LOCALE) if region else ""),
        "institution": card_values["institution"] or "____________",
        "facilitator": (facilitator.display_name if facilitator and facilitator.display_name else "____________"),
        "parties": parties,
        "sides": [{"name": name, "duties": duties} for name, duties in sides.items()],
        "has_agreement": text is not None,
        "consequences": (text.consequences if text and text.consequences else "____________"),
        "concluded": _day(agreement_created.astimezone(zone).date()) if agreement_created else "____________",
        "valid_until": _day(text.valid_until) if text else "____________",
        "meeting_date": _day(general.starts_at.astimezone(zone).date()) if general else "____________",
        "position_1": protocol.get("position_1", ""),
        "position_2": protocol.get("position_2", ""),
        "agreed": protocol.get("agreed", ""),
        "no_repeat": protocol.get("no_repeat", ""),
        "notes": protocol.get("notes", ""),
        "further": protocol.get("further", ""),
        "programme_type": words("programme_type", case.programme_type),
        "source": words("source", card_values["source"]),
        "conflict_type": words("conflict_type", card_values["conflict_type"]),
        "nature": words("nature", card_values["nature"]),
        "earlier": words("earlier", card_values["earlier"]),
        "result": words("result", card_values["result"]),
        "no_result_reason": words("no_result_reason", card_values["no_result_reason"])
        if card_values["no_result_reason"]
        else "—",
        "participants": card_values["participants"] if card_values["participants"] is not None else len(people),
        "representatives": card_values["representatives"] if card_values["representatives"] is not None else "—",
        "situation_date": _day(card_values["situation_date"]),
        "handed_date": _day(card_values["handed_date"]),
        "registered": _day(created.astimezone(zone).date()),
        "started": _day(case.programme_started.astimezone(zone).date()) if case.programme_started else "—",
        "closed": _day(case.closed_at.astimezone(zone).date()) if case.closed_at else "—",
        "report_date": _day(card_values["report_date"] or now.astimezone(zone).date()),
    }


def render(form: str, context: dict[str, Any], folder: Path = DEFAULT_DIR) -> bytes:
    template = DocxTemplate(str(folder / f"{form}.docx"))
    template.render(context, autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_all(context: dict[str, Any], folder: Path = DEFAULT_DIR) -> list[Document]:
    return [Document(form, f"{form}_{context['code']}.docx", render(form, context, folder)) for form in FORMS]
