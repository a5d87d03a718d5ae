"""The asset ledger (issue 23): the ledger as last imported (ledger_entry), each committed import
(ledger_import), the saved column mappings of asset systems (ledger_mapping) and the ledger's 使用部门 names
mapped to units (ledger_unit_name); the change log names where a change came from (source: the imported
file's name and SHA-256).

The 5-working-day clock of the provincial data (issue 23, item 3): instrument.province_changed_at, the first change
since the data was last sent; the run status joins the record's fingerprint (the province holds it: NRII's
`status`), so each fingerprint that matched the record as it was is written again with it — a record current at the
province stays current — and a networked record changed since is given its clock from its last edit (updated_at:
the best this release knows). Plain ADD COLUMN on SQLite (no batch copy of a table with children).

The calls to published contacts (contact_call): who called which number when, and what the call found.

Revision ID: 0023_asset_ledger
Revises: 0022_pi_paper_scan
"""
import hashlib
import json
from datetime import date
from decimal import Decimal

from alembic import op
import sqlalchemy as sa

revision = "0023_asset_ledger"
down_revision = "0022_pi_paper_scan"
branch_labels = None
depends_on = None

FUNDING = ("fiscal_full", "fiscal_partial", "non_fiscal")
CALL_RESULTS = ("reachable", "vacant", "suspended", "no_answer", "wrong_person")
# the national record's fields before this release; after it, the run status follows them
RECORD = ("name", "name_en", "asset_number", "class_code", "discipline", "location", "original_value", "funding_source",
          "kind", "country", "model", "manufacturer", "purchase_date", "technical_indicators", "main_functions",
          "sharing_status", "public_standard_id", "service_scope", "duty_free", "customs_declaration_no",
          "supervision_end", "unit_id", "responsible_person_id", "contact_phone", "contact_email")
INSTRUMENT = sa.table(
    "instrument", sa.column("id", sa.Integer), sa.column("networked", sa.Boolean), sa.column("sync_fingerprint", sa.String),
    sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("province_changed_at", sa.DateTime(timezone=True)),
    sa.column("run_status", sa.String), sa.column("original_value", sa.Numeric(14, 2)), sa.column("purchase_date", sa.Date),
    sa.column("supervision_end", sa.Date), sa.column("duty_free", sa.Boolean),
    *(sa.column(c) for c in RECORD if c not in ("original_value", "purchase_date", "supervision_end", "duty_free")),
)


def _fingerprint(row, columns):
    """As app/services/upkeep/record_checks.national_fingerprint computes it."""
    def plain(v):
        return str(v) if isinstance(v, (Decimal, date)) else v

    return hashlib.sha256(json.dumps([plain(row[c]) for c in columns], ensure_ascii=False).encode()).hexdigest()


def _clocks():
    connection = op.get_bind()
    rows = connection.execute(sa.select(INSTRUMENT).where(INSTRUMENT.c.sync_fingerprint.is_not(None)
                                                          | INSTRUMENT.c.networked.is_(True))).mappings().all()
    for row in rows:
        values = {}
        if row["sync_fingerprint"] is not None and row["sync_fingerprint"] == _fingerprint(row, RECORD):
            values["sync_fingerprint"] = _fingerprint(row, (*RECORD, "run_status"))
        elif row["networked"]:
            values["province_changed_at"] = row["updated_at"]
        if values:
            connection.execute(INSTRUMENT.update().where(INSTRUMENT.c.id == row["id"]).values(**values))


def upgrade():
    op.create_table(
        "ledger_mapping",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ledger_unit_name",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_ledger_unit_name_unit_id", "ledger_unit_name", ["unit_id"])
    op.create_table(
        "ledger_import",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sequence", sa.Integer(), nullable=False, unique=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("mapping_id", sa.Integer(), sa.ForeignKey("ledger_mapping.id", ondelete="SET NULL")),
        sa.Column("imported_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(count, sa.Integer(), nullable=False) for count in ("rows", "created", "updated", "unchanged", "removed")),
    )
    op.create_index("ix_ledger_import_digest", "ledger_import", ["digest"])
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("asset_key", sa.String(128), nullable=False, unique=True),
        sa.Column("asset_number", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("value", sa.Numeric(14, 2)),
        sa.Column("fiscal", sa.Numeric(14, 2)),
        sa.Column("non_fiscal", sa.Numeric(14, 2)),
        sa.Column("funding", sa.Enum(*FUNDING, name="ck_ledger_funding", native_enum=False, create_constraint=True,
                                     length=max(len(c) for c in FUNDING))),
        sa.Column("purchase_date", sa.Date()),
        sa.Column("booked_on", sa.Date()),
        sa.Column("unit_name", sa.String(200)),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", ondelete="SET NULL")),
        sa.Column("location", sa.String(200)),
        sa.Column("keeper", sa.String(100)),
        sa.Column("manufacturer", sa.String(200)),
        sa.Column("country", sa.String(64)),
        sa.Column("class_code", sa.String(32)),
        sa.Column("status", sa.String(32)),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("stated_digest", sa.String(64)),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("ledger_import.id"), nullable=False),
        *(sa.CheckConstraint(f"{c} IS NULL OR {c} >= 0", name=f"ledger_{c}_non_negative")
          for c in ("value", "fiscal", "non_fiscal")),
    )
    for column in ("unit_name", "unit_id", "import_id"):
        op.create_index(f"ix_ledger_entry_{column}", "ledger_entry", [column])
    op.add_column("change_log", sa.Column("source", sa.String(300)))
    op.add_column("instrument", sa.Column("province_changed_at", sa.DateTime(timezone=True)))
    _clocks()
    op.create_table(
        "contact_call",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("result", sa.Enum(*CALL_RESULTS, name="ck_call_result", native_enum=False, create_constraint=True,
                                    length=max(len(c) for c in CALL_RESULTS)), nullable=False),
        sa.Column("note", sa.String(200)),
        sa.Column("called_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contact_call_instrument_id", "contact_call", ["instrument_id"])
    op.create_index("ix_contact_call_latest", "contact_call", ["instrument_id", "called_at"])


def downgrade():
    op.drop_table("contact_call")
    # the fingerprints keep the run status: a record reads as changed since the upload, until it is uploaded again
    op.drop_column("instrument", "province_changed_at")
    with op.batch_alter_table("change_log") as batch:
        batch.drop_column("source")
    op.drop_table("ledger_entry")
    op.drop_table("ledger_import")
    op.drop_table("ledger_unit_name")
    op.drop_table("ledger_mapping")
