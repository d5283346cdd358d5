"""Broadcasts: one message from the team to many people, and its deliveries (one row per recipient).

Composing: ``check_content`` refuses what Telegram would refuse (empty, too long after HTML parsing,
a broken tag, a button link that is not https); ``resolve`` turns an audience (roles, regions, case
stages, categories) into the exact people it reaches now; ``create`` writes the broadcast and one
``BroadcastDelivery`` per recipient in one transaction.

Sending (``bot.jobs.broadcaster``, a lane of the one sender): ``start_due`` turns scheduled broadcasts
whose time has come into sending ones; the deliveries are one of the outbox's queues (``QUEUE``),
claimed, finished, retried and released by ``bot.services.outbox``; a claim older than the lease
goes back to pending (its instance died). Each outcome is one short transaction: ``mark_sent``,
``mark_blocked``, ``mark_failed``, ``retry_later``, ``release``.

Delivery states: pending → sending → sent | blocked | failed, or back to pending (retry, release,
lease); pending → cancelled. ``error`` holds an error type or a code, never a message text.

Every function that writes ends its transaction; the reads do not commit."""

from __future__ import annotations

from bot.services.broadcasts.audience import ROLES, STAGE_ROLES, STAGES, Audience, in_scope, resolve
from bot.services.broadcasts.content import (
    BUTTON_TEXT_LIMIT,
    BUTTON_URL_LIMIT,
    CAPTION_LIMIT,
    KINDS,
    TEXT_LIMIT,
    Content,
    check_content,
    check_url,
    plain_text,
    utf16_len,
)
from bot.services.broadcasts.creating import Created, Listed, cancel, create, recent
from bot.services.broadcasts.progress import (
    Progress,
    claim_progress,
    finish_if_done,
    progress,
    running,
    set_progress_message,
)
from bot.services.broadcasts.sending import (
    BASE_DELAY,
    MAX_ATTEMPTS,
    MAX_DELAY,
    QUEUE,
    Claimed,
    Stored,
    backoff,
    claim,
    content_of,
    mark_blocked,
    mark_failed,
    mark_sent,
    next_due,
    release,
    retry_later,
    start_due,
)
from bot.services.errors import Invalid, Refused

__all__ = [
    "BASE_DELAY",
    "BUTTON_TEXT_LIMIT",
    "BUTTON_URL_LIMIT",
    "CAPTION_LIMIT",
    "KINDS",
    "MAX_ATTEMPTS",
    "MAX_DELAY",
    "QUEUE",
    "ROLES",
    "STAGES",
    "STAGE_ROLES",
    "TEXT_LIMIT",
    "Audience",
    "Claimed",
    "Content",
    "Created",
    "Invalid",
    "Listed",
    "Progress",
    "Refused",
    "Stored",
    "backoff",
    "cancel",
    "check_content",
    "check_url",
    "claim",
    "claim_progress",
    "content_of",
    "create",
    "finish_if_done",
    "in_scope",
    "mark_blocked",
    "mark_failed",
    "mark_sent",
    "next_due",
    "plain_text",
    "progress",
    "recent",
    "release",
    "resolve",
    "retry_later",
    "running",
    "set_progress_message",
    "start_due",
    "utf16_len",
]
