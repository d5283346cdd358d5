"""Forgetting: after "delete my data" (``forget``) no row holds the person's Telegram id.

Every column of the schema that may hold a Telegram user or chat id is listed in ``PLAN`` with what
becomes of it when that person asks to be forgotten:

- ``DELETE``: the row is hers and goes (her dialog state, messages queued for her, invitations she
  used, her survey invites, her subscriptions, her recent message ids, the user row itself);
- ``PSEUDONYM``: the row is proof the programme must keep (a consent given and withdrawn, who
  registered a case or read one, the audit trail) and keeps her only as ``db.types.pseudonym`` — a
  keyed hash whose key is not in the database, so it cannot be turned back into her id;
- ``UNLINK``: a pointer to her that the row can live without (her place in a case, the curator of a
  case) is set to NULL.

``tests/test_forgetting.py`` fails when a column of the metadata that may hold a Telegram id is in
none of them, and on any row of any table left with her id. JSON columns (reminder payloads, audit
details) are searched as text: a reminder that mentions her is deleted.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from db.models import Base, Reminder
from db.types import pseudonym


class Fate(enum.StrEnum):
    DELETE = "delete"
    PSEUDONYM = "pseudonym"
    UNLINK = "unlink"
    NOT_A_PERSON = "not_a_person"  # a group's id, a row's own number


PLAN: dict[tuple[str, str], Fate] = {
    ("users", "id"): Fate.DELETE,
    ("fsm_state", "user_id"): Fate.DELETE,
    ("digests_sent", "user_id"): Fate.DELETE,
    ("subscriptions", "user_id"): Fate.DELETE,
    ("broadcast_deliveries", "user_id"): Fate.DELETE,
    ("survey_invites", "user_id"): Fate.DELETE,
    ("questions", "user_id"): Fate.DELETE,
    ("reminders", "recipient_id"): Fate.DELETE,
    ("invitations", "used_by"): Fate.DELETE,
    ("conversations", "user_id"): Fate.DELETE,  # relay.forget: with its history and topic
    ("recent_messages", "chat_id"): Fate.DELETE,
    ("audit_log", "actor_id"): Fate.PSEUDONYM,
    ("consent_events", "user_id"): Fate.PSEUDONYM,
    ("stage_moves", "actor_id"): Fate.PSEUDONYM,
    ("cases", "created_by"): Fate.PSEUDONYM,
    ("measure_versions", "actor_id"): Fate.PSEUDONYM,
    ("agreements", "recorded_by"): Fate.PSEUDONYM,
    ("accounting_cards", "updated_by"): Fate.PSEUDONYM,
    ("broadcasts", "author_id"): Fate.PSEUDONYM,
    ("relay_messages", "author_id"): Fate.PSEUDONYM,
    ("relay_messages", "source_chat_id"): Fate.PSEUDONYM,
    ("relay_messages", "target_chat_id"): Fate.PSEUDONYM,
    ("participants", "user_id"): Fate.UNLINK,
    ("participants", "proposed_by"): Fate.UNLINK,
    ("invitations", "created_by"): Fate.UNLINK,
    ("cases", "curator_id"): Fate.UNLINK,
    ("cases", "facilitator_id"): Fate.UNLINK,
    ("conversations", "curator_id"): Fate.UNLINK,
    ("meetings", "facilitator_id"): Fate.UNLINK,
    ("broadcasts", "progress_chat_id"): Fate.UNLINK,
    ("conversations", "group_chat_id"): Fate.NOT_A_PERSON,
    # Telegram's number of an update; the update itself (encrypted) is emptied once it is handled.
    ("inbox", "update_id"): Fate.NOT_A_PERSON,
}

# JSON columns that may mention a person by id; searched as text.
JSON_COLUMNS: frozenset[tuple[str, str]] = frozenset(
    {("reminders", "payload"), ("audit_log", "details"), ("measure_versions", "before"), ("measure_versions", "after")}
)


def _mentions(value: Any, user_id: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == user_id
    if isinstance(value, str):
        return str(user_id) in value
    if isinstance(value, dict):
        return any(_mentions(k, user_id) or _mentions(v, user_id) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions(v, user_id) for v in value)
    return False


async def forget(session: AsyncSession, *, user_id: int, now: datetime) -> int:
    """Applies ``PLAN`` to one person (after ``programme.leave_all``, ``relay.forget`` and
    ``surveys.forget`` have done what needs telling). Returns her pseudonym, and commits."""
    alias = pseudonym(user_id)
    tables = Base.metadata.tables
    # Messages queued that mention her (a nudge about her conversation, a notice naming her case
    # place) go with the ones addressed to her.
    mentioning = await session.execute(
        select(Reminder.id, Reminder.payload).where(cast(Reminder.payload, String).like(f"%{user_id}%"))
    )
    stale = [rid for rid, payload in mentioning.all() if _mentions(payload, user_id)]
    if stale:
        await session.execute(delete(Reminder).where(Reminder.id.in_(stale)))
    # Her id as the object of the team's actions ("role set for user N") is pseudonymised too;
    # the audit log's triggers let exactly these two rewrites through (migration 0008_i15).
    log = tables["audit_log"]
    await session.execute(
        update(log)
        .where(and_(log.c.object_type == "user", log.c.object_id == str(user_id)))
        .values(object_id=str(alias))
    )
    ordered = sorted(PLAN.items(), key=lambda item: item[0] == ("users", "id"))  # the user row last
    for (table_name, column_name), fate in ordered:
        if table_name not in tables or fate == Fate.NOT_A_PERSON:
            continue
        table = tables[table_name]
        column = table.c[column_name]
        if fate == Fate.DELETE:
            await session.execute(delete(table).where(column == user_id))
        elif fate == Fate.PSEUDONYM:
            await session.execute(update(table).where(column == user_id).values({column_name: alias}))
        else:
            await session.execute(update(table).where(column == user_id).values({column_name: None}))
    audit.record(session, actor_id=alias, action="data_deleted", object_type="user", object_id=alias, now=now)
    await session.commit()
    return alias
