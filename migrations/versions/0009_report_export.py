"""Report exports run in the background: their progress and, when done, the file.

Revision ID: 0009_report_export
Revises: 0008_typical_case
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_report_export"
down_revision = "0008_typical_case"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_export",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("report", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("stage", sa.String(200)),
        sa.Column("file_name", sa.String(255)),
        sa.Column("content", sa.LargeBinary()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.CheckConstraint("state IN ('running', 'done', 'failed')", name="ck_report_export_state"),
        sa.CheckConstraint("percent BETWEEN 0 AND 100", name="ck_report_export_percent"),
    )
    op.create_index("ix_report_export_account_id", "report_export", ["account_id"])


def downgrade():
    op.drop_index("ix_report_export_account_id", table_name="report_export")
    op.drop_table("report_export")
