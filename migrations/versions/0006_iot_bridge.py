"""IoT bridge: the running period in progress per terminal, one machine-time record per period,
and the count of refused messages per reason and terminal.

Revision ID: 0006_iot_bridge
Revises: 0005_public_catalogue_entry
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_iot_bridge"
down_revision = "0005_public_catalogue_entry"
branch_labels = None
depends_on = None

IOT_SOURCE = sa.text("source = 'iot'")


def upgrade():
    op.add_column("device_status", sa.Column("running_since", sa.DateTime()))
    op.create_index("uq_usage_iot_period", "usage_record", ["instrument_id", "started_at"], unique=True,
                    sqlite_where=IOT_SOURCE, postgresql_where=IOT_SOURCE)
    op.create_table(
        "iot_rejection",
        sa.Column("reason", sa.String(20), primary_key=True),
        sa.Column("terminal_id", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_detail", sa.String(200)),
        sa.CheckConstraint(
            "reason IN ('oversized', 'wrong_topic', 'not_json', 'wrong_type', 'unknown_state', 'bad_timestamp')",
            name="ck_iot_rejection_reason",
        ),
    )


def downgrade():
    op.drop_table("iot_rejection")
    op.drop_index("uq_usage_iot_period", table_name="usage_record")
    op.drop_column("device_status", "running_since")  # plain DROP COLUMN, no batch rebuild
