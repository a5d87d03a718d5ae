"""The usage index by instrument and start carries, on PostgreSQL, the user, hours, samples, source
and service type as included columns: the annual report then reads a year's figures per
instrument (hours, samples, distinct users) from the index alone, in instrument order, instead of
hashing every usage row. SQLite keeps the plain index (it has no included columns).

Revision ID: 0010_usage_year_index
Revises: 0009_report_export
"""
from alembic import op

revision = "0010_usage_year_index"
down_revision = "0009_report_export"
branch_labels = None
depends_on = None

INCLUDED = ["user_id", "hours", "samples", "source", "service_type"]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_usage_instrument_started", table_name="usage_record")
    op.create_index("ix_usage_instrument_started", "usage_record", ["instrument_id", "started_at"],
                    postgresql_include=INCLUDED)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_usage_instrument_started", table_name="usage_record")
    op.create_index("ix_usage_instrument_started", "usage_record", ["instrument_id", "started_at"])
