"""One clock, in Beijing time (SPEC §6).

The rule for time:

- **An instant is stored in UTC**, every one the same way: on PostgreSQL as `timestamptz`, on
  SQLite as UTC text with the zone restored on load. In the code it is always an aware datetime;
  the column type (`app.models.types.UtcDateTime`) turns what it reads back into UTC-aware values.
- **A day, a month and a year are Beijing ones** (Asia/Shanghai, UTC+8, no daylight saving):
  "today", a report's year, the 5 and 30 working-day rules, the day a fee standard is in force, the
  date printed on a filing. Their bounds as instants come from here (`day_bounds`, `month_bounds`,
  `year_bounds`).
- **Input without an offset is Beijing time** (SPEC §5): a form, an API call or a search filter that
  gives "2026-06-09 07:30" means 07:30 in Beijing; the column type reads a naive datetime that way
  too, so no layer guesses differently. Input with an offset is converted.
- **Output is Beijing time**: every screen, export, e-mail and API answer shows `local(...)`.

Nothing else in the application asks the system for the time (`date.today()`, `datetime.now()`):
services take `now` as a parameter, and their callers get it from `now()` here.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Beijing (between 00:00 and 08:00 Beijing time it is not the UTC date)."""
    return now().astimezone(BEIJING).date()


def aware(value: datetime) -> datetime:
    """An instant in UTC; a naive datetime is Beijing time (the rule for input without an offset)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(UTC)


def local(value: datetime | None) -> datetime | None:
    """The Beijing wall-clock time of an instant (aware, tzinfo Asia/Shanghai)."""
    return None if value is None else aware(value).astimezone(BEIJING)


def local_date(value: datetime | date | None) -> date | None:
    """The Beijing date of an instant (a date stays itself)."""
    if value is None or not isinstance(value, datetime):
        return value
    return local(value).date()


def start_of(day: date) -> datetime:
    """The instant Beijing's `day` begins (midnight Beijing), in UTC."""
    return datetime.combine(day, time.min, BEIJING).astimezone(UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    return start_of(day), start_of(day + timedelta(days=1))


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start_of(date(year, month, 1)), start_of(following)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January 00:00, next 1 January 00:00) Beijing time, as UTC instants."""
    return start_of(date(year, 1, 1)), start_of(date(year + 1, 1, 1))


def parse_local(text: str) -> datetime:
    """An ISO date-time as people and clients send it: without an offset it is Beijing time."""
    return aware(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


def hours(span: timedelta) -> Decimal:
    """A span of time in hours, to the hundredth (half up): the hours of a use, registered or measured."""
    return (Decimal(span.total_seconds()) / Decimal(3600)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def hours_between(start: datetime, end: datetime) -> Decimal:
    return hours(end - start)


def display(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as the offices read it (Beijing time); blank for none."""
    return "" if value is None else local(value).strftime(fmt)
