"""The validators of everything that comes from outside (bot/services/parse.py)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import cases, parse

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),  # one past BIGINT
        ("99999999999999999999", None),
        ("0", None),
        ("-5", None),
        ("²", None),  # str.isdigit() is true for these
        ("١٢", None),
        ("１２", None),
        ("1e5", None),
        (" 12", None),
        ("", None),
        (None, None),
        ("12\x00", None),
    ],
)
def test_positive_id(raw: str | None, expected: int | None) -> None:
    assert parse.positive_id(raw) == expected


def test_command_id_forgives_spaces_and_a_hash() -> None:
    assert parse.command_id("  #42 ") == 42
    assert parse.command_id("# ²") is None
    assert parse.command_id("1e5") is None


def test_small_and_chat_ids() -> None:
    assert parse.small("5", low=1, high=5) == 5
    assert parse.small("6", low=1, high=5) is None
    assert parse.chat_id("-1001234567890") == -1001234567890
    assert parse.chat_id("0") is None
    assert parse.chat_id("-9223372036854775809") is None


def test_callback_parts() -> None:
    assert parse.callback_parts("ci:12:d", "ci", 2) == ["12", "d"]
    assert parse.callback_parts("ci:12", "ci", 2) is None
    assert parse.callback_parts("ci:12:d:x", "ci", 2) is None
    assert parse.callback_parts("cix:12:d", "ci", 2) is None
    assert parse.callback_parts(None, "ci", 2) is None
    assert parse.callback_parts("ci:" + "1" * 70 + ":d", "ci", 2) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("31.12.2026", date(2026, 12, 31)),
        ("31.12.26", date(2026, 12, 31)),
        ("31/12/2026", date(2026, 12, 31)),
        ("2026-12-31", date(2026, 12, 31)),
        ("1.2.2027", date(2027, 2, 1)),
        ("²².²².²⁰²⁶", None),
        ("١٢.١٢.٢٠٢٦", None),
        ("31.02.2026", None),
        ("31.12.2126", None),  # out of the sane range
        ("31.12.02026", None),
        ("99999999999999999999.1.1", None),
        ("", None),
        ("завтра", None),
    ],
)
def test_day(raw: str, expected: date | None) -> None:
    assert parse.day(raw, today=TODAY) == expected
    if expected is None:
        with pytest.raises(cases.Invalid):
            cases.parse_day(raw, today=TODAY)
    else:
        assert cases.parse_day(raw, today=TODAY) == expected


def test_codes() -> None:
    assert parse.region_code(" Altai_Krai ") == "altai_krai"
    assert parse.region_code("altai krai") is None
    assert parse.region_code("алтай") is None
    assert parse.region_code("x\x00") is None
    assert parse.case_code("k7qm-3xpa") == "K7QM3XPA"
    assert parse.case_code("________") is None
    assert parse.case_code("Ｋ７ＱＭ３ＸＰＡ") is None


@settings(max_examples=300, derandomize=True, database=None)
@given(st.text())
def test_nothing_raises_and_every_id_fits_a_bigint(raw: str) -> None:
    for value in (parse.positive_id(raw), parse.command_id(raw), parse.chat_id(raw), parse.storage_key_part(raw)):
        assert value is None or -(2**63) <= value < 2**63
    positive = parse.positive_id(raw)
    assert positive is None or positive > 0
    assert parse.callback_parts(raw, "ci", 2) is None or len(parse.callback_parts(raw, "ci", 2) or []) == 2
    day = parse.day(raw, today=TODAY)
    assert day is None or abs(day.year - TODAY.year) <= 3
    region, case = parse.region_code(raw), parse.case_code(raw)
    assert region is None or region.isascii()
    assert case is None or case.isascii()


@pytest.mark.parametrize(("raw", "ok"), [("12", True), ("²", False), ("١٢", False), ("9223372036854775808", False)])
def test_digits_is_the_drop_in_for_isdigit(raw: str, ok: bool) -> None:
    assert parse.digits(raw) is ok
