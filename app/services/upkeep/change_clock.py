"""The 5-working-day clock of notice §(三)3: a change to what the province holds of a networked record — its
responsible person, contact, run status, sharing status, location, fee standard, indicators, value, any field of
the national record (record_checks.NATIONAL_RECORD_COLUMNS) — starts it; sending the record's data again stops it
(today the upload file, marked uploaded: provincial_sync.mark_uploaded).

`Instrument.province_changed_at` is the instant of the first such change since the data last sent, kept on every
flush whoever writes (a form, the API, a reconciliation's accepted value, a task); a change undone before it was
sent (the record's fingerprint equal to the one last sent again) stops the clock. The fee standard in force is
written by the catalogue's refresh in SQL, which starts the clock itself (catalogue/entry.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import clock
from app.models import Instrument

from app.services.upkeep import record_checks as rules

# a form sets the relation; its key column follows at the flush
_RELATIONS = {"unit": "unit_id", "responsible_person": "responsible_person_id"}


def _changed_fields(obj) -> bool:
    state = sa.inspect(obj)
    keys = set(rules.NATIONAL_RECORD_COLUMNS) | set(_RELATIONS)
    return any(state.attrs[key].history.has_changes() for key in keys if key in state.attrs)


def _record(obj) -> dict:
    values = {column: getattr(obj, column) for column in rules.NATIONAL_RECORD_COLUMNS}
    for relation, column in _RELATIONS.items():
        related = getattr(obj, relation)
        if related is not None and related.id is not None:
            values[column] = related.id
    return values


def _start_or_stop(session, flush_context, instances):
    now = None
    with session.no_autoflush:
        for obj in session.dirty:
            if not isinstance(obj, Instrument) or not session.is_modified(obj, include_collections=False):
                continue
            if not _changed_fields(obj):
                continue
            if obj.sync_fingerprint is not None and rules.national_fingerprint(_record(obj)) == obj.sync_fingerprint:
                obj.province_changed_at = None  # back to what was sent
            elif obj.province_changed_at is None:
                now = now or clock.now()
                obj.province_changed_at = now


def install():
    if not event.contains(Session, "before_flush", _start_or_stop):
        event.listen(Session, "before_flush", _start_or_stop)
