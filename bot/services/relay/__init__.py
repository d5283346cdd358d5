"""Conversations with a person: the rules of the curator hand-off, without Telegram.

One conversation per participant (reopened when she writes again), one forum topic for it in the
curators' group, created exactly once however many messages arrive together (the instance that wins
``claim_topic`` creates it; the others' messages wait in the outbox). Every relayed message is a row
written before the copy is sent: the outbox that survives a crash or a 429, and the map of message ids
both ways, so replies keep their threading and edits follow."""

from __future__ import annotations

from bot.services.errors import Refused
from bot.services.relay.history import forget, purge
from bot.services.relay.hours import Hours, hours_of, in_hours, mark_auto_reply, next_opening, still_waiting_since
from bot.services.relay.messages import (
    Counterpart,
    Task,
    add,
    conversation_of_reply,
    counterpart_of,
    header_in,
    record_header,
    update_text,
)
from bot.services.relay.sending import (
    MAX_ATTEMPTS,
    QUEUE,
    SEND_LEASE,
    SWEEP_AFTER,
    claim,
    claim_due,
    delivered,
    due,
    give_back,
    next_due,
    release,
    waiting_in_outbox,
    waits_for_the_team,
)
from bot.services.relay.team import Waiting, assign, close, on_duty, open_conversations, rate, region_title, reopen
from bot.services.relay.threads import (
    TOPIC_LEASE,
    Thread,
    by_topic,
    by_user,
    claim_topic,
    get,
    is_open,
    open_for,
    set_topic,
)

__all__ = [
    "MAX_ATTEMPTS",
    "QUEUE",
    "SEND_LEASE",
    "SWEEP_AFTER",
    "TOPIC_LEASE",
    "Counterpart",
    "Hours",
    "Refused",
    "Task",
    "Thread",
    "Waiting",
    "add",
    "assign",
    "by_topic",
    "by_user",
    "claim",
    "claim_due",
    "claim_topic",
    "close",
    "conversation_of_reply",
    "counterpart_of",
    "delivered",
    "due",
    "forget",
    "get",
    "give_back",
    "header_in",
    "hours_of",
    "in_hours",
    "is_open",
    "mark_auto_reply",
    "next_due",
    "next_opening",
    "on_duty",
    "open_conversations",
    "open_for",
    "purge",
    "rate",
    "record_header",
    "region_title",
    "release",
    "reopen",
    "set_topic",
    "still_waiting_since",
    "update_text",
    "waiting_in_outbox",
    "waits_for_the_team",
]
