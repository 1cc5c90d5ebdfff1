"""Tests for reminder timing: parsing, working hours across zones and DST, schedules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reminders import (
    EXPIRY_OFFSETS,
    WorkingHours,
    expiry_reminder_times,
    into_working_hours,
    parse_duration,
    parse_schedule,
    parse_working_hours,
    reminder_due,
    verification_reminder_times,
)

NY = ZoneInfo("America/New_York")
NINE_TO_SIX = WorkingHours(start=time(9), end=time(18))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        (" 4H ", timedelta(hours=4)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "10", "1y", "1.5h", "-1h", "1h x", "one hour"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_schedule() -> None:
    assert parse_schedule("1h, 4h,1d") == (
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(days=1),
    )


def test_parse_schedule_names_the_bad_item() -> None:
    with pytest.raises(ValueError, match=r"item 2 .*“4x”"):
        parse_schedule("1h,4x,1d")
    with pytest.raises(ValueError, match=r"item 3 \(“0m”\) must be longer than zero"):
        parse_schedule("1h,4h,0m")
    with pytest.raises(ValueError, match="empty"):
        parse_schedule(" , ")


def test_parse_working_hours() -> None:
    assert parse_working_hours("09:00-18:00") == NINE_TO_SIX
    assert parse_working_hours("9-17:30") == WorkingHours(start=time(9), end=time(17, 30))
    assert parse_working_hours("any") is None
    assert parse_working_hours(" ANY ") is None
    sun_thu = parse_working_hours("08:00–16:00 sun-thu")
    assert sun_thu is not None and sun_thu.weekdays == frozenset({6, 0, 1, 2, 3})
    weekend = parse_working_hours("10:00-14:00 sat,sun")
    assert weekend is not None and weekend.weekdays == frozenset({5, 6})
    all_day = parse_working_hours("00:00-24:00 mon-sun")
    assert all_day == WorkingHours(start=time(0), end=time(0), weekdays=frozenset(range(7)))


@pytest.mark.parametrize("text", ["", "9am", "09:00", "25:00-26:00", "09:00-18:00 funday"])
def test_parse_working_hours_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_working_hours(text)


# --- working hours ---------------------------------------------------------------------------


def test_friday_evening_in_new_york_moves_to_monday_morning() -> None:
    friday_evening = datetime(2026, 11, 13, 19, 30, tzinfo=NY)  # a Friday
    moved = into_working_hours(
        friday_evening.astimezone(UTC), tz="America/New_York", hours=NINE_TO_SIX
    )
    assert moved.tzinfo is UTC
    assert moved.astimezone(NY) == datetime(2026, 11, 16, 9, 0, tzinfo=NY)
    assert moved == utc(2026, 11, 16, 14, 0)


def test_inside_hours_is_unchanged() -> None:
    tuesday_noon = datetime(2026, 11, 17, 12, 5, tzinfo=NY).astimezone(UTC)
    assert (
        into_working_hours(tuesday_noon, tz="America/New_York", hours=NINE_TO_SIX) == tuesday_noon
    )


def test_early_morning_moves_to_nine_the_same_day() -> None:
    early = datetime(2026, 11, 17, 6, 0, tzinfo=NY).astimezone(UTC)
    moved = into_working_hours(early, tz="America/New_York", hours=NINE_TO_SIX)
    assert moved.astimezone(NY) == datetime(2026, 11, 17, 9, 0, tzinfo=NY)


def test_dst_change_keeps_local_nine() -> None:
    # US clocks go back on Sunday 2026-11-01: Friday 09:00 is 13:00 UTC, Monday 09:00 is 14:00 UTC.
    saturday = utc(2026, 10, 31, 16, 0)
    moved = into_working_hours(saturday, tz="America/New_York", hours=NINE_TO_SIX)
    assert moved == utc(2026, 11, 2, 14, 0)
    # Spring forward (Sunday 2026-03-08): Monday 09:00 EDT is 13:00 UTC.
    assert into_working_hours(
        utc(2026, 3, 7, 12, 0), tz="America/New_York", hours=NINE_TO_SIX
    ) == utc(2026, 3, 9, 13, 0)


def test_start_inside_a_dst_gap_opens_when_the_clock_jumps() -> None:
    # 02:30 does not exist on 2026-03-08 in New York; clocks jump from 02:00 EST to 03:00 EDT.
    night = WorkingHours(start=time(2, 30), end=time(5), weekdays=frozenset(range(7)))
    moved = into_working_hours(utc(2026, 3, 8, 6, 0), tz="America/New_York", hours=night)
    assert moved == utc(2026, 3, 8, 7, 0)  # the jump itself: 03:00 EDT
    assert moved.astimezone(NY).time() == time(3, 0)


def test_overnight_hours() -> None:
    nights = WorkingHours(start=time(22), end=time(6))  # spans starting Mon-Fri evenings
    assert into_working_hours(utc(2026, 11, 17, 12), tz="UTC", hours=nights) == utc(
        2026, 11, 17, 22
    )
    # Saturday 03:00 still belongs to Friday night's span.
    assert into_working_hours(utc(2026, 11, 21, 3), tz="UTC", hours=nights) == utc(2026, 11, 21, 3)
    # Saturday 07:00: the next span starts on Monday evening.
    assert into_working_hours(utc(2026, 11, 21, 7), tz="UTC", hours=nights) == utc(2026, 11, 23, 22)


def test_any_time_and_unknown_zone() -> None:
    saturday = utc(2026, 11, 14, 3, 0)
    assert into_working_hours(saturday, tz="America/New_York", hours=None) == saturday
    # An unknown zone behaves as UTC.
    assert into_working_hours(saturday, tz="Mars/Olympus_Mons", hours=NINE_TO_SIX) == utc(
        2026, 11, 16, 9, 0
    )
    assert into_working_hours(saturday, tz="", hours=NINE_TO_SIX) == utc(2026, 11, 16, 9, 0)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        into_working_hours(datetime(2026, 1, 1), tz="UTC", hours=NINE_TO_SIX)


ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Santiago",  # changes at midnight
    "Pacific/Apia",  # skipped a whole day in 2011
    "Not/A_Zone",
]
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
hours_strategy = st.builds(
    WorkingHours,
    start=times,
    end=times,
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
)
instants = st.datetimes(
    min_value=datetime(2010, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo("UTC" if name == "Not/A_Zone" else name)


@settings(max_examples=300, deadline=None)
@given(when=instants, tz=st.sampled_from(ZONES), hours=hours_strategy)
def test_into_working_hours_properties(when: datetime, tz: str, hours: WorkingHours) -> None:
    moved = into_working_hours(when, tz=tz, hours=hours)
    zone = _zone(tz)
    assert moved >= when
    assert hours.contains(moved.astimezone(zone))
    # It is the *first* such moment: one second earlier is either before `when` or outside.
    before = moved - timedelta(seconds=1)
    assert before < when or not hours.contains(before.astimezone(zone))
    # Idempotent.
    assert into_working_hours(moved, tz=tz, hours=hours) == moved


# --- schedules -------------------------------------------------------------------------------

STARTED = utc(2026, 11, 16, 9, 0)
SCHEDULE = (timedelta(hours=1), timedelta(hours=4), timedelta(days=1))


def test_reminder_due_and_repeat() -> None:
    assert reminder_due(step=0, started=STARTED, schedule=SCHEDULE) == STARTED + timedelta(hours=1)
    assert reminder_due(step=1, started=STARTED, schedule=SCHEDULE) == STARTED + timedelta(hours=5)
    assert reminder_due(step=2, started=STARTED, schedule=SCHEDULE) == STARTED + timedelta(
        days=1, hours=5
    )
    assert reminder_due(step=4, started=STARTED, schedule=SCHEDULE) == STARTED + timedelta(
        days=3, hours=5
    )


def test_verification_reminder_times_until_window_end() -> None:
    window_end = STARTED + timedelta(days=3, hours=5)  # exclusive: step 4 falls exactly on it
    assert verification_reminder_times(
        started=STARTED, schedule=SCHEDULE, window_end=window_end
    ) == [
        STARTED + timedelta(hours=1),
        STARTED + timedelta(hours=5),
        STARTED + timedelta(days=1, hours=5),
        STARTED + timedelta(days=2, hours=5),
    ]
    assert verification_reminder_times(started=STARTED, schedule=SCHEDULE, window_end=STARTED) == []


def test_schedule_errors() -> None:
    with pytest.raises(ValueError):
        reminder_due(step=0, started=STARTED, schedule=())
    with pytest.raises(ValueError):
        verification_reminder_times(
            started=STARTED, schedule=(timedelta(0),), window_end=STARTED + timedelta(days=1)
        )


durations = st.integers(min_value=1, max_value=7 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=200, deadline=None)
@given(
    schedule=st.lists(durations, min_size=1, max_size=6),
    window=st.integers(min_value=0, max_value=60 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
)
def test_schedule_properties(schedule: list[timedelta], window: timedelta) -> None:
    window_end = STARTED + window
    got = verification_reminder_times(started=STARTED, schedule=schedule, window_end=window_end)
    # Strictly increasing, all inside [started, window_end), and nothing left out at the end.
    assert all(a < b for a, b in zip(got, got[1:], strict=False))
    assert all(STARTED < t < window_end for t in got)
    assert reminder_due(step=len(got), started=STARTED, schedule=schedule) >= window_end
    # The listed intervals come first, then the last interval repeats.
    gaps = [b - a for a, b in zip([STARTED, *got], got, strict=False)]
    for i, gap in enumerate(gaps):
        assert gap == schedule[min(i, len(schedule) - 1)]


# --- expiry ----------------------------------------------------------------------------------


def test_expiry_reminder_times() -> None:
    not_after = utc(2027, 2, 14, 12, 0)
    assert [d for d, _ in expiry_reminder_times(not_after, now=utc(2026, 11, 1))] == [30, 14, 7, 1]
    assert expiry_reminder_times(not_after, now=not_after - timedelta(days=10)) == [
        (7, not_after - timedelta(days=7)),
        (1, not_after - timedelta(days=1)),
    ]
    # "Still in the future" is strict: a reminder due exactly now has been handled.
    assert expiry_reminder_times(not_after, now=not_after - timedelta(days=1)) == []
    assert [o.days for o in EXPIRY_OFFSETS] == [30, 14, 7, 1]


@pytest.mark.parametrize(
    ("text", "words"),
    [("9-5", "use the 24-hour clock, e.g. 09:00-17:00"), ("09:00-09:00", "empty window")],
)
def test_working_hours_that_are_surely_a_slip_are_refused(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_working_hours(text)
    assert parse_working_hours("22:00-06:00") is not None  # a night shift is meant
