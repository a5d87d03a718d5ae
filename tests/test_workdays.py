"""Chinese working days (SPEC §2): holidays and make-up weekends from chinesecalendar, the
admin's overrides first, plain Monday–Friday (flagged unofficial) for years without data."""
from datetime import date

from app.services.workdays import WorkCalendar


def test_national_day_is_skipped_and_a_make_up_saturday_counts():
    calendar = WorkCalendar()
    # 2026-09-30 (Wed) + 1 working day: 1-7 October are holidays, so 8 October
    assert calendar.add_working_days(date(2026, 9, 30), 1) == calendar.add_working_days(date(2026, 10, 7), 1)
    assert calendar.add_working_days(date(2026, 9, 30), 1).day == date(2026, 10, 8)
    # Saturday 10 October 2026 is a make-up working day (调休)
    assert calendar.is_workday(date(2026, 10, 10)) == (True, True)
    assert calendar.add_working_days(date(2026, 10, 9), 1).day == date(2026, 10, 10)


def test_thirty_working_days_across_new_year_and_the_make_up_sunday():
    deadline = WorkCalendar().add_working_days(date(2025, 12, 20), 30)
    assert deadline.day == date(2026, 2, 2) and deadline.official


def test_a_year_without_official_data_falls_back_and_says_so():
    calendar = WorkCalendar()
    deadline = calendar.add_working_days(date(2031, 3, 6), 1)  # a Thursday
    assert deadline.day == date(2031, 3, 7) and not deadline.official
    assert calendar.add_working_days(date(2031, 3, 7), 1).day == date(2031, 3, 10)  # over the weekend


def test_an_override_wins_and_counts_as_known():
    calendar = WorkCalendar({date(2031, 3, 7): False, date(2031, 3, 8): True})
    deadline = calendar.add_working_days(date(2031, 3, 6), 1)
    assert deadline.day == date(2031, 3, 8) and deadline.official
