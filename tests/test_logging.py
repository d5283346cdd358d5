"""Logs carry where an error happened, never what a person wrote."""

import io
import logging
from datetime import UTC, datetime

from aiogram.types import Chat, Message, User

from bot import logs
from handlers.errors import where

WRITTEN_BY_HER = "муж избил меня, телефон +7 900 000-00-00"


def test_traceback_without_the_message() -> None:
    def handler(text: str) -> None:
        raise ValueError(text)

    try:
        handler(WRITTEN_BY_HER)
    except ValueError as exc:
        logged = where(exc)
    assert "in handler" in logged and "test_logging.py" in logged
    assert WRITTEN_BY_HER not in logged


# ---------------------------------------------------------------- the filter (issue 15)

NAME, SURNAME, HANDLE, WORDS = "Канарейкаимя", "Канарейкафамилия", "canary_handle", "канарейка слова"


def _record_through(logger_name: str, *args: object, exc: BaseException | None = None) -> str:
    """What one handler on the root logger writes, with the filter installed as at start-up."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logs.install()
    try:
        logger = logging.getLogger(logger_name)
        if exc is not None:
            try:
                raise exc
            except BaseException:
                logger.exception("failed: %s", *args)
        else:
            logger.debug(*args)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return stream.getvalue()


def _message() -> Message:
    person = User(id=42, is_bot=False, first_name=NAME, last_name=SURNAME, username=HANDLE, language_code="ru")
    chat = Chat(id=42, type="private", first_name=NAME, last_name=SURNAME, username=HANDLE)
    return Message(message_id=1, date=datetime.now(UTC), chat=chat, from_user=person, text=WORDS)


def test_a_library_debug_line_with_the_whole_message_keeps_ids_only() -> None:
    """aiogram_dialog prints Telegram objects whole at DEBUG; the log keeps the ids."""
    written = _record_through("aiogram_dialog.manager", "Dialog start: %s %r", _message().chat, _message())
    assert "42" in written
    assert [c for c in (NAME, SURNAME, HANDLE, WORDS) if c in written] == []


def test_dicts_captions_phones_and_tracebacks_are_scrubbed() -> None:
    written = _record_through(
        "bot.anything", "payload %s", {"caption": WORDS, "first_name": NAME, "phone_number": "+7 900 000-00-00"}
    )
    assert [c for c in (NAME, WORDS, "900 000") if c in written] == []
    crashed = _record_through("bot.anything", 7, exc=ValueError(f"text='{WORDS}' username=\"{HANDLE}\""))
    assert "ValueError" in crashed and WORDS not in crashed and HANDLE not in crashed


def test_redact_keeps_what_a_log_is_for() -> None:
    line = "Update id=5 is handled. Duration 12 ms by bot id=1 chat_id=42 state='MenuSG:main'"
    assert logs.redact(line) == line
    assert logs.redact("first_name='Анна' id=3") == "first_name='…' id=3"
