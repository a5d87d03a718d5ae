"""Art. 15's cost basis per instrument and year (materials consumed by sharing, the year's
utilities total), entered by labs and read by the subsidy report.

Revision ID: 0007_instrument_year_cost
Revises: 0006_iot_bridge
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_instrument_year_cost"
down_revision = "0006_iot_bridge"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instrument_year_cost",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("materials_cost", sa.Numeric(14, 2), nullable=False),
        sa.Column("utilities_total", sa.Numeric(14, 2), nullable=False),
        sa.Column("remarks", sa.Text()),
        sa.UniqueConstraint("instrument_id", "year", name="uq_instrument_year_cost"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="cost_year_in_range"),
        sa.CheckConstraint("materials_cost >= 0", name="materials_cost_non_negative"),
        sa.CheckConstraint("utilities_total >= 0", name="utilities_total_non_negative"),
    )
    op.create_index("ix_instrument_year_cost_instrument_id", "instrument_year_cost", ["instrument_id"])


def downgrade():
    op.drop_index("ix_instrument_year_cost_instrument_id", table_name="instrument_year_cost")
    op.drop_table("instrument_year_cost")
