"""The school's dated duties on its records, each counted in Chinese working days (services/workdays.py):

- `networking`: an instrument that must be on the provincial platform joins it within 30 working days of its
  acceptance (Art. 14); one with no acceptance date on record is counted late, as 附件1 counts it.
- `change`: a networked record whose provincial data changed is sent again within 5 working days of the first
  change (notice §(三)3; the clock: change_clock.py), counted from the Beijing day of the change.
- `contact`: a published phone a call found dead (空号, 停机, 非本人) is corrected within 5 working days of the call
  (contacts.py), until the phone published changes or a later call reaches it.

Each duty is a `Due` — what, which record, by when — from one statement per kind whatever the number of records;
the compliance API, the to-do lists and 附件1 read the same ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app import clock
from app.models import Instrument

from app.services.upkeep import contacts, record_checks as rules
from app.services.workdays import Deadline, WorkCalendar

KINDS = ("networking", "change", "contact")


@dataclass(frozen=True)
class Due:
    kind: str  # one of KINDS
    record_type: str  # the table the record is in
    record_id: int
    label: str
    unit_id: int
    due: date | None  # None: no start date on record, so already late
    official: bool  # False: a day on the way was counted without the State Council's published calendar

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


def all_due(session, unit_ids, calendar: WorkCalendar) -> list[Due]:
    """Every duty of every kind in scope, the latest first to fall due first (no date: first of all)."""
    found = (networking(session, unit_ids, calendar) + changes(session, unit_ids, calendar)
             + corrections(session, unit_ids, calendar))
    return sorted(found, key=lambda d: (d.due is not None, d.due or date.min, d.kind, d.record_id))
