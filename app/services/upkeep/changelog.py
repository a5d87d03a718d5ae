"""Field-level history (who, when, field, old -> new) for the tracked tables."""
from datetime import date, datetime
from decimal import Decimal

from flask import g, has_request_context
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import clock
from app.models import ChangeLog, FeeStandard, Instrument, Person

TRACKED = (Instrument, Person, FeeStandard)
IGNORED_FIELDS = {"updated_at", "sync_fingerprint"}


def value_text(value):
    if value is None:
        return None
    if isinstance(value, datetime):  # an instant, as Beijing time with its offset
        return clock.local(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "id") and hasattr(value, "__table__"):
        return str(value)
    return str(value)


def _acting_user_id(session):
    # a service acting for someone says so on the session; otherwise the signed-in user
    if session.info.get("actor_id"):
        return session.info["actor_id"]
    if has_request_context():
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id
    return None


def _collect(session, flush_context, instances):
    entries = []
    now = clock.now()
    user_id = _acting_user_id(session)
    for obj in session.dirty:
        if not isinstance(obj, TRACKED) or not session.is_modified(obj, include_collections=False):
            continue
        state = sa.inspect(obj)
        for attr in state.mapper.column_attrs:
            if attr.key in IGNORED_FIELDS:
                continue
            hist = state.attrs[attr.key].history
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if value_text(old) == value_text(new):
                continue
            entries.append(
                ChangeLog(
                    table_name=obj.__tablename__, record_id=obj.id, field=attr.key,
                    old_value=value_text(old), new_value=value_text(new), changed_by_id=user_id, changed_at=now,
                )
            )
        # a form sets the relation (person.unit), and its key column (unit_id) follows only at the
        # flush: the change is recorded under the key column, with the related records' ids
        logged = {e.field for e in entries if e.record_id == obj.id and e.table_name == obj.__tablename__}
        for relation in state.mapper.relationships:
            if relation.uselist or len(relation.local_columns) != 1:
                continue
            key = next(iter(relation.local_columns)).key
            hist = state.attrs[relation.key].history
            if key in logged or not hist.has_changes() or key in IGNORED_FIELDS:
                continue
            old = hist.deleted[0].id if hist.deleted and hist.deleted[0] is not None else getattr(obj, key)
            new = hist.added[0].id if hist.added and hist.added[0] is not None else None
            if old != new:
                entries.append(ChangeLog(table_name=obj.__tablename__, record_id=obj.id, field=key, old_value=value_text(old),
                                         new_value=value_text(new), changed_by_id=user_id, changed_at=now))
    session.add_all(entries)


def history_for(session, table_name, record_id):
    return session.execute(
        sa.select(ChangeLog)
        .where(ChangeLog.table_name == table_name, ChangeLog.record_id == record_id)
        .order_by(ChangeLog.changed_at.desc(), ChangeLog.id.desc())
    ).scalars().all()


def install():
    if not event.contains(Session, "before_flush", _collect):
        event.listen(Session, "before_flush", _collect)
