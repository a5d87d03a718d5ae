"""Background work on a task queue (Huey): a report export waits queued until a worker takes it and
beats while it is built; every failed task run is recorded for the school.

Exports still marked running from the thread-based exporter are ended as failed: no worker will
finish them.

Revision ID: 0011_task_queue
Revises: 0010_usage_year_index
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_task_queue"
down_revision = "0010_usage_year_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_export") as batch:
        batch.drop_constraint("ck_report_export_state", type_="check")
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime()))
        batch.create_check_constraint("ck_report_export_state", "state IN ('queued', 'running', 'done', 'failed')")
    op.execute("UPDATE report_export SET state = 'failed' WHERE state = 'running'")
    op.create_table(
        "task_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task", sa.String(100), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("arguments", sa.String(500)),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text()),
        sa.Column("retries_left", sa.SmallInteger(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_task_failure_failed_at", "task_failure", ["failed_at"])


def downgrade():
    op.drop_index("ix_task_failure_failed_at", table_name="task_failure")
    op.drop_table("task_failure")
    op.execute("UPDATE report_export SET state = 'failed' WHERE state = 'queued'")
    with op.batch_alter_table("report_export") as batch:
        batch.drop_constraint("ck_report_export_state", type_="check")
        batch.drop_column("heartbeat_at")
        batch.create_check_constraint("ck_report_export_state", "state IN ('running', 'done', 'failed')")
