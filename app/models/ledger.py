"""The finance office's asset ledger (资产台账) as last imported (issue 23), with what the school saved to read
it: the column mapping of each asset system, and which unit each of the ledger's 使用部门 names is.

The ledger is the school's snapshot of the asset system, kept beside the instruments, never written into them:
the reconciliation (app/services/upkeep/reconciliation.py) compares the two, and a person accepts a difference.
"""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import MONEY, UtcDateTime
from .choices import FUNDING_SOURCE

# the ledger fields a column can be mapped to, and the most characters each keeps (the reader refuses longer)
LEDGER_TEXT_LENGTHS = {
    "asset_number": 64, "name": 200, "model": 200, "unit_name": 200, "location": 200, "keeper": 100,
    "manufacturer": 200, "country": 64, "class_code": 32, "status": 32,
}


class LedgerMapping(Model):
    """How one asset system's export is read: its headers the platform does not know by itself, each named
    with the ledger field it holds (`columns`: header → field), saved by name and chosen on the next import."""

    __tablename__ = "ledger_mapping"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False, unique=True)
    columns = sa.Column(sa.JSON, nullable=False, default=dict)
    updated_at = sa.Column(UtcDateTime, nullable=False, default=clock.now, onupdate=clock.now)

    def __repr__(self):
        return self.name


class LedgerUnitName(Model):
    """A 使用部门 name as the ledger writes it, and the unit it is (a name equal to a unit's own name needs
    no entry)."""

    __tablename__ = "ledger_unit_name"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False, unique=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False, index=True)
    unit = relationship("Unit")

    def __repr__(self):
        return self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)


class LedgerImport(Model):
    """One committed import: the file (name, SHA-256), who, when, and what it changed. `sequence` counts the
    imports: each commit writes the next number after the one its comparison was made against, so of two
    imports committed at once the database keeps one (unique) and the other is told to run again."""

    __tablename__ = "ledger_import"
    id = sa.Column(sa.Integer, primary_key=True)
    sequence = sa.Column(sa.Integer, nullable=False, unique=True)
    filename = sa.Column(sa.String(255), nullable=False)
    digest = sa.Column(sa.String(64), nullable=False, index=True)
    mapping_id = sa.Column(sa.Integer, sa.ForeignKey("ledger_mapping.id", ondelete="SET NULL"))
    mapping = relationship("LedgerMapping")
    imported_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    imported_by = relationship("PlatformUser")
    imported_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    rows = sa.Column(sa.Integer, nullable=False, default=0)
    created = sa.Column(sa.Integer, nullable=False, default=0)
    updated = sa.Column(sa.Integer, nullable=False, default=0)
    unchanged = sa.Column(sa.Integer, nullable=False, default=0)
    removed = sa.Column(sa.Integer, nullable=False, default=0)

    def __repr__(self):
        return f"{self.filename}（{self.digest[:12]}）"


class LedgerEntry(Model):
    """One asset of the ledger, as the last import holding it read it. `present` is false once a later import
    no longer has it (the asset left the books: scrapped, transferred); its history stays in the change log."""

    __tablename__ = "ledger_entry"
    id = sa.Column(sa.Integer, primary_key=True)
    asset_key = sa.Column(sa.String(128), nullable=False, unique=True)  # the number as compared (normalised)
    asset_number = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["asset_number"]), nullable=False)
    name = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["name"]))
    model = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["model"]))
    value = sa.Column(MONEY)
    fiscal = sa.Column(MONEY)
    non_fiscal = sa.Column(MONEY)
    funding = sa.Column(FUNDING_SOURCE.column_type("ledger_funding"))
    purchase_date = sa.Column(sa.Date)
    booked_on = sa.Column(sa.Date)
    unit_name = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["unit_name"]), index=True)
    # the unit the 使用部门 name is (its mapping, or a unit of that name); none until the school maps it
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id", ondelete="SET NULL"), index=True)
    unit = relationship("Unit")
    location = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["location"]))
    keeper = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["keeper"]))
    manufacturer = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["manufacturer"]))
    country = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["country"]))
    class_code = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["class_code"]))  # the asset classification, as written
    status = sa.Column(sa.String(LEDGER_TEXT_LENGTHS["status"]))
    present = sa.Column(sa.Boolean, nullable=False, default=True)
    # a digest of what the file that last wrote it stated (ledger_import.stated_digest): the same row of a later
    # file is known unchanged without reading the entry back
    stated_digest = sa.Column(sa.String(64))
    import_id = sa.Column(sa.Integer, sa.ForeignKey("ledger_import.id"), nullable=False, index=True)
    last_import = relationship("LedgerImport")
    __table_args__ = tuple(sa.CheckConstraint(f"{c} IS NULL OR {c} >= 0", name=f"ledger_{c}_non_negative")
                           for c in ("value", "fiscal", "non_fiscal"))

    def __repr__(self):
        return f"{self.name or ''}（{self.asset_number}）"

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)
