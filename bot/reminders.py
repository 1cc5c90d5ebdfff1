"""When the next reminder is due: durations, schedules and working hours (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PART = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS: frozenset[int] = frozenset(range(5))  # Monday=0 ... Friday=4

#: How long before ``not_after`` expiry reminders are sent.
EXPIRY_OFFSETS: tuple[timedelta, ...] = (
    timedelta(days=30),
    timedelta(days=14),
    timedelta(days=7),
    timedelta(days=1),
)


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "15m", "4h", "1d", "2w" (or combined, "1h30m"); raise ValueError if bad."""
    cleaned = text.strip().replace(" ", "")
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts).lower() != cleaned.lower():
        raise ValueError(
            f"“{text}” is not a duration: write a number and a unit, "
            "s (seconds), m (minutes), h (hours), d (days) or w (weeks), e.g. 15m or 1d."
        )
    return sum((int(n) * _UNITS[u.lower()] for n, u in parts), timedelta())


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """Parse a comma-separated reminder schedule such as "1h,4h,1d" (all strictly positive)."""
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise ValueError("The reminder schedule is empty: list intervals such as 1h,4h,1d.")
    steps = []
    for number, item in enumerate(items, start=1):
        try:
            step = parse_duration(item)
        except ValueError as exc:
            raise ValueError(f"Reminder schedule item {number} is wrong: {exc}") from None
        if step <= timedelta():
            raise ValueError(
                f"Reminder schedule item {number} (“{item}”) must be longer than zero."
            )
        steps.append(step)
    return tuple(steps)


@dataclass(frozen=True)
class WorkingHours:
    """Local hours in which reminders may be sent; ``end <= start`` means the span crosses midnight.

    ``weekdays`` holds the days a span may *start* on (Monday=0).
    """

    start: time
    end: time
    weekdays: frozenset[int] = WEEKDAYS

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("Working hours need at least one weekday (Monday=0 ... Sunday=6).")

    def contains(self, local: datetime) -> bool:
        """Whether a local wall-clock time falls inside these hours."""
        at, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return day in self.weekdays and self.start <= at < self.end
        # Overnight (or 24 h) spans belong to the day they start on.
        return (day in self.weekdays and at >= self.start) or (
            (day - 1) % 7 in self.weekdays and at < self.end
        )


def _parse_clock(text: str, *, whole: str) -> time:
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?", text.strip())
    if match:
        hour, minute = int(match[1]), int(match[2] or 0)
        if hour == 24 and minute == 0:
            return time(0, 0)  # "24:00" as an end means midnight
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"“{text.strip()}” in “{whole}” is not a time of day like 09:00.")


def _parse_days(text: str, *, whole: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.lower().replace(" ", "").split(","):
        ends = item.split("-")
        if len(ends) > 2 or any(end[:3] not in _DAYS for end in ends):
            raise ValueError(
                f"“{item}” in “{whole}” is not a day or day range like mon-fri or sat,sun."
            )
        first, last = _DAYS.index(ends[0][:3]), _DAYS.index(ends[-1][:3])
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def parse_working_hours(text: str) -> WorkingHours | None:
    """Parse "09:00-18:00" (Mon–Fri), "09:00-18:00 sun-thu", or "any" (None: any time)."""
    cleaned = text.strip().replace("–", "-")
    if cleaned.lower() in {"any", "always", "anytime", "24/7"}:
        return None
    span, _, days = cleaned.partition(" ")
    start_text, sep, end_text = span.partition("-")
    if not sep:
        raise ValueError(
            f"“{text}” is not a working-hours range: write start-end like 09:00-18:00, "
            "optionally followed by days (09:00-18:00 mon-fri), or “any”."
        )
    start = _parse_clock(start_text, whole=text)
    end = _parse_clock(end_text, whole=text)
    if start == end and end_text.strip() not in ("24", "24:00"):  # 00:00-24:00 is all day
        raise ValueError(f"“{text}” is an empty window; write e.g. 09:00-18:00, or “any”.")
    if end < start and ":" not in start_text + end_text and start.hour <= 12 and end.hour <= 12:
        # "9-5" on a 12-hour habit would silently mean 09:00 to 05:00 the next morning.
        raise ValueError(
            f"“{text}” would run overnight from {start:%H:%M} to {end:%H:%M}; use the 24-hour "
            f"clock, e.g. {start:%H:%M}-{end.hour + 12:02d}:{end:%M}."
        )
    weekdays = _parse_days(days, whole=text) if days.strip() else WEEKDAYS
    return WorkingHours(start=start, end=end, weekdays=weekdays)


def _zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz) if tz else UTC
    except (ZoneInfoNotFoundError, ValueError):
        # An unknown zone (a Slack profile can hold anything) falls back to UTC, not an error.
        return UTC


def _instants_at(day: date, at: time, zone: tzinfo) -> list[datetime]:
    """UTC instants whose local wall clock reads ``day at`` (none in a DST gap, two in a fold)."""
    found = []
    for fold in (0, 1):
        instant = datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, at):
            found.append(instant)
    return found


def _transitions(first: datetime, last: datetime, zone: tzinfo) -> list[datetime]:
    """UTC instants in [first, last] at which the zone's offset changes (DST and the like)."""
    found = []
    step = timedelta(hours=12)  # zones never change offset twice within 12 hours
    lo = first.replace(microsecond=0)  # whole seconds keep the bisection below finite
    while lo < last:
        hi = min(lo + step, last)
        if lo.astimezone(zone).utcoffset() != hi.astimezone(zone).utcoffset():
            a, b = lo, hi  # invariant: offset(a) == offset(lo) != offset(b)
            while b - a > timedelta(seconds=1):
                mid = (a + (b - a) / 2).replace(microsecond=0)
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    a = mid
                else:
                    b = mid
            found.append(b)
        lo = hi
    return found


def into_working_hours(when: datetime, *, tz: str, hours: WorkingHours | None) -> datetime:
    """Return the first moment >= ``when`` inside ``hours`` in zone ``tz``, as aware UTC."""
    if when.tzinfo is None:
        raise ValueError("into_working_hours needs an aware datetime (UTC).")
    when = when.astimezone(UTC)
    if hours is None:
        return when
    zone = _zone(tz)
    # Time enters the working span either when the wall clock reaches ``start`` or when the
    # clock jumps (DST): collect those instants over the next 9 days and take the first.
    local_day = when.astimezone(zone).date()
    candidates = [when]
    for offset in range(-1, 9):
        candidates += _instants_at(local_day + timedelta(days=offset), hours.start, zone)
    candidates += _transitions(when, when + timedelta(days=9), zone)
    inside = [c for c in candidates if c >= when and hours.contains(c.astimezone(zone))]
    return min(inside)


def reminder_due(*, step: int, started: datetime, schedule: Sequence[timedelta]) -> datetime:
    """When reminder ``step`` (0-based) is due; after the schedule, its last interval repeats."""
    if not schedule:
        raise ValueError("The reminder schedule is empty.")
    if step < 0:
        raise ValueError("Reminder steps count from 0.")
    listed = min(step + 1, len(schedule))
    extra = step + 1 - listed
    return started + sum(schedule[:listed], timedelta()) + extra * schedule[-1]


def verification_reminder_times(
    *, started: datetime, schedule: Sequence[timedelta], window_end: datetime
) -> list[datetime]:
    """Every reminder time from ``started`` until ``window_end`` (exclusive)."""
    if any(step <= timedelta() for step in schedule):
        raise ValueError("Every reminder interval must be longer than zero.")
    times = []
    step = 0
    while (due := reminder_due(step=step, started=started, schedule=schedule)) < window_end:
        times.append(due)
        step += 1
    return times


def expiry_reminder_times(not_after: datetime, *, now: datetime) -> list[tuple[int, datetime]]:
    """(days before expiry, when) for each expiry reminder still in the future."""
    return [
        (offset.days, not_after - offset) for offset in EXPIRY_OFFSETS if not_after - offset > now
    ]
