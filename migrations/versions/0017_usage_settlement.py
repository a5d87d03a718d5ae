"""From use to money (issue 14): how a fee standard prices (its tiers' mode, the rounding of a started
unit, each item's quantity basis), a use's samples and who registered it, at most one open session per
instrument, and a charge's life — confirmed, invoiced, settled with the way paid, credited by a credit
note, waived with a reason — with the user and category it was priced for.

On SQLite every new column is a plain ADD COLUMN (its CHECK inside the column): a batch copy of
fee_standard, fee_item or usage_record would drop the old table with foreign keys on, and its
children (events, prices, components, charges) would go with it. Only `charge` is copied, for its
widened state CHECK; its lines are kept aside and put back.

Revision ID: 0017_usage_settlement
Revises: 0016_contracts
"""
from alembic import op
import sqlalchemy as sa

revision = "0017_usage_settlement"
down_revision = "0016_contracts"
branch_labels = None
depends_on = None

TIER_MODES = ("volume", "graduated")
ROUNDINGS = ("started_unit", "started_half", "exact")
BASES = ("hours", "days", "samples", "per_use", "entered")
OLD_STATES = ("pending", "invoiced", "settled", "credited")
STATES = ("pending", "confirmed", "invoiced", "settled", "credited", "waived")
CATEGORIES = ("campus", "academic", "enterprise", "student_startup")
METHODS = ("campus_transfer", "bank_transfer", "other")
OPEN_SESSION = sa.text("ended_at IS NULL AND hours IS NULL AND source = 'manual'")


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _in(column, codes):
    return f"{column} IN ({', '.join(repr(c) for c in codes)})"


def _add_choice_column(table, column, constraint, codes, default):
    length = max(len(c) for c in codes)
    if _sqlite():
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR({length}) DEFAULT '{default}' NOT NULL "
                   f"CONSTRAINT {constraint} CHECK ({_in(column, codes)})")
    else:
        op.add_column(table, sa.Column(column, sa.String(length), nullable=False, server_default=default))
        op.create_check_constraint(constraint, table, _in(column, codes))


def _add_count_column(table, column, constraint):
    if _sqlite():
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                   f"CONSTRAINT {constraint} CHECK ({column} IS NULL OR {column} >= 0)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer()))
        op.create_check_constraint(constraint, table, f"{column} IS NULL OR {column} >= 0")


def _state_type(codes):
    return sa.Enum(*codes, name="ck_charge_state", native_enum=False, create_constraint=True,
                   length=max(len(c) for c in codes))


def upgrade():
    _add_choice_column("fee_standard", "tier_mode", "ck_tier_mode", TIER_MODES, "volume")
    _add_choice_column("fee_standard", "unit_rounding", "ck_unit_rounding", ROUNDINGS, "started_unit")
    _add_choice_column("fee_item", "quantity_basis", "ck_quantity_basis", BASES, "entered")
    # the items already stored: their billing unit says what they count
    for basis, units in (("hours", ("小时", "机时", "h")), ("days", ("天", "日")), ("samples", ("样", "样品", "个样品", "份"))):
        op.execute(sa.text(f"UPDATE fee_item SET quantity_basis = '{basis}' WHERE billing_unit IN ({', '.join(repr(u) for u in units)})"))

    _add_count_column("usage_record", "samples_received", "usage_received_non_negative")
    _add_count_column("usage_record", "samples_returned", "usage_returned_non_negative")
    if _sqlite():
        op.execute("ALTER TABLE usage_record ADD COLUMN registered_by_id INTEGER "
                   "CONSTRAINT fk_usage_record_registered_by REFERENCES ab_user (id)")
    else:
        op.add_column("usage_record", sa.Column("registered_by_id", sa.Integer(),
                                                sa.ForeignKey("ab_user.id", name="fk_usage_record_registered_by")))
    op.add_column("usage_record", sa.Column("registered_at", sa.DateTime(timezone=True)))
    op.create_index("uq_usage_open_session", "usage_record", ["instrument_id"], unique=True,
                    sqlite_where=OPEN_SESSION, postgresql_where=OPEN_SESSION)

    conn = op.get_bind()
    if _sqlite():  # the copy of `charge` drops the old table, and its lines would cascade with it
        conn.execute(sa.text("CREATE TEMP TABLE charge_line_kept AS SELECT * FROM charge_line"))
    with op.batch_alter_table("charge") as batch:
        # the old CHECK goes with its type; the new one is added below
        batch.alter_column("state", type_=sa.String(9), existing_type=_state_type(OLD_STATES), existing_nullable=False)
        batch.create_check_constraint("ck_charge_state", _in("state", STATES))
        batch.add_column(sa.Column("user_id", sa.Integer(), sa.ForeignKey("service_user.id", name="fk_charge_user")))
        batch.add_column(sa.Column("customer_category", sa.String(15)))
        batch.create_check_constraint("ck_customer_category", _in("customer_category", CATEGORIES))
        batch.add_column(sa.Column("project_account", sa.String(64)))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("confirmed_by_id", sa.Integer(),
                                   sa.ForeignKey("ab_user.id", name="fk_charge_confirmed_by")))
        batch.add_column(sa.Column("paid_on", sa.Date()))
        batch.add_column(sa.Column("payment_method", sa.String(15)))
        batch.create_check_constraint("ck_payment_method", _in("payment_method", METHODS))
        batch.add_column(sa.Column("reason", sa.Text()))
        batch.add_column(sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id", name="fk_charge_created_by")))
        batch.create_check_constraint("credit_note_negative", "credit_of_id IS NULL OR total < 0")
        batch.create_check_constraint("waiver_has_reason", "state <> 'waived' OR reason IS NOT NULL")
        batch.create_check_constraint("paid_after_invoice", "paid_on IS NULL OR invoice_date IS NULL OR paid_on >= invoice_date")
        batch.create_index("ix_charge_user_id", ["user_id"])
        batch.create_index("ix_charge_invoice_date", ["invoice_date"])
    if _sqlite():
        conn.execute(sa.text("INSERT INTO charge_line SELECT * FROM charge_line_kept "
                             "WHERE id NOT IN (SELECT id FROM charge_line)"))
        conn.execute(sa.text("DROP TABLE charge_line_kept"))


def downgrade():
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE charge SET state = 'pending' WHERE state = 'confirmed'"))
    conn.execute(sa.text("UPDATE charge SET state = 'credited' WHERE state = 'waived'"))
    if _sqlite():
        conn.execute(sa.text("CREATE TEMP TABLE charge_line_kept AS SELECT * FROM charge_line"))
    with op.batch_alter_table("charge") as batch:
        batch.drop_index("ix_charge_invoice_date")
        batch.drop_index("ix_charge_user_id")
        for name in ("paid_after_invoice", "waiver_has_reason", "credit_note_negative", "ck_payment_method",
                     "ck_customer_category"):
            batch.drop_constraint(name, type_="check")
        for name in ("created_by_id", "reason", "payment_method", "paid_on", "confirmed_by_id", "confirmed_at",
                     "project_account", "customer_category", "user_id"):
            batch.drop_column(name)
        batch.alter_column("state", type_=sa.String(8), existing_type=_state_type(STATES), existing_nullable=False)
        batch.create_check_constraint("ck_charge_state", _in("state", OLD_STATES))
    if _sqlite():
        conn.execute(sa.text("INSERT INTO charge_line SELECT * FROM charge_line_kept "
                             "WHERE id NOT IN (SELECT id FROM charge_line)"))
        conn.execute(sa.text("DROP TABLE charge_line_kept"))
    op.drop_index("uq_usage_open_session", table_name="usage_record")
    # the CHECKs were added inside their columns, so SQLite (3.35+) drops these columns in place; a
    # foreign-key column needs a copy (it fails, rather than losing rows, while charges point at uses)
    for table, column in (("usage_record", "registered_at"), ("usage_record", "samples_returned"),
                          ("usage_record", "samples_received"), ("fee_item", "quantity_basis"),
                          ("fee_standard", "unit_rounding"), ("fee_standard", "tier_mode")):
        if _sqlite():
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
    with op.batch_alter_table("usage_record") as batch:
        batch.drop_column("registered_by_id")
