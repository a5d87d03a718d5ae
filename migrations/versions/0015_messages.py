"""The message centre: what each step of the booking flow tells the accounts it concerns, whether it
was read, and whether its e-mail went (or why not); a reminder or warning is written once (its
dedupe key is unique).

Revision ID: 0015_messages
Revises: 0014_calendar_feeds
"""
from alembic import op
import sqlalchemy as sa

revision = "0015_messages"
down_revision = "0014_calendar_feeds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("recipient_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(300)),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("booking.id", ondelete="CASCADE")),
        sa.Column("attach_ics", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("dedupe_key", sa.String(120)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.Column("email_to", sa.String(120)),
        sa.Column("emailed_at", sa.DateTime(timezone=True)),
        sa.Column("email_error", sa.Text()),
        sa.UniqueConstraint("dedupe_key", name="uq_message_dedupe_key"),
    )
    op.create_index("ix_message_recipient_unread", "message", ["recipient_id", "read_at", "created_at"])
    op.create_index("ix_message_booking_id", "message", ["booking_id"])


def downgrade():
    op.drop_table("message")
