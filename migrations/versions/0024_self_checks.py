"""Monthly self-checks and quarterly reviews (issue 23, item 4): a check's state (open, signed, returned,
approved), who signed it and when, the quarterly review's decision and remarks; the records a check went through
(check_item), each checked field confirmed or corrected. A check recorded before this release was a done check:
it is signed. A person's leaving date (person.left_on), so a record whose responsible person has left is found.

Revision ID: 0024_self_checks
Revises: 0023_asset_ledger
"""
from alembic import op
import sqlalchemy as sa

revision = "0024_self_checks"
down_revision = "0023_asset_ledger"
branch_labels = None
depends_on = None

STATES = ("open", "signed", "returned", "approved")
RESULTS = ("confirmed", "corrected")
ITEM_FIELDS = ("run_status", "location", "contact", "fee_standard", "indicators")


def _choice(codes, name):
    return sa.Enum(*codes, name=name, native_enum=False, create_constraint=True, length=max(len(c) for c in codes))


def upgrade():
    with op.batch_alter_table("check_record") as batch:
        batch.add_column(sa.Column("state", _choice(STATES, "ck_check_state"), nullable=False, server_default="signed"))
        batch.add_column(sa.Column("opened_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("signed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id", name="fk_check_record_signed_by")))
        batch.add_column(sa.Column("reviewed_by_id", sa.Integer(),
                                   sa.ForeignKey("ab_user.id", name="fk_check_record_reviewed_by")))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("remarks", sa.Text()))
        batch.alter_column("checked_on", existing_type=sa.Date(), nullable=True)
    op.create_table(
        "check_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("check_id", sa.Integer(), sa.ForeignKey("check_record.id", ondelete="CASCADE"), nullable=False),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        *(sa.Column(field, _choice(RESULTS, f"ck_check_item_{field}"), nullable=False) for field in ITEM_FIELDS),
        sa.Column("note", sa.String(200)),
        sa.Column("confirmed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("check_id", "instrument_id", name="uq_check_item_once"),
    )
    op.create_index("ix_check_item_instrument_id", "check_item", ["instrument_id"])
    op.add_column("person", sa.Column("left_on", sa.Date()))


def downgrade():
    op.drop_column("person", "left_on")
    op.drop_index("ix_check_item_instrument_id", "check_item")
    op.drop_table("check_item")
    with op.batch_alter_table("check_record") as batch:
        batch.alter_column("checked_on", existing_type=sa.Date(), nullable=False)
        batch.drop_constraint("ck_check_state", type_="check")
        batch.drop_constraint("fk_check_record_signed_by", type_="foreignkey")
        batch.drop_constraint("fk_check_record_reviewed_by", type_="foreignkey")
        for column in ("remarks", "reviewed_at", "reviewed_by_id", "signed_by_id", "opened_at", "state"):
            batch.drop_column(column)
