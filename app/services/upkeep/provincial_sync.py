"""Marking the provincial upload as done (notice §(三)3): every record in the upload file keeps the
fingerprint of what was uploaded, so the file's 上次上传后有变更 column and the self-check's
"changed but not uploaded" finding clear until the record changes again, and their change clocks stop."""
from __future__ import annotations

import sqlalchemy as sa

from app.models import Instrument

from app.services.upkeep import record_checks as rules


def mark_uploaded(session, unit_ids) -> int:
    """Fingerprint every instrument in the upload file of `unit_ids` (None: the whole school) as it
    stands now; returns how many records changed since their last upload. `updated_at` is kept:
    marking an upload is not a change of the record."""
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    columns = [Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS]
    rows = session.execute(
        sa.select(Instrument.id, Instrument.sync_fingerprint, *columns)
        .where(scope, sa.or_(Instrument.networked, rules.must_network()))
    ).all()
    changed = [(row.id, rules.national_fingerprint(dict(row._mapping))) for row in rows]
    changed = [(pk, fp) for (pk, fp), row in zip(changed, rows) if fp != row.sync_fingerprint]
    for pk, fingerprint in changed:
        session.execute(sa.update(Instrument).where(Instrument.id == pk)
                        .values(sync_fingerprint=fingerprint, updated_at=Instrument.updated_at))
    # sent: every 5-working-day clock of the file's records stops (app/services/upkeep/change_clock.py)
    session.execute(sa.update(Instrument).where(Instrument.id.in_([row.id for row in rows]),
                                                Instrument.province_changed_at.is_not(None))
                    .values(province_changed_at=None, updated_at=Instrument.updated_at))
    return len(changed)
