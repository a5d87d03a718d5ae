"""Keeps each instrument's public catalogue entry (Instrument.public_standard_id / public_min_price).

The entry is the published fee standard in force on a day, while the instrument is listable
(shared and not scrapped), and that standard's lowest price; NULL otherwise. Storing it makes
/public/fees a plain indexed list of the instrument table instead of a search through every
standard version on each request.

It is recomputed from the source tables, never edited:
- after every flush that adds, changes or deletes a fee standard, adds an instrument, or changes
  an instrument's sharing or run status (so screens, API, CLI, scripts and tests all keep it);
- every hour and when the task consumer starts (`refresh_all`, a periodic task in app/tasks.py),
  for versions whose effective date arrives or ends without anything being saved that day; the
  run at the top of the hour after midnight makes the day's changes public.
A published standard's prices are immutable (services/catalogue/fees.py), so its lowest price never goes stale.
"""
from datetime import date

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import clock
from app.models import FeeItem, FeePrice, FeeStandard, Instrument

_STATUS_FIELDS = ("sharing_status", "run_status")
_PENDING = "catalogue_entry_pending"


def listable():
    return Instrument.listable


def standards_in_force(on: date):
    """Published standards in force on a day, one per instrument."""
    return sa.select(FeeStandard.id.label("standard_id"), FeeStandard.instrument_id,
                     FeeStandard.effective_from).where(
        FeeStandard.state == "published",
        FeeStandard.effective_from <= on,
        sa.or_(FeeStandard.effective_to.is_(None), FeeStandard.effective_to >= on),
    )


def refresh(connection, on: date, instrument_ids=None):
    """Recompute the entries of the given instruments (all when None) for the day `on` and write
    those that differ. Returns how many changed. Runs on a Connection: it is called inside flushes.

    Two plain SELECTs (what should be, what is) and a diff, rather than correlated subqueries:
    plain joins and one GROUP BY, which a planner without fresh statistics still gets right."""
    ids = None if instrument_ids is None else sorted(instrument_ids)
    in_force = (
        standards_in_force(on).with_only_columns(
            FeeStandard.instrument_id, FeeStandard.id, FeeStandard.effective_from, sa.func.min(FeePrice.unit_price))
        .join(Instrument, Instrument.id == FeeStandard.instrument_id)
        .outerjoin(FeeItem, FeeItem.standard_id == FeeStandard.id)
        .outerjoin(FeePrice, FeePrice.item_id == FeeItem.id)
        .where(listable())
        .group_by(FeeStandard.instrument_id, FeeStandard.id, FeeStandard.effective_from)
    )
    current = sa.select(Instrument.id, Instrument.public_standard_id, Instrument.public_min_price)
    if ids is None:
        current = current.where(Instrument.public_standard_id.is_not(None))  # only these can lose theirs
    else:
        in_force = in_force.where(FeeStandard.instrument_id.in_(ids))
        current = current.where(Instrument.id.in_(ids))
    wanted = {}
    # overlapping versions are refused at approval; should two ever overlap, the later one wins
    for iid, sid, _effective_from, price in connection.execute(in_force.order_by(FeeStandard.effective_from)):
        wanted[iid] = (sid, price)
    now = {iid: (sid, price) for iid, sid, price in connection.execute(current)}
    changes = [
        {"b_id": iid, "b_sid": sid, "b_price": price}
        for iid, (sid, price) in [*wanted.items(), *((i, (None, None)) for i in now.keys() - wanted.keys())]
        if now.get(iid, (None, None)) != (sid, price)
    ]
    if changes:
        table = Instrument.__table__
        connection.execute(
            table.update().where(table.c.id == sa.bindparam("b_id"))
            # keeping updated_at: the entry is derived, not a change anyone made to the record
            .values(public_standard_id=sa.bindparam("b_sid"), public_min_price=sa.bindparam("b_price"),
                    updated_at=table.c.updated_at),
            changes,
        )
        # another fee standard in force is a change of what the province holds: a networked record's clock starts
        # (app/services/upkeep/change_clock.py), unless it already runs
        replaced = [c["b_id"] for c in changes if now.get(c["b_id"], (None, None))[0] != c["b_sid"]]
        if replaced:
            connection.execute(table.update().where(table.c.id.in_(replaced), table.c.networked.is_(True),
                                                    table.c.province_changed_at.is_(None))
                               .values(province_changed_at=clock.now(), updated_at=table.c.updated_at))
    return len(changes)


def refresh_all(session, on: date) -> int:
    """Every entry as of the day `on`, committed (the scheduled task); returns how many changed."""
    changed = refresh(session.connection(), on)
    session.commit()
    return changed


# -- after each flush ------------------------------------------------------------------------

def _collect(session, flush_context, instances):
    pending = session.info.setdefault(_PENDING, set())
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, FeeStandard):
            pending.add(obj.instrument_id or obj.instrument)
        elif isinstance(obj, Instrument) and obj not in session.deleted:
            state = sa.inspect(obj)
            if obj in session.new or any(state.attrs[f].history.has_changes() for f in _STATUS_FIELDS):
                pending.add(obj)


def _apply(session, flush_context):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    ids = {p.id if isinstance(p, Instrument) else p for p in pending} - {None}
    if ids:
        refresh(session.connection(), clock.today(), ids)
        for obj in session.identity_map.values():
            if isinstance(obj, Instrument) and obj.id in ids:
                session.expire(obj, ["public_standard_id", "public_min_price"])


def _forget(session, *args):
    session.info.pop(_PENDING, None)  # a failed flush's objects may be gone after the rollback


def install():
    if not event.contains(Session, "before_flush", _collect):
        event.listen(Session, "before_flush", _collect)
        event.listen(Session, "after_flush_postexec", _apply)
        event.listen(Session, "after_rollback", _forget)
