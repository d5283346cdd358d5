"""The “add to calendar” file: parsed back with icalendar, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, vDDDTypes

from bot.services.ics import PRODID, filename_for, meeting_ics

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def build(**overrides: object) -> bytes:
    params: dict[str, Any] = {
        "uid": "meeting-42@vmeste-bot",
        "starts_at": datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        "duration_min": 90,
        "summary": "Meeting",
        "description": "Bring nothing.",
        "location": "Room 1",
        "timezone": "Asia/Barnaul",
        "now": NOW,
    }
    params.update(overrides)
    return meeting_ics(**params)


def parse(raw: bytes) -> Calendar:
    assert isinstance(raw, bytes)
    return Calendar.from_ical(raw)


def test_calendar_and_event_fields() -> None:
    cal = parse(build())
    assert str(cal["PRODID"]) == PRODID
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["METHOD"]) == "PUBLISH"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == "meeting-42@vmeste-bot"
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["SUMMARY"]) == "Meeting"
    assert str(event["DESCRIPTION"]) == "Bring nothing."
    assert str(event["LOCATION"]) == "Room 1"
    assert event["DTSTART"].params["TZID"] == "Asia/Barnaul"
    assert event["DTEND"].params["TZID"] == "Asia/Barnaul"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo("Asia/Barnaul"))
    assert end - start == timedelta(minutes=90)


def test_vtimezone_is_included_for_the_tzid() -> None:
    cal = parse(build(timezone="Europe/Berlin"))
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert cal.get_missing_tzids() == set()
    # VTIMEZONE comes before the event that refers to it
    text = build(timezone="Europe/Berlin").decode()
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_alarm_two_hours_before() -> None:
    (event,) = parse(build()).walk("VEVENT")
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert isinstance(alarm["TRIGGER"], vDDDTypes)
    assert alarm["TRIGGER"].dt == timedelta(hours=-2)
    assert str(alarm["DESCRIPTION"])  # required for DISPLAY alarms


def test_location_is_optional() -> None:
    (event,) = parse(build(location=None)).walk("VEVENT")
    assert "LOCATION" not in event
    (event,) = parse(build(location="")).walk("VEVENT")
    assert "LOCATION" not in event


def test_wall_clock_kept_across_dst_change() -> None:
    """Europe/Berlin leaves summer time on 2026-10-25: 14:00 stays 14:00 on both sides."""
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2026, 10, 24, 14, 0, tzinfo=berlin)  # CEST, UTC+2
    after = datetime(2026, 10, 26, 14, 0, tzinfo=berlin)  # CET, UTC+1
    for local in (before, after):
        raw = build(starts_at=local.astimezone(UTC), timezone="Europe/Berlin")
        assert b"DTSTART;TZID=Europe/Berlin:" + local.strftime("%Y%m%dT140000").encode() in raw
        (event,) = parse(raw).walk("VEVENT")
        start = event.decoded("DTSTART")
        assert (start.hour, start.minute) == (14, 0)
        assert start.astimezone(UTC) == local.astimezone(UTC)
    assert before.astimezone(UTC).hour == 12
    assert after.astimezone(UTC).hour == 13
    # same wall clock two days apart: the UTC gap grows by the hour the clocks went back
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(days=2, hours=1)


def test_duration_is_elapsed_time_over_the_clock_change_night() -> None:
    """01:30 CEST + 120 min is 02:30 CET, a local time that occurs twice: DTEND falls back to UTC."""
    starts_at = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST
    (event,) = parse(build(starts_at=starts_at, duration_min=120, timezone="Europe/Berlin")).walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start.astimezone(UTC) == starts_at
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=120)


def test_russian_zone_without_dst() -> None:
    barnaul = ZoneInfo("Asia/Barnaul")
    for month in (1, 7):
        starts_at = datetime(2026, month, 15, 14, 0, tzinfo=barnaul).astimezone(UTC)
        assert starts_at.hour == 7  # UTC+7 all year
        raw = build(starts_at=starts_at, timezone="Asia/Barnaul")
        assert f"DTSTART;TZID=Asia/Barnaul:2026{month:02d}15T140000".encode() in raw
        (tz,) = parse(raw).walk("VTIMEZONE")
        assert not tz.walk("DAYLIGHT")


def test_non_ascii_survives_and_long_lines_are_folded() -> None:
    summary = "Встреча группы «Вместе» — круг поддержки для мам и дочерей, " * 3
    location = "Барнаул, ул. Ленина, 1, каб. 5 (вход со двора; звонок «Вместе»)"
    description = "Первая строка\nВторая: возьмите паспорт; «кавычки», запятые, точки с запятой"
    raw = build(summary=summary, location=location, description=description)
    (event,) = parse(raw).walk("VEVENT")
    assert str(event["SUMMARY"]) == summary
    assert str(event["LOCATION"]) == location
    assert str(event["DESCRIPTION"]) == description
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), max(lines, key=len)
    assert any(line.startswith(b" ") for line in lines)  # continuation lines
    for line in lines:
        line.decode("utf-8")  # folding never splits a multi-byte character


def test_filename_is_local_date_and_time() -> None:
    starts_at = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    assert filename_for(starts_at, "Asia/Barnaul") == "meeting-2026-12-03-1400.ics"
    assert filename_for(starts_at, "Europe/Berlin") == "meeting-2026-12-03-0800.ics"


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        build(starts_at=datetime(2026, 12, 3, 14, 0))
    with pytest.raises(ValueError, match="aware"):
        filename_for(datetime(2026, 12, 3, 14, 0), "Asia/Barnaul")
