"""One rule for storing time (app/clock.py): every instant in UTC — on PostgreSQL as timestamptz,
on SQLite as UTC text (SQLite has no zoned type; the application restores the zone on load).

What this assumes of the data already stored:
- every timestamp the platform wrote itself was UTC (`utcnow()` in the models, the IoT bridge and
  the change log), so on PostgreSQL it becomes the same instant (`AT TIME ZONE 'UTC'`);
- except the fee workflow's, which was stamped with the server's local time (`datetime.now()`):
  `fee_standard_event.at` and `fee_standard.approved_at` are read as local time of the machine that
  runs this migration — the machine (and time zone) that served the workflow — and converted to
  UTC, row by row, with that zone's rules on each date. Under TZ=UTC nothing changes.
- FAB's own account columns (`ab_user.created_on`, `changed_on`, `last_login`) stay as FAB writes
  them (the server's local time, no zone); the account screens convert them when they show them.

Revision ID: 0012_instants_in_utc
Revises: 0011_task_queue
"""
from datetime import timezone

from alembic import op
import sqlalchemy as sa

revision = "0012_instants_in_utc"
down_revision = "0011_task_queue"
branch_labels = None
depends_on = None

INSTANTS = {
    "instrument": ["updated_at"],
    "unsuitable_filing": ["created_at", "decided_at"],
    "fee_standard": ["approved_at", "created_at"],
    "fee_standard_event": ["at"],
    "booking": ["requested_start", "requested_end", "scheduled_start", "scheduled_end", "submitted_at", "responded_at"],
    "usage_record": ["started_at", "ended_at"],
    "charge": ["created_at"],
    "evaluation": ["created_at"],
    "iot_terminal": ["first_seen"],
    "device_status": ["reported_at", "received_at", "running_since"],
    "device_event": ["at"],
    "iot_rejection": ["first_at", "last_at"],
    "change_log": ["changed_at"],
    "report_export": ["created_at", "heartbeat_at", "finished_at"],
    "task_failure": ["failed_at"],
}
SERVER_LOCAL = {"fee_standard_event": ["at"], "fee_standard": ["approved_at"]}


def _shift_local(to_utc: bool):
    """Rewrite the server-local columns as UTC (or back), each row by its own date's offset. Runs
    while the columns hold naive values (before the upgrade's type change, after the downgrade's)."""
    conn = op.get_bind()
    for table_name, columns in SERVER_LOCAL.items():
        for column in columns:
            table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, sa.DateTime()))
            rows = conn.execute(sa.select(table.c.id, table.c[column]).where(table.c[column].isnot(None))).all()
            for pk, value in rows:
                if to_utc:  # a naive value read as this machine's local time
                    converted = value.astimezone(timezone.utc).replace(tzinfo=None)
                else:
                    converted = value.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)
                conn.execute(table.update().where(table.c.id == pk).values({column: converted}))


def upgrade():
    _shift_local(to_utc=True)
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps UTC text; the column type restores the zone
    for table, columns in INSTANTS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.DateTime(timezone=True),
                            postgresql_using=f"{column} AT TIME ZONE 'UTC'")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in INSTANTS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.DateTime(timezone=False),
                                postgresql_using=f"{column} AT TIME ZONE 'UTC'")
    _shift_local(to_utc=False)
