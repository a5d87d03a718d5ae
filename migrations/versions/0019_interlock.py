"""The power interlock (issue 14, item 3): an instrument's booking rule switches its interlock on,
with the grace around the slot and whether the slot's end may cut a run in progress; and the outbox
of plug commands the IoT bridge publishes and confirms. Plain ADD COLUMN on SQLite, each CHECK inside
its column (as 0017 does): a batch copy of booking_rule would gain nothing and risk its children.

Revision ID: 0019_interlock
Revises: 0018_evaluation_aspects
"""
from alembic import op
import sqlalchemy as sa

revision = "0019_interlock"
down_revision = "0018_evaluation_aspects"
branch_labels = None
depends_on = None

ADAPTERS = ("native", "tasmota", "shelly")
ACTIONS = ("on", "off")
REASONS = ("start", "end", "slot_end")
STATES = ("pending", "sent", "confirmed", "superseded", "failed")
GRACE = "interlock_grace_minutes BETWEEN 0 AND 240"


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _choice(name, codes, constraint, **kwargs):
    return sa.Column(name, sa.Enum(*codes, name=constraint, native_enum=False, create_constraint=True,
                                   length=max(len(c) for c in codes)), **kwargs)


def upgrade():
    if _sqlite():
        op.execute("ALTER TABLE booking_rule ADD COLUMN interlock BOOLEAN DEFAULT 0 NOT NULL")
        op.execute("ALTER TABLE booking_rule ADD COLUMN interlock_grace_minutes INTEGER DEFAULT 10 NOT NULL "
                   f"CONSTRAINT interlock_grace_range CHECK ({GRACE})")
        op.execute("ALTER TABLE booking_rule ADD COLUMN interlock_cuts_running BOOLEAN DEFAULT 0 NOT NULL")
    else:
        op.add_column("booking_rule", sa.Column("interlock", sa.Boolean(), nullable=False, server_default=sa.false()))
        op.add_column("booking_rule", sa.Column("interlock_grace_minutes", sa.Integer(), nullable=False,
                                                server_default="10"))
        op.add_column("booking_rule", sa.Column("interlock_cuts_running", sa.Boolean(), nullable=False,
                                                server_default=sa.false()))
        op.create_check_constraint("interlock_grace_range", "booking_rule", GRACE)
    op.create_table(
        "interlock_command",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        sa.Column("terminal_id", sa.String(64), nullable=False),
        _choice("adapter", ADAPTERS, "ck_terminal_adapter", nullable=False),
        _choice("action", ACTIONS, "ck_interlock_action", nullable=False),
        _choice("reason", REASONS, "ck_interlock_reason", nullable=False),
        _choice("state", STATES, "ck_interlock_state", nullable=False),
        sa.Column("usage_id", sa.Integer(), sa.ForeignKey("usage_record.id", ondelete="SET NULL")),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("booking.id", ondelete="SET NULL")),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_sent_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("detail", sa.String(200)),
        sa.CheckConstraint("attempts >= 0", name="interlock_attempts_non_negative"),
    )
    op.create_index("ix_interlock_command_due", "interlock_command", ["state", "next_attempt_at"])
    op.create_index("ix_interlock_command_terminal", "interlock_command", ["terminal_id", "state"])
    op.create_index("ix_interlock_command_booking", "interlock_command", ["booking_id"])


def downgrade():
    op.drop_table("interlock_command")
    if not _sqlite():
        op.drop_constraint("interlock_grace_range", "booking_rule", type_="check")
    for column in ("interlock_cuts_running", "interlock_grace_minutes", "interlock"):
        if _sqlite():  # SQLite drops a column with its own CHECK in place
            op.execute(f"ALTER TABLE booking_rule DROP COLUMN {column}")
        else:
            op.drop_column("booking_rule", column)
