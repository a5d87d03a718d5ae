"""Calendars: an instrument's bookings over a span are one index range on (instrument, slot start),
the slot start being the scheduled one once answered and the requested one before — replacing the
two indexes on each column, which a week's calendar had to combine; and the secret of each
instrument's iCalendar feed for its lab.

Revision ID: 0014_calendar_feeds
Revises: 0013_booking
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_calendar_feeds"
down_revision = "0013_booking"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("booking") as batch:
        batch.drop_index("ix_booking_instrument_slot")
        batch.drop_index("ix_booking_instrument_requested")
    op.create_index("ix_booking_instrument_slot", "booking",
                    ["instrument_id", sa.text("coalesce(scheduled_start, requested_start)")])
    op.create_table(
        "instrument_feed",
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.UniqueConstraint("token", name="uq_instrument_feed_token"),
    )


def downgrade():
    op.drop_table("instrument_feed")
    op.drop_index("ix_booking_instrument_slot", table_name="booking")
    with op.batch_alter_table("booking") as batch:
        batch.create_index("ix_booking_instrument_slot", ["instrument_id", "scheduled_start"])
        batch.create_index("ix_booking_instrument_requested", ["instrument_id", "requested_start"])
