"""An index that serves a year's usage figures per instrument in order: instrument, user, start,
and on PostgreSQL the hours, samples, source and service type as included columns, so the annual
report reads it alone (an index-only scan) and counts distinct users without hashing every row.

Revision ID: 0010_usage_year_index
Revises: 0009_report_export
"""
from alembic import op

revision = "0010_usage_year_index"
down_revision = "0009_report_export"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_usage_instrument_user_started", "usage_record", ["instrument_id", "user_id", "started_at"],
                    postgresql_include=["hours", "samples", "source", "service_type"])


def downgrade():
    op.drop_index("ix_usage_instrument_user_started", table_name="usage_record")
