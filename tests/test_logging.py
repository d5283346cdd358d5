"""Logs carry where an error happened, never what a person wrote."""

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
