"""“Add to calendar”: one fixed meeting as an iCalendar file (RFC 5545), built with ``icalendar``.

The caller words every text (already translated); this module adds no personal data of its own.
The start is written in the meeting's own IANA zone (``DTSTART;TZID=…``, with its ``VTIMEZONE``),
so a calendar keeps the wall-clock time even across a daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PRODID = "-//vmeste-bot//meetings//RU"
REMIND_BEFORE = timedelta(hours=2)


def _local(starts_at: datetime, timezone: str) -> datetime:
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise ValueError("starts_at must be timezone-aware")
    return starts_at.astimezone(ZoneInfo(timezone))


def _unambiguous(moment: datetime) -> datetime:
    """The local time, unless the clock shows it twice (or never) that night: then UTC.

    ``DTSTART;TZID=…`` cannot say which of two 02:30s is meant (RFC 5545 takes the first one).
    """
    other = moment.replace(fold=1 - moment.fold)
    return moment if other.utcoffset() == moment.utcoffset() else moment.astimezone(UTC)


def meeting_ics(
    *,
    uid: str,
    starts_at: datetime,
    duration_min: int,
    summary: str,
    description: str,
    location: str | None,
    timezone: str,
    now: datetime,
) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) with one VEVENT and a display reminder two hours before."""
    # icalendar is some 3 MiB of every process's memory (2.6 measured), for a file a person
    # asks for now and then: imported on the first one.
    from icalendar import Alarm, Calendar, Event  # noqa: PLC0415  (deferred: 3 MiB, needed only for an .ics)

    if duration_min <= 0:
        raise ValueError("duration_min must be positive")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    start = _local(starts_at, timezone)
    # Elapsed time, not wall-clock: a meeting over the night of a clock change still lasts duration_min.
    end = (start.astimezone(UTC) + timedelta(minutes=duration_min)).astimezone(start.tzinfo)

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", _unambiguous(start))
    event.add("dtend", _unambiguous(end))
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)  # DISPLAY alarms require a DESCRIPTION (RFC 5545 §3.6.6)
    alarm.add("trigger", -REMIND_BEFORE)  # relative to DTSTART
    event.add_component(alarm)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    # VTIMEZONE for the TZID used; the range only needs to cover the meeting itself.
    calendar.add_missing_timezones(
        first_date=(start - timedelta(days=366)).date(),
        last_date=(end + timedelta(days=366)).date(),
    )
    return calendar.to_ical()


def filename_for(starts_at: datetime, timezone: str) -> str:
    """``meeting-2026-12-03-1400.ics``: the local date and time of the start."""
    return f"meeting-{_local(starts_at, timezone):%Y-%m-%d-%H%M}.ics"
