"""Reconciling the asset ledger with the platform (notice §(二)1 清查建账; SPEC §5 the ledger import's counts).

- **Candidates** (应入尽入): assets of the ledger funded fully or partly by the state, of at least 300,000 CNY, with
  no record on the platform under their asset number. Socially funded assets of at least 500,000 CNY without a
  record are listed apart, as encouraged (Art. 4).
- **Missing from the ledger**: records in service on the platform whose asset number the ledger lacks.
- **Mismatches**: a record and its ledger entry differing in value, model, unit, location or purchase date.
  Shown with the ledger's value, never applied by an import: a person accepts one (`accept`), as an edit.

Asset numbers are compared normalised (ledger.asset_key). The comparison takes plain rows, so that a dry run
compares the file as it would be imported and the screens compare the ledger as it was: one rule for both.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app.models import Instrument, LedgerEntry, LedgerImport, Unit
from app.models.org import path_covers

from app.services.actors import require_lab_side
from app.services.errors import PolicyDenied, RuleViolation
from app.services.people import upkeep_notices
from app.services.upkeep.ledger import asset_key
from app.services.upkeep.record_checks import MUST_NETWORK_MIN_VALUE

ENCOURAGED_MIN_VALUE = Decimal("500000")  # Art. 4: socially funded instruments the province encourages
FISCAL = ("fiscal_full", "fiscal_partial")
KINDS = ("candidates", "missing", "mismatches")
# what a mismatch compares: the ledger's field → the instrument's
COMPARED = {"value": "original_value", "model": "model", "unit": "unit_id", "location": "location",
            "purchase_date": "purchase_date"}
INSTRUMENT_COLUMNS = ("id", "asset_number", "name", "model", "original_value", "unit_id", "location", "purchase_date",
                      "run_status")

MSG_NOT_A_LAB = _("The ledger names a college or the school, not a laboratory: move the instrument on its own page.")
MSG_NO_DIFFERENCE = _("The record already agrees with the ledger.")


@dataclass(frozen=True)
class Mismatch:
    instrument_id: int
    asset_number: str
    field: str  # a key of COMPARED
    platform_value: object
    ledger_value: object
    acceptable: bool  # the ledger's value can be taken as it is (a unit only when it is a laboratory)


@dataclass
class Reconciliation:
    ledger_imported: bool
    candidates: list = field(default_factory=list)  # ledger rows (dicts), each with `likely`: instrument ids
    encouraged: list = field(default_factory=list)
    missing: list = field(default_factory=list)  # instrument rows
    mismatches: list = field(default_factory=list)

    def counts(self) -> dict:
        return {"candidates": len(self.candidates), "missing_from_ledger": len(self.missing),
                "mismatches": len(self.mismatches)}


def same_text(a, b) -> bool:
    """Two texts the same but for width, spaces and case (a model written ABC-100 or ａｂｃ－100)."""
    return a == b or _plain(a) == _plain(b)


def _plain(text) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split()).casefold()


class _Units:
    """Every unit's path and level, loaded once (a school has a few hundred)."""

    def __init__(self, session):
        self.rows = {row.id: row for row in session.execute(sa.select(Unit.id, Unit.path, Unit.level))}

    def covers(self, ancestor_id, unit_id) -> bool:
        above, below = self.rows.get(ancestor_id), self.rows.get(unit_id)
        return above is not None and below is not None and path_covers(above.path, below.path)

    def is_lab(self, unit_id) -> bool:
        return unit_id in self.rows and self.rows[unit_id].level == "lab"


def _in_scope(unit_id, unit_ids) -> bool:
    return unit_ids is None or unit_id in unit_ids


def compare(session, ledger_rows, unit_ids=None) -> Reconciliation:
    """The ledger (`ledger_rows`: dicts of LedgerEntry's columns, the present entries only) against every
    instrument; what falls in `unit_ids` (None: the whole school) — a ledger row by the unit its 使用部门 is,
    a record by its own unit."""
    units = _Units(session)
    instruments = session.execute(sa.select(*(Instrument.__table__.c[c] for c in INSTRUMENT_COLUMNS))).all()
    keys = {row.id: asset_key(row.asset_number) for row in instruments}  # each number normalised once
    by_key = {keys[row.id]: row for row in instruments}
    result = Reconciliation(ledger_imported=session.execute(sa.select(LedgerImport.id).limit(1)).first() is not None)
    ledger_keys = set()
    unmatched = []
    for entry in ledger_rows:
        key = entry.get("asset_key") or asset_key(entry["asset_number"])
        ledger_keys.add(key)
        record = by_key.get(key)
        if record is None:
            if _in_scope(entry.get("unit_id"), unit_ids):
                unmatched.append(entry)
            continue
        if _in_scope(record.unit_id, unit_ids):
            result.mismatches.extend(_differences(record, entry, units))
    if ledger_rows:
        result.ledger_imported = True
    if not result.ledger_imported:
        return result
    result.missing = [dict(row._mapping) for row in instruments if row.run_status != "scrapped"
                      and keys[row.id] not in ledger_keys and _in_scope(row.unit_id, unit_ids)]
    orphans = {}  # records the ledger does not know, by (name, model): a row's likely record
    for row in instruments:
        if keys[row.id] not in ledger_keys:
            orphans.setdefault((_plain(row.name), _plain(row.model)), []).append(row)
    for entry in unmatched:
        value, funding = entry.get("value"), entry.get("funding")
        listed = (result.candidates if funding in FISCAL and value is not None and value >= MUST_NETWORK_MIN_VALUE
                  else result.encouraged if funding == "non_fiscal" and value is not None and value >= ENCOURAGED_MIN_VALUE
                  else None)
        if listed is None:
            continue
        likely = [row.id for row in orphans.get((_plain(entry.get("name")), _plain(entry.get("model"))), ())
                  if entry.get("unit_id") is None or units.covers(entry["unit_id"], row.unit_id)]
        listed.append({**entry, "likely": likely})
    return result


def _differences(record, entry, units) -> list:
    found = []
    for name, column in COMPARED.items():
        ledger_value, platform_value = entry.get(name if name != "unit" else "unit_id"), getattr(record, column)
        if ledger_value is None:
            continue  # the ledger does not say: nothing to compare
        if name == "unit":
            differs, acceptable = not units.covers(ledger_value, platform_value), units.is_lab(ledger_value)
        elif name in ("model", "location"):
            differs, acceptable = not same_text(ledger_value, platform_value), True
        else:
            differs, acceptable = ledger_value != platform_value, True
        if differs:
            found.append(Mismatch(record.id, record.asset_number, name, platform_value, ledger_value, acceptable))
    return found


LEDGER_ROW_COLUMNS = [c.key for c in LedgerEntry.__table__.columns]


def current_ledger(session) -> list:
    """The ledger as last imported: its present entries, as rows for `compare`."""
    rows = session.execute(sa.select(*LedgerEntry.__table__.columns).where(LedgerEntry.present)).all()
    return [dict(row._mapping) for row in rows]


def reconcile(session, unit_ids=None) -> Reconciliation:
    """The stored ledger against the platform, within `unit_ids` (None: the whole school)."""
    return compare(session, current_ledger(session), unit_ids)


def accept(session, actor, instrument_id: int, field_name: str) -> Instrument:
    """Take the ledger's value of `field_name` into the record, as an edit by `actor` (the change log records
    it). The record must be in the actor's subtree; its ledger entry and the difference must still be there."""
    instrument = session.get(Instrument, instrument_id, with_for_update=True)
    if instrument is None or field_name not in COMPARED:
        raise PolicyDenied("not_found", MSG_NO_DIFFERENCE)
    require_lab_side(session, actor, instrument.id)
    entry = session.execute(sa.select(*LedgerEntry.__table__.columns).where(
        LedgerEntry.asset_key == asset_key(instrument.asset_number), LedgerEntry.present)).first()
    differences = _differences(instrument, dict(entry._mapping), _Units(session)) if entry else []
    mismatch = next((m for m in differences if m.field == field_name), None)
    if mismatch is None:
        raise RuleViolation({field_name: MSG_NO_DIFFERENCE})
    if not mismatch.acceptable:
        raise RuleViolation({field_name: MSG_NOT_A_LAB})
    setattr(instrument, COMPARED[field_name], mismatch.ledger_value)
    session.info["actor_id"] = actor.user_id
    return instrument


MSG_ON_PLATFORM = _("This asset is already on the platform.")
MSG_NOT_IN_LEDGER = _("This asset is no longer in the ledger.")
MSG_CHOOSE_LAB = _("Choose a laboratory of your own scope for the record.")


def draft_record(session, actor, entry_id: int, lab_id: int, now) -> Instrument:
    """A record in `lab_id` drafted from a ledger entry without one (a candidate, or any asset the school decides
    to network), the ledger's fields filled in; the lab completes the rest. The acceptance date is taken from
    入账日期 (an asset is booked after its acceptance) where that is not before the purchase."""
    entry = session.get(LedgerEntry, entry_id)
    lab = session.get(Unit, lab_id)
    if entry is None or not actor.covers(entry.unit.path if entry.unit is not None else _school_path(session)):
        raise PolicyDenied("out_of_scope", MSG_NOT_IN_LEDGER)  # an entry of no unit yet is the school's
    if not entry.present:
        raise RuleViolation({"entry": MSG_NOT_IN_LEDGER})
    if lab is None or lab.level != "lab" or not actor.is_admin or not actor.covers(lab.path):
        raise RuleViolation({"unit": MSG_CHOOSE_LAB})
    numbers = session.execute(sa.select(Instrument.asset_number)).scalars()
    if any(asset_key(number) == entry.asset_key for number in numbers):
        raise RuleViolation({"entry": MSG_ON_PLATFORM})
    accepted = entry.booked_on if entry.booked_on and (not entry.purchase_date or entry.booked_on >= entry.purchase_date) else None
    record = Instrument(
        asset_number=entry.asset_number, name=entry.name or entry.asset_number, model=entry.model,
        original_value=entry.value or 0, funding_source=entry.funding or "fiscal_full", purchase_date=entry.purchase_date,
        acceptance_date=accepted, location=entry.location, manufacturer=entry.manufacturer, country=entry.country,
        unit_id=lab.id, bookable=False, networked=False, run_status="normal", sharing_status="external",
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()  # two drafts of one asset at once: the asset number is unique
    except sa.exc.IntegrityError:
        raise RuleViolation({"entry": MSG_ON_PLATFORM}) from None
    session.info["actor_id"] = actor.user_id
    if actor.unit_path != lab.path:  # drafted by the college or the school: the lab is told
        upkeep_notices.record_drafted(session, record, now)
    return record


def _school_path(session):
    return session.execute(sa.select(Unit.path).where(Unit.parent_id.is_(None))).scalar()
