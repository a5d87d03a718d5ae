"""Chinese working days (SPEC §2): statutory holidays and make-up working weekends (调休).

`chinesecalendar` knows the years the State Council has published; for later years the
admin-maintained WorkdayOverride table decides, then plain Monday–Friday, and every answer says
whether it rested on official data, so the UI can say when a deadline was computed without it.
An override also wins over the package (a correction the package has not caught up with).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar
import sqlalchemy as sa

from app.models import WorkdayOverride


@dataclass(frozen=True)
class Deadline:
    day: date
    official: bool  # False: some day on the way was not in chinesecalendar nor overridden


@dataclass
class WorkCalendar:
    overrides: dict = field(default_factory=dict)  # date -> is a working day

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(is a working day, from official data or an override)."""
        if day in self.overrides:
            return self.overrides[day], True
        try:
            return chinese_calendar.is_workday(day), True
        except NotImplementedError:  # a year the package has no data for
            return day.weekday() < 5, False

    def add_working_days(self, start: date, count: int) -> Deadline:
        """The `count`-th working day after `start` (start itself not counted)."""
        day, official, left = start, True, count
        while left > 0:
            day += timedelta(days=1)
            workday, known = self.is_workday(day)
            official = official and known
            if workday:
                left -= 1
        return Deadline(day, official)


def load_calendar(session) -> WorkCalendar:
    return WorkCalendar(dict(session.execute(sa.select(WorkdayOverride.day, WorkdayOverride.is_workday)).all()))
