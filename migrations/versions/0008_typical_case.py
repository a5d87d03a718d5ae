"""Typical cases of the year's sharing service, written by labs for the annual report (Art. 14).

Revision ID: 0008_typical_case
Revises: 0007_instrument_year_cost
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_typical_case"
down_revision = "0007_instrument_year_cost"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "typical_case",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id")),
        sa.Column("served", sa.String(200)),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="case_year_in_range"),
    )
    op.create_index("ix_typical_case_unit_id", "typical_case", ["unit_id"])
    op.create_index("ix_typical_case_instrument_id", "typical_case", ["instrument_id"])


def downgrade():
    op.drop_index("ix_typical_case_instrument_id", table_name="typical_case")
    op.drop_index("ix_typical_case_unit_id", table_name="typical_case")
    op.drop_table("typical_case")
