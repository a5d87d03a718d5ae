"""What the upkeep of the records tells a unit when something of its lands on its to-do list (issue 23, item 6):
an imported ledger finds candidates, mismatches or records missing from it; the school drafts a record into the lab
from the ledger; a call finds a published contact dead; the college returns a self-check. Each message goes to the
unit's own administrators (else the nearest above, notifications.unit_side), in the step's own transaction, and to
their e-mail as every message does."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from flask_babel import gettext
import sqlalchemy as sa

from app.models import Instrument

from app.services.people.notifications import post, unit_side


def ledger_imported(session, found, import_id: int, now: datetime):
    """After an import: each unit with candidates, mismatches or records missing from the ledger is told how many."""
    units = dict(session.execute(sa.select(Instrument.id, Instrument.unit_id).where(
        Instrument.id.in_({m.instrument_id for m in found.mismatches}))).all()) if found.mismatches else {}
    candidates = Counter(c["unit_id"] for c in found.candidates if c.get("unit_id") is not None)
    mismatches = Counter(units[m.instrument_id] for m in found.mismatches)
    missing = Counter(r["unit_id"] for r in found.missing)
    for unit_id in sorted(set(candidates) | set(mismatches) | set(missing)):
        body = gettext("The asset ledger just imported shows, for your unit: %(candidates)s instruments to network "
                       "(应入尽入), %(mismatches)s differences between the ledger and the records, %(missing)s records "
                       "the ledger no longer has. Open the reconciliation to deal with them.",
                       candidates=candidates[unit_id], mismatches=mismatches[unit_id], missing=missing[unit_id])
        post(session, unit_side(session, unit_id), "ledger_imported", gettext("The asset ledger was imported"), body, now,
             link="/reconciliation/", dedupe=f"ledger:{import_id}:{unit_id}")


def record_drafted(session, record: Instrument, now: datetime):
    post(session, unit_side(session, record.unit_id), "record_drafted",
         gettext("A record to complete: %(record)s", record=f"{record.name}（{record.asset_number}）"),
         gettext("The school drafted this record from the asset ledger into your laboratory. Complete its indicators, "
                 "contact, responsible person and fee standard, then network it within 30 working days of its "
                 "acceptance."), now, link=f"/instrumentview/edit/{record.id}")


def contact_dead(session, record: Instrument, result_label, now: datetime):
    post(session, unit_side(session, record.unit_id), "contact_dead",
         gettext("A published contact to correct: %(record)s", record=f"{record.name}（{record.asset_number}）"),
         gettext("A call to %(phone)s found: %(result)s. Correct the published contact within 5 working days.",
                 phone=record.contact_phone, result=result_label), now, link=f"/instrumentview/edit/{record.id}")


def check_returned(session, check, now: datetime):
    post(session, unit_side(session, check.unit_id), "check_returned",
         gettext("Self-check of %(period)s returned", period=check.period),
         gettext("The quarterly review returned your self-check of %(period)s: %(remarks)s", period=check.period,
                 remarks=check.remarks or ""), now, link=f"/selfcheck/?lab={check.unit_id}&period={check.period}")
