"""The periods of the monthly self-check and the quarterly review: a month "2026-06", a quarter "2026-Q2", and the
school's terms (the first month checked, the working days after a period's end by which it is due)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Terms:
    """The school's settings of the duty: the first month checked, and the working days after a month's (a
    quarter's) end by which its check (review) is due."""

    since: str = "2026-06"
    check_days: int = 5
    review_days: int = 10

    @classmethod
    def of(cls, config):
        return cls(config["SELF_CHECKS_SINCE"], config["SELF_CHECK_DUE_WORKING_DAYS"], config["REVIEW_DUE_WORKING_DAYS"])


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def quarter_of(period_or_day) -> str:
    if isinstance(period_or_day, date):
        year, month = period_or_day.year, period_or_day.month
    else:
        year, month = int(period_or_day[:4]), int(period_or_day[5:7])
    return f"{year}-Q{(month - 1) // 3 + 1}"


def months_of(quarter: str) -> list[str]:
    year, q = int(quarter[:4]), int(quarter[-1])
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def last_day(period: str) -> date:
    """The last day of a month ("2026-06") or a quarter ("2026-Q2")."""
    month = months_of(period)[-1] if "Q" in period else period
    year, m = int(month[:4]), int(month[5:7])
    return date(year + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    found, year, month = [], int(first[:4]), int(first[5:7])
    while f"{year}-{month:02d}" <= last:
        found.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def is_month(text) -> bool:
    return isinstance(text, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text, re.ASCII) is not None


def is_quarter(text) -> bool:
    return isinstance(text, str) and re.fullmatch(r"\d{4}-Q[1-4]", text, re.ASCII) is not None
