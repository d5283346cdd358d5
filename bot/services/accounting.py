"""The accounting card of a case (учётная карточка ВП, Appendix 6) and closing a case with its result.

The codes and their words are content (``content/accounting/<locale>.yaml``, each field with its
item of the card); the database keeps the codes only. What the case already knows is filled in
when the card is first opened: the date it was handed to the facilitator (its first move to
stage 2), how many people take part, the territory (the region). Programme type and facilitator
are the case's own fields. Nothing about the offence is stored or asked; the woman never sees
the card. The facilitator of the case, staff of its region and admins fill it in
(``cases.can_move_stage``); every change and every closing is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, cases
from bot.services.errors import Invalid
from bot.services.users import Profile
from db.models import AccountingCard, Agreement, Approval, Case, CaseResult, Participant, ProgrammeType, Region

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "content" / "accounting"
LOCALES = ("ru", "en")
CODED = ("source", "conflict_type", "nature", "programme_type", "earlier", "result", "no_result_reason")
TEXTS = ("territory", "institution")
DATES = ("situation_date", "handed_date", "report_date")
NUMBERS = ("participants", "representatives")
FIELDS: tuple[str, ...] = (
    "territory",
    "institution",
    "source",
    "participants",
    "representatives",
    "conflict_type",
    "nature",
)
FIELDS += ("programme_type", "earlier", "situation_date", "handed_date", "result", "no_result_reason", "report_date")
NEGATIVE = frozenset({CaseResult.NO_CHANGE.value, CaseResult.DEEPENED.value})  # field 12 asked for these
TEXT_MAX = 120
NUMBER_MAX = 50
PROTOCOL_FIELDS = ("position_1", "position_2", "agreed", "no_repeat", "notes", "further")
PROTOCOL_MAX = 2000


class CodesError(ValueError):
    """The code files are broken or disagree with each other."""


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    section: str  # the card's item, e.g. "Приложение 6, п. 4"
    title: str
    codes: dict[str, str]  # code (as text) → its words


def parse_codes(path: Path) -> dict[str, Field]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise CodesError(f"{path.name}: expected a mapping")
    out: dict[str, Field] = {}
    for key in CODED:
        item = raw.get(key)
        if not isinstance(item, dict) or not isinstance(item.get("codes"), dict) or not item.get("section"):
            raise CodesError(f"{path.name}.{key}: expected section, title and codes")
        codes = {str(code): str(words) for code, words in item["codes"].items()}
        out[key] = Field(key, str(item["section"]), str(item.get("title") or key), codes)
    return out


@lru_cache(maxsize=4)
def load(folder: Path = DEFAULT_DIR) -> dict[str, dict[str, Field]]:
    """locale → field → its codes; every locale must have the same codes, and they must match the
    models (programme types, results)."""
    books = {locale: parse_codes(folder / f"{locale}.yaml") for locale in LOCALES}
    reference = books[LOCALES[0]]
    for locale, book in books.items():
        for key in CODED:
            if set(book[key].codes) != set(reference[key].codes):
                raise CodesError(f"{locale}.yaml.{key}: codes differ from {LOCALES[0]}.yaml")
    if set(reference["programme_type"].codes) != {t.value for t in ProgrammeType}:
        raise CodesError("programme_type: codes differ from db.models.ProgrammeType")
    if set(reference["result"].codes) != {r.value for r in CaseResult}:
        raise CodesError("result: codes differ from db.models.CaseResult")
    return books


def field(key: str, locale: str) -> Field:
    books = load()
    return books.get(locale, books[LOCALES[0]])[key]


def words(key: str, code: Any, locale: str) -> str | None:
    """The words of a code in a locale, or None when the code is not set."""
    if code is None:
        return None
    return field(key, locale).codes.get(str(code), str(code))


# ---------------------------------------------------------------- reading and filling


@dataclass(frozen=True, slots=True)
class CardView:
    case_id: int
    case_code: str
    values: dict[str, Any]  # field → code, text, number or date (None when empty)
    facilitator_id: int | None
    programme_started: datetime | None
    closed_at: datetime | None
    can_edit: bool


async def _card(session: AsyncSession, case: Case, now: datetime) -> AccountingCard:
    """The case's card, created with what the case already knows."""
    card = await session.get(AccountingCard, case.id)
    if card is not None:
        return card
    region = await session.get(Region, case.region_code)
    zone = region.timezone if region else "UTC"
    people = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(Participant.case_id == case.id, Participant.approval == Approval.APPROVED.value)
    )
    card = AccountingCard(
        case_id=case.id,
        territory=(region.name.get("ru") if region else None),
        participants=people or None,
        handed_date=cases.local_date(case.programme_started, zone) if case.programme_started else None,
        updated_at=now,
    )
    session.add(card)
    await session.flush()
    return card


def _values(case: Case, card: AccountingCard) -> dict[str, Any]:
    values = {key: getattr(card, key) for key in FIELDS if key != "programme_type"}
    values["programme_type"] = case.programme_type
    return values


async def open_card(session: AsyncSession, *, actor: Profile, case_id: int, now: datetime) -> CardView:
    """The card as the team sees it (creating it on first opening); the reading is audited."""
    case = await cases.load_visible(session, actor, case_id, "view_card", now=now)
    card = await _card(session, case, now)
    view = CardView(
        case.id,
        case.code,
        _values(case, card),
        case.facilitator_id,
        case.programme_started,
        case.closed_at,
        cases.can_move_stage(actor, case),
    )
    audit.record(session, actor_id=actor.user_id, action="card_viewed", object_type="case", object_id=case.id, now=now)
    await session.commit()
    return view


def clean(key: str, raw: str | None, *, today: date) -> Any:
    """A value as typed or pressed, checked; ``Invalid(key)`` when it cannot be used."""
    if key in CODED:
        code = (raw or "").strip()
        if code not in field(key, LOCALES[0]).codes:
            raise Invalid(key)
        return code if key in ("programme_type", "result") else int(code)
    if key in TEXTS:
        text = " ".join((raw or "").split())
        if not text or len(text) > TEXT_MAX:
            raise Invalid(key)
        return text
    if key in DATES:
        try:
            return cases.parse_day(raw, today=today)
        except Invalid:
            raise Invalid(key) from None
    if key in NUMBERS:
        text = (raw or "").strip()
        if not text.isdigit() or int(text) > NUMBER_MAX:
            raise Invalid(key)
        return int(text)
    raise Invalid("field")


async def _editable(session: AsyncSession, actor: Profile, case_id: int, attempted: str, *, now: datetime) -> Case:
    case = await session.get(Case, case_id)
    if case is None or not cases.can_move_stage(actor, case):
        await audit.denied(
            session, actor_id=actor.user_id, object_type="case", object_id=case_id, attempted=attempted, now=now
        )
        raise cases.Refused(attempted)
    return case


async def set_field(
    session: AsyncSession, *, actor: Profile, case_id: int, key: str, raw: str | None, now: datetime, today: date
) -> Any:
    """Sets one field of the card; returns the value stored. The result is set by ``close``."""
    case = await _editable(session, actor, case_id, "edit_card", now=now)
    try:
        if key == "result":
            raise Invalid(key)
        value = clean(key, raw, today=today)
    except Invalid:
        await session.rollback()
        raise
    card = await _card(session, case, now)
    if key == "programme_type":
        case.programme_type = value
    else:
        setattr(card, key, value)
    card.updated_by, card.updated_at = actor.user_id, now
    audit.record(
        session, actor_id=actor.user_id, action="card_edited", object_type="case", object_id=case.id, now=now, field=key
    )
    await session.commit()
    return value


async def close(
    session: AsyncSession,
    *,
    actor: Profile,
    case_id: int,
    result: str,
    reason: int | None,
    now: datetime,
) -> None:
    """Closes the case at whatever stage it is, with its result (field 11) and, when the result is
    not a positive one, the reason (field 12). A closed case may have its result corrected."""
    case = await _editable(session, actor, case_id, "close_case", now=now)
    if result not in {r.value for r in CaseResult}:
        await session.rollback()
        raise Invalid("result")
    if result in NEGATIVE:
        if reason is None or str(reason) not in field("no_result_reason", LOCALES[0]).codes:
            await session.rollback()
            raise Invalid("no_result_reason")
    else:
        reason = None
    card = await _card(session, case, now)
    card.result, card.no_result_reason = result, reason
    card.updated_by, card.updated_at = actor.user_id, now
    if case.closed_at is None:
        case.closed_at = now
    audit.record(
        session,
        actor_id=actor.user_id,
        action="case_closed",
        object_type="case",
        object_id=case.id,
        now=now,
        stage=case.stage,
        result=result,
        reason=reason,
    )
    await session.commit()


async def protocol_missing(session: AsyncSession, *, case_id: int) -> bool:
    """An agreement is recorded (so the general meeting took place) but its protocol is not typed yet.
    The caller has checked access. Commits."""
    has_agreement = await session.scalar(select(Agreement.id).where(Agreement.case_id == case_id).limit(1))
    card = await session.get(AccountingCard, case_id)
    await session.commit()
    return has_agreement is not None and not (card and card.protocol)


async def save_protocol(
    session: AsyncSession, *, actor: Profile, case_id: int, fields: dict[str, str], now: datetime
) -> None:
    """The free fields of the general meeting's protocol, as the facilitator typed them (encrypted)."""
    case = await _editable(session, actor, case_id, "edit_protocol", now=now)
    cleaned = {k: v.strip()[:PROTOCOL_MAX] for k, v in fields.items() if k in PROTOCOL_FIELDS and v and v.strip()}
    card = await _card(session, case, now)
    card.protocol = cleaned
    card.updated_by, card.updated_at = actor.user_id, now
    audit.record(
        session, actor_id=actor.user_id, action="protocol_saved", object_type="case", object_id=case.id, now=now
    )
    await session.commit()
