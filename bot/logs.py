"""Logs without people: a filter that removes names, usernames, phones, message texts and captions
from every record, ours or a library's.

aiogram and aiogram_dialog print whole Telegram objects at DEBUG (``Chat(id=…, first_name='…',
username='…')``, ``Message(…, text='…')``); a traceback may carry what an exception was raised with.
``install`` puts ``Redact`` on the root logger and on each of its handlers at start-up, so every
record that reaches a handler is rendered once, scrubbed, and passed on without its arguments.
Ids, types and codes stay: they are what a log is for.
"""

from __future__ import annotations

import logging
import re

# Fields of Telegram objects (and of our own dicts) that may hold a person's words or name.
SENSITIVE_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "username",
    "display_name",
    "phone_number",
    "phone",
    "vcard",
    "email",
    "bio",
    "text",
    "caption",
    "quote",
    "title",
    "name",
    "description",
    "address",
    "question",
    "explanation",
    "query",
    "emoji_status_custom_emoji_id",
    "active_usernames",
    "data",
    "place",
    "comment",
    "consequences",
    "reason",
)
MASK = "'…'"
_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_FIELD = re.compile(
    r"""(?P<key>(?<![\w])['"]?(?:""" + "|".join(SENSITIVE_FIELDS) + r""")['"]?)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>""" + _QUOTED + r"""|\[[^\]]*\])"""
)
_PHONE = re.compile(r"\+\d[\d\s().-]{7,}\d")


def redact(text: str) -> str:
    """``first_name='Анна'`` → ``first_name='…'``, ``"text": "…"`` likewise, ``+7 900 …`` → ``+…``."""
    text = _FIELD.sub(lambda m: m.group("key") + m.group("sep") + MASK, text)
    return _PHONE.sub("+…", text)


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep only the template
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, "_redacted", True)  # noqa: B010 - LogRecord has no such field
        return True


def install(logger: logging.Logger | None = None) -> Redact:
    """Adds the filter to the logger (root by default) and to each of its handlers, once."""
    target = logger or logging.getLogger()
    existing = next((f for f in target.filters if isinstance(f, Redact)), None)
    redact_filter = existing or Redact()
    if existing is None:
        target.addFilter(redact_filter)
    for handler in target.handlers:
        if not any(isinstance(f, Redact) for f in handler.filters):
            handler.addFilter(redact_filter)
    return redact_filter
