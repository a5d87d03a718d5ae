"""Data quality of the records (notice §(三)2; issue 23, item 5): per record, which of the ten required fields are
missing (record_checks.missing_fields) or filled with something that cannot be true (implausible_fields), for the
records the province holds or must hold — networked, or owing the networking — in service. One statement whatever
the number of records; the workspace's quality list, the to-do lists and 附件1 read the same."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app.models import Instrument, Person

from app.services.catalogue.entry import standards_in_force
from app.services.upkeep import record_checks as rules


@dataclass(frozen=True)
class RecordQuality:
    record_id: int
    label: str
    unit_id: int
    networked: bool
    missing: tuple  # required fields left empty (REQUIRED_FIELDS codes)
    implausible: tuple  # (field, reason) pairs


def rule_inputs(as_of: date):
    """The columns the record rules read beyond the instrument's own: a published fee standard in force on `as_of`
    and the responsible person's leaving date, as (columns, join) for a select from Instrument."""
    in_force = standards_in_force(as_of).subquery()
    columns = [in_force.c.standard_id.isnot(None).label("has_fee_standard"), Person.left_on.label("responsible_left_on")]

    def joined(query):
        return (query.outerjoin(in_force, in_force.c.instrument_id == Instrument.id)
                .outerjoin(Person, Person.id == Instrument.responsible_person_id))

    return columns, joined


def problems(session, unit_ids, today: date) -> list[RecordQuality]:
    """The records in `unit_ids` (None: all) with a missing or implausible required field, in id order."""
    columns, joined = rule_inputs(today)
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    record_columns = [Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS]
    query = joined(sa.select(Instrument.id, Instrument.networked, *record_columns, *columns)).where(
        scope, Instrument.in_service, sa.or_(Instrument.networked.is_(True), rules.must_network())).order_by(Instrument.id)
    found = []
    for row in session.execute(query):
        record = dict(row._mapping)
        missing, implausible = rules.missing_fields(record), rules.implausible_fields(record, today)
        if missing or implausible:
            found.append(RecordQuality(row.id, f"{row.name}（{row.asset_number}）", row.unit_id, row.networked,
                                       tuple(missing), tuple(implausible)))
    return found
