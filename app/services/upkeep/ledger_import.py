"""Importing the asset ledger (issue 23, item 1): a dry run that tells what each row would do, and a commit that
does all of it or nothing.

An import is the school's whole ledger as the asset system exports it today: each row creates its entry, updates
it or leaves it unchanged; an entry the file no longer has leaves the books (`present` false); a column the file
does not have leaves what was read before. A file with a refused row is not committed (nothing half-imported):
the dry run names each refusal's row, column and reason, the school corrects the file and imports again. The
same file again changes nothing. Each change is in the change log under the file's name and SHA-256.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app.models import ChangeLog, LedgerEntry, LedgerImport, LedgerMapping, LedgerUnitName, Unit

from app.services.errors import RuleViolation
from app.services.people import upkeep_notices
from app.services.upkeep import ledger, reconciliation
from app.services.upkeep.changelog import value_text as change_text

STORED = [name for name in ledger.FIELDS if name != "asset_number"]  # the entry's columns a file sets
ACTIONS = ("create", "update", "unchanged", "refused")

MSG_REFUSED_ROWS = _("%(count)s rows are refused: correct them in the file (see the dry run) and import it again.")
MSG_RACE = _("Another ledger import was committed meanwhile: run the dry run again.")
MSG_EMPTY = _("The file holds no ledger rows.")


@dataclass
class RowOutcome:
    row: int
    asset_number: str
    action: str  # one of ACTIONS
    changes: dict = field(default_factory=dict)  # field → (before, after), for an update
    refusals: list = field(default_factory=list)


@dataclass
class ImportPlan:
    filename: str
    digest: str
    header_row: int | None
    columns: dict  # field → the file's header
    unrecognised: list
    outcomes: list
    refused: list  # ledger.Refusal, in row order
    removed: list  # the asset numbers of present entries the file no longer has
    unmapped_units: list  # 使用部门 names no unit is known for
    reconciliation: reconciliation.Reconciliation
    sequence: int  # the sequence the commit will take
    mapping_id: int | None = None
    _writes: dict = field(default_factory=dict, repr=False)  # action → rows to write

    def count(self, action) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    def summary(self) -> dict:
        """SPEC §5's JSON line."""
        return {"rows": len(self.outcomes), "created": self.count("create"), "updated": self.count("update"),
                "unchanged": self.count("unchanged"),
                "refused": [{"row": r.row, "column": r.column, "message": r.message} for r in self.refused],
                **self.reconciliation.counts(), "removed": len(self.removed)}


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unit_resolver(session):
    """使用部门 name → unit id: the school's mapping first, then a unit of that name (when only one), names compared
    half-width and without spaces."""
    plain = ledger.plain_name
    mapped = {plain(name): unit_id for name, unit_id in session.execute(sa.select(LedgerUnitName.name, LedgerUnitName.unit_id))}
    named = {}
    for unit_id, name in session.execute(sa.select(Unit.id, Unit.name)):
        named.setdefault(plain(name), []).append(unit_id)

    def resolve(name):
        if not name:
            return None
        if plain(name) in mapped:
            return mapped[plain(name)]
        found = named.get(plain(name), ())
        return found[0] if len(found) == 1 else None

    return resolve


@contextlib.contextmanager
def _no_cycle_collection():
    """Reading a ledger makes millions of small objects and no reference cycles worth collecting: the cycle
    collector, running on the allocations alone, took a third of a 50,000-row dry run (bench/ledger.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan(session, data: bytes, filename: str, *, mapping: LedgerMapping | None = None, sheet: str | None = None,
         max_bytes: int = ledger.MAX_BYTES) -> ImportPlan:
    """What importing the file would do; ledger.NotALedger when the file is refused as a whole."""
    with _no_cycle_collection():
        return _plan(session, data, filename, mapping, sheet, max_bytes)


def _plan(session, data, filename, mapping, sheet, max_bytes) -> ImportPlan:
    cells = ledger.cells_of(data, filename, sheet, max_bytes)
    reading = ledger.read_cells(cells, ledger.mapping_keys(mapping.columns) if mapping else None)
    if reading.header_row is None:
        raise ledger.NotALedger(reading.refused[0].message)
    resolve = unit_resolver(session)
    # the entries are read back only where needed: all of them when the file lacks a column some entry holds (the
    # entry keeps it), else those whose row states something else than last time (stated_digest)
    absent = [name for name in STORED if name not in reading.columns
              and not (name == "funding" and {"fiscal", "non_fiscal"} & set(reading.columns))]
    table = LedgerEntry.__table__
    kept_elsewhere = bool(absent) and session.execute(sa.select(table.c.id).where(
        table.c.present, sa.or_(*(table.c[name].is_not(None) for name in absent))).limit(1)).first() is not None
    light = (table.c.asset_key, table.c.id, table.c.asset_number, table.c.present, table.c.stated_digest)
    existing = {row.asset_key: row for row in session.execute(sa.select(*(table.columns if kept_elsewhere else light)))}
    outcomes, writes, after, pending = [], {"create": [], "update": [], "digest": []}, [], []
    blank = {name: None for name in STORED} | {"unit_id": None, "id": None}
    refused_rows = {}
    for refusal in reading.refused:
        refused_rows.setdefault(refusal.row, []).append(refusal)
    for row in reading.rows:
        values = {name: row.values.get(name) for name in STORED if name in reading.columns or name in row.values}
        if "funding" in row.values:
            values["funding"] = row.values["funding"]
        if "unit_name" in values:
            values["unit_id"] = resolve(values["unit_name"])
        values.update(asset_key=row.key, asset_number=row.asset_number, present=True)
        values["stated_digest"] = stated_digest(values)
        before = existing.get(row.key)
        if before is None:
            outcomes.append(RowOutcome(row.row, row.asset_number, "create"))
            writes["create"].append(values)
            after.append({**blank, **values})
        elif not kept_elsewhere and before.present and before.stated_digest == values["stated_digest"]:
            outcomes.append(RowOutcome(row.row, row.asset_number, "unchanged"))
            after.append({**blank, **values, "id": before.id})
        else:
            pending.append((len(outcomes), values))
            outcomes.append(RowOutcome(row.row, row.asset_number, "unchanged"))
            after.append(None)
    stored = existing if kept_elsewhere else _entries(session, [values["asset_key"] for _index, values in pending])
    for index, values in pending:
        old = stored[values["asset_key"]]._mapping
        changes = {name: (old[name], new) for name, new in values.items() if name != "stated_digest" and old[name] != new}
        if changes:
            outcomes[index].action, outcomes[index].changes = "update", changes
            writes["update"].append({"id": old["id"], "stated_digest": values["stated_digest"],
                                     **{name: new for name, (_, new) in changes.items()}})
        elif old["stated_digest"] != values["stated_digest"]:  # the same, said otherwise (or before the digest)
            writes["digest"].append({"id": old["id"], "stated_digest": values["stated_digest"]})
        after[index] = {**old, **values}
    for number, refusals in refused_rows.items():
        outcomes.append(RowOutcome(number, "", "refused", refusals=refusals))
    outcomes.sort(key=lambda outcome: outcome.row)
    seen = {row.key for row in reading.rows} | reading.refused_keys
    removed = [row for key, row in existing.items() if row.present and key not in seen]
    last = session.execute(sa.select(sa.func.max(LedgerImport.sequence))).scalar() or 0
    result = ImportPlan(
        filename=filename, digest=digest_of(data), header_row=reading.header_row, columns=reading.columns,
        unrecognised=reading.unrecognised, outcomes=outcomes, refused=sorted(reading.refused, key=lambda r: r.row),
        removed=[row.asset_number for row in removed],
        unmapped_units=sorted({entry["unit_name"] for entry in after if entry.get("unit_name") and entry.get("unit_id") is None}),
        reconciliation=reconciliation.compare(session, after), sequence=last + 1,
        mapping_id=mapping.id if mapping else None,
    )
    result._writes = {**writes, "remove": [row.id for row in removed]}
    return result


def stated_digest(values: dict) -> str:
    """A digest of what a row states (field → value read, with the unit its department is). The values' repr is
    exact and stable for the kinds a row holds (text, Decimal, date, int, None)."""
    stated = sorted((name, value) for name, value in values.items() if name != "stated_digest")
    return hashlib.blake2b(repr(stated).encode(), digest_size=32).hexdigest()


def _entries(session, keys) -> dict:
    """The stored entries of these asset keys, whole (in chunks the database takes as one IN list)."""
    found = {}
    for start in range(0, len(keys), 5000):
        chunk = keys[start:start + 5000]
        found.update((row.asset_key, row) for row in session.execute(
            sa.select(*LedgerEntry.__table__.columns).where(LedgerEntry.asset_key.in_(chunk))))
    return found


def commit(session, import_plan: ImportPlan, actor_id: int | None, now) -> LedgerImport:
    """Write the plan in the caller's transaction: every row, or (a refused row; another import first) nothing."""
    if import_plan.refused:
        raise RuleViolation({"file": str(MSG_REFUSED_ROWS) % {"count": len({r.row for r in import_plan.refused})}})
    if not import_plan.outcomes:
        raise RuleViolation({"file": MSG_EMPTY})
    record = LedgerImport(
        sequence=import_plan.sequence, filename=import_plan.filename[:255], digest=import_plan.digest,
        mapping_id=import_plan.mapping_id, imported_by_id=actor_id, imported_at=now, rows=len(import_plan.outcomes),
        created=import_plan.count("create"), updated=import_plan.count("update"),
        unchanged=import_plan.count("unchanged"), removed=len(import_plan.removed),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()  # the sequence is unique: a second import of the same turn stops here
    except sa.exc.IntegrityError:
        raise RuleViolation({"file": MSG_RACE}) from None
    writes = import_plan._writes
    source = f"{import_plan.filename[:200]} sha256:{import_plan.digest}"
    log = []
    if writes["create"]:
        session.execute(sa.insert(LedgerEntry), [{**row, "import_id": record.id} for row in writes["create"]])
    if writes["update"]:
        session.execute(sa.update(LedgerEntry), [{**row, "import_id": record.id} for row in writes["update"]])
    if writes["create"] or writes["update"]:  # the ids of what this import wrote, for the change log
        ids = dict(session.execute(sa.select(LedgerEntry.asset_key, LedgerEntry.id)
                                   .where(LedgerEntry.import_id == record.id)).all())
        log += [dict(record_id=ids[row["asset_key"]], field="asset_number", old_value=None,
                     new_value=row["asset_number"]) for row in writes["create"]]
        log += [dict(record_id=ids[ledger.asset_key(o.asset_number)], field=name, old_value=change_text(old),
                     new_value=change_text(new))
                for o in import_plan.outcomes if o.action == "update" for name, (old, new) in o.changes.items()]
    if writes["digest"]:  # nothing changed: no change log
        session.execute(sa.update(LedgerEntry), writes["digest"])
    if writes["remove"]:
        session.execute(sa.update(LedgerEntry), [{"id": pk, "present": False, "import_id": record.id}
                                                 for pk in writes["remove"]])
        log += [dict(record_id=pk, field="present", old_value="True", new_value="False") for pk in writes["remove"]]
    if log:
        session.execute(sa.insert(ChangeLog), [{**entry, "table_name": "ledger_entry", "changed_by_id": actor_id,
                                                "changed_at": now, "source": source} for entry in log])
    upkeep_notices.ledger_imported(session, import_plan.reconciliation, record.id, now)
    return record


def remap_units(session) -> int:
    """After the school names a 使用部门 (or forgets one): every entry's unit from its name again. Returns how many
    entries changed unit. One statement per name the ledger uses."""
    resolve = unit_resolver(session)
    names = session.execute(sa.select(LedgerEntry.unit_name, LedgerEntry.unit_id).where(LedgerEntry.unit_name.is_not(None))
                            .distinct()).all()
    changed = 0
    for name in {row.unit_name for row in names}:
        unit_id = resolve(name)
        changed += session.execute(sa.update(LedgerEntry).where(
            LedgerEntry.unit_name == name, LedgerEntry.unit_id.is_distinct_from(unit_id)).values(unit_id=unit_id)).rowcount
    return changed
