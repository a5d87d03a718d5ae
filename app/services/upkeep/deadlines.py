"""The school's dated duties on its records, each counted in Chinese working days (services/workdays.py):

- `networking`: an instrument that must be on the provincial platform joins it within 30 working days of its
  acceptance (Art. 14); one with no acceptance date on record is counted late, as 附件1 counts it.
- `change`: a networked record whose provincial data changed is sent again within 5 working days of the first
  change (notice §(三)3; the clock: change_clock.py), counted from the Beijing day of the change.
- `contact`: a published phone a call found dead (空号, 停机, 非本人) is corrected within 5 working days of the call
  (contacts.py), until the phone published changes or a later call reaches it.
- `self_check`: a lab holding networked records signs each month's self-check off (from the month it first owes
  one, self_checks.checking_labs) within `Terms.check_days` working days of the month's end; a returned check, as
  many working days after its return (self_checks.py).
- `review`: the unit above such labs signs each quarter's review off within `Terms.review_days` working days of the
  quarter's end.

Each duty is a `Due` — what, which record, by when — from one statement per kind whatever the number of records;
the compliance API, the to-do lists and 附件1 read the same ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app import clock
from flask_babel import gettext

from app.models import CheckRecord, Instrument, Unit

from app.services.upkeep import contacts, record_checks as rules, self_checks
from app.services.upkeep.self_checks import Terms
from app.services.workdays import Deadline, WorkCalendar

KINDS = ("networking", "change", "contact", "self_check", "review")


@dataclass(frozen=True)
class Due:
    kind: str  # one of KINDS
    record_type: str  # the table the record is in
    record_id: int
    label: str
    unit_id: int
    due: date | None  # None: no start date on record, so already late
    official: bool  # False: a day on the way was counted without the State Council's published calendar
    period: str | None = None  # a self-check's month ("2026-06") or a review's quarter ("2026-Q2")

    def overdue(self, today: date) -> bool:
        return self.due is None or today > self.due

    def due_today(self, today: date) -> bool:
        return self.due == today


def networking_due(calendar: WorkCalendar, acceptance_date: date | None) -> Deadline | None:
    """The last day an instrument accepted on `acceptance_date` may join the provincial platform."""
    if acceptance_date is None:
        return None
    return calendar.add_working_days(acceptance_date, rules.JOIN_WITHIN_WORKING_DAYS)


def networking(session, unit_ids, calendar: WorkCalendar) -> list[Due]:
    """Instruments that must be networked and are not yet, in `unit_ids` (None: the whole school)."""
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    rows = session.execute(
        sa.select(Instrument.id, Instrument.name, Instrument.asset_number, Instrument.unit_id, Instrument.acceptance_date)
        .where(scope, rules.must_network(), Instrument.networked.is_(False)).order_by(Instrument.id)).all()
    found = []
    for row in rows:
        deadline = networking_due(calendar, row.acceptance_date)
        found.append(Due("networking", "instrument", row.id, f"{row.name}（{row.asset_number}）", row.unit_id,
                         deadline.day if deadline else None, deadline.official if deadline else True))
    return found


def change_due(calendar: WorkCalendar, changed_at) -> Deadline:
    """The last day a record first changed at the instant `changed_at` is to be sent to the province again."""
    return calendar.add_working_days(clock.local_date(changed_at), rules.UPDATE_WITHIN_WORKING_DAYS)


def changes(session, unit_ids, calendar: WorkCalendar) -> list[Due]:
    """Networked records whose provincial data changed and was not sent again, in `unit_ids` (None: all)."""
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    columns = [Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS]
    rows = session.execute(
        sa.select(Instrument.id, Instrument.sync_fingerprint, Instrument.province_changed_at, *columns)
        .where(scope, Instrument.networked.is_(True), Instrument.province_changed_at.is_not(None))
        .order_by(Instrument.id)).all()
    found = []
    for row in rows:
        if row.sync_fingerprint is not None and rules.national_fingerprint(dict(row._mapping)) == row.sync_fingerprint:
            continue  # what was sent again
        deadline = change_due(calendar, row.province_changed_at)
        found.append(Due("change", "instrument", row.id, f"{row.name}（{row.asset_number}）", row.unit_id,
                         deadline.day, deadline.official))
    return found


def corrections(session, unit_ids, calendar: WorkCalendar) -> list[Due]:
    """Published phones whose latest call found them dead and that still read as called, in `unit_ids`."""
    latest = contacts.latest_calls()
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    rows = session.execute(
        sa.select(Instrument.id, Instrument.name, Instrument.asset_number, Instrument.unit_id, latest.c.called_at)
        .join(latest, latest.c.instrument_id == Instrument.id)
        .where(scope, latest.c.result.in_(contacts.DEAD), Instrument.contact_phone == latest.c.phone)
        .order_by(Instrument.id)).all()
    found = []
    for row in rows:
        deadline = calendar.add_working_days(clock.local_date(row.called_at), rules.UPDATE_WITHIN_WORKING_DAYS)
        found.append(Due("contact", "instrument", row.id, f"{row.name}（{row.asset_number}）", row.unit_id,
                         deadline.day, deadline.official))
    return found


def self_checks_due(session, unit_ids, calendar: WorkCalendar, terms: Terms, today: date) -> list[Due]:
    """Monthly self-checks not signed off, from each lab's first owed month to this month, of the labs in
    `unit_ids` (self_checks.checking_labs)."""
    labs = self_checks.checking_labs(session, unit_ids, terms.since)
    months = self_checks.months_between(terms.since, self_checks.month_of(today))
    checks = {(c.unit_id, c.period): c for c in session.execute(
        sa.select(CheckRecord.unit_id, CheckRecord.period, CheckRecord.state, CheckRecord.reviewed_at)
        .where(CheckRecord.kind == "monthly", CheckRecord.period.in_(months),
               CheckRecord.unit_id.in_([lab.id for lab in labs])))}
    found = []
    for lab in labs:
        for month in months:
            check = checks.get((lab.id, month))
            if not lab.owes(month, today) or (check is not None and check.state in self_checks.DONE):
                continue
            start = (clock.local_date(check.reviewed_at) if check is not None and check.state == "returned"
                     else self_checks.last_day(month))
            deadline = calendar.add_working_days(start, terms.check_days)
            found.append(Due("self_check", "unit", lab.id, gettext("%(unit)s: self-check of %(period)s", unit=lab.name,
                                                                  period=month), lab.id, deadline.day, deadline.official,
                             month))
    return found


def reviews_due(session, unit_ids, calendar: WorkCalendar, terms: Terms, today: date) -> list[Due]:
    """Quarterly reviews not signed off, of the units in `unit_ids` above labs that owe checks, for each quarter
    in which one of their labs owed one."""
    labs = self_checks.checking_labs(session, None, terms.since)
    months = self_checks.months_between(terms.since, self_checks.month_of(today))
    owed = {(lab.parent_id, self_checks.quarter_of(m)) for lab in labs if lab.parent_id is not None
            for m in months if lab.owes(m, today)}
    if unit_ids is not None:
        owed = {(unit, quarter) for unit, quarter in owed if unit in set(unit_ids)}
    names = dict(session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_({u for u, _q in owed}))).all())
    signed = set(session.execute(sa.select(CheckRecord.unit_id, CheckRecord.period).where(
        CheckRecord.kind == "quarterly", CheckRecord.state == "signed",
        CheckRecord.period.in_({q for _u, q in owed}))).all())
    found = []
    for unit_id, quarter in sorted(owed - signed):
        deadline = calendar.add_working_days(self_checks.last_day(quarter), terms.review_days)
        found.append(Due("review", "unit", unit_id, gettext("%(unit)s: quarterly review of %(period)s",
                                                            unit=names[unit_id], period=quarter),
                         unit_id, deadline.day, deadline.official, quarter))
    return found


def all_due(session, unit_ids, calendar: WorkCalendar, terms: Terms, today: date) -> list[Due]:
    """Every duty of every kind in scope, the latest first to fall due first (no date: first of all)."""
    found = (networking(session, unit_ids, calendar) + changes(session, unit_ids, calendar)
             + corrections(session, unit_ids, calendar) + self_checks_due(session, unit_ids, calendar, terms, today)
             + reviews_due(session, unit_ids, calendar, terms, today))
    return sorted(found, key=lambda d: (d.due is not None, d.due or date.min, d.kind, d.record_id))
