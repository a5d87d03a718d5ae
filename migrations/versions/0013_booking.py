"""Online booking: service users' registration and campus binding, authorisations to operate,
booking rules, opening hours and closures per instrument, the booking's modes, answers and
cancellations — and the rule that two holding self-operated bookings of one instrument never
overlap, kept by the database itself: on PostgreSQL an exclusion constraint over the slot's time
range (btree_gist), on SQLite triggers that refuse the insert or update in its own write
transaction (SQLite runs one writer at a time, so the check and the write cannot interleave).

A booking holds its slot while pending, scheduled, completed or marked a no-show; the slot is the
scheduled one once the lab has answered, the requested one before.

Revision ID: 0013_booking
Revises: 0012_instants_in_utc
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_booking"
down_revision = "0012_instants_in_utc"
branch_labels = None
depends_on = None

HOLDING = "('pending', 'scheduled', 'completed', 'no_show')"
START = "COALESCE({t}scheduled_start, {t}requested_start)"
END = "COALESCE({t}scheduled_end, {t}requested_end)"


def _instant(name, **kw):
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _sqlite_trigger(event):
    new_start, new_end = START.format(t="NEW."), END.format(t="NEW.")
    old_start, old_end = START.format(t="b."), END.format(t="b.")
    return f"""
CREATE TRIGGER booking_slot_free_{event.split()[0].lower()} BEFORE {event} ON booking
WHEN NEW.mode = 'self_operated' AND NEW.state IN {HOLDING} AND {new_start} IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'booking_slot_taken') WHERE EXISTS (
    SELECT 1 FROM booking b
    WHERE b.instrument_id = NEW.instrument_id AND b.mode = 'self_operated' AND b.state IN {HOLDING}
      AND b.id IS NOT NEW.id AND {old_start} < {new_end} AND {old_end} > {new_start});
END"""


def upgrade():
    with op.batch_alter_table("service_user") as batch:
        batch.add_column(sa.Column("status", sa.String(8), nullable=False, server_default="active"))
        batch.add_column(sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", name="fk_service_user_unit")))
        batch.add_column(sa.Column("project_account", sa.String(64)))
        batch.add_column(sa.Column("pi_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_service_user_pi")))
        batch.add_column(sa.Column("suspended_until", sa.Date()))
        batch.add_column(sa.Column("suspension_reason", sa.Text()))
        batch.add_column(sa.Column("calendar_token", sa.String(64)))
        batch.add_column(_instant("registered_at"))
        batch.add_column(_instant("decided_at"))
        batch.add_column(sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("ab_user.id", name="fk_service_user_decided_by")))
        batch.create_check_constraint("ck_service_user_status", "status IN ('pending', 'active', 'rejected', 'disabled')")
        batch.create_index("ix_service_user_unit_id", ["unit_id"])
        batch.create_unique_constraint("uq_service_user_calendar_token", ["calendar_token"])
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("requested_date", sa.Date()))
        batch.add_column(sa.Column("scheduled_date", sa.Date()))
        batch.add_column(sa.Column("sample_hazards", sa.Text()))
        batch.add_column(sa.Column("sample_disposal", sa.Text()))
        batch.add_column(sa.Column("respond_by_official", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("delayed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("alternative_instrument_id", sa.Integer(),
                                   sa.ForeignKey("instrument.id", name="fk_booking_alternative_instrument")))
        batch.add_column(_instant("cancelled_at"))
        batch.add_column(sa.Column("late_cancellation", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(_instant("no_show_at"))
        batch.add_column(_instant("reminded_at"))
        batch.add_column(_instant("warned_at"))
        batch.create_check_constraint("booking_request_ordered",
                                      "requested_end IS NULL OR requested_start IS NULL OR requested_end > requested_start")
        batch.create_index("ix_booking_state_respond_by", ["state", "respond_by"])
        batch.create_index("ix_booking_instrument_slot", ["instrument_id", "scheduled_start"])
        batch.create_index("ix_booking_instrument_requested", ["instrument_id", "requested_start"])

    op.create_table(
        "authorisation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("service_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(9), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(64)),
        sa.Column("training_id", sa.Integer(), sa.ForeignKey("training_session.id", ondelete="SET NULL")),
        sa.Column("granted_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("reason", sa.Text()),
        sa.Column("last_used_on", sa.Date()),
        _instant("changed_at"),
        sa.CheckConstraint("state IN ('active', 'suspended', 'revoked', 'lapsed')", name="ck_authorisation_state"),
        sa.UniqueConstraint("user_id", "instrument_id", name="uq_authorisation_user_instrument"),
    )
    op.create_index("ix_authorisation_user_id", "authorisation", ["user_id"])
    op.create_index("ix_authorisation_instrument_id", "authorisation", ["instrument_id"])
    op.create_table(
        "booking_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("accepts_self_operated", sa.Boolean(), nullable=False),
        sa.Column("accepts_sample", sa.Boolean(), nullable=False),
        sa.Column("accepts_service", sa.Boolean(), nullable=False),
        sa.Column("min_slot_minutes", sa.Integer(), nullable=False),
        sa.Column("max_slot_minutes", sa.Integer(), nullable=False),
        sa.Column("max_days_ahead", sa.Integer(), nullable=False),
        sa.Column("min_hours_ahead", sa.Integer(), nullable=False),
        sa.Column("auto_confirm", sa.Boolean(), nullable=False),
        sa.Column("cancel_hours_before", sa.Integer(), nullable=False),
        sa.Column("open_on_holidays", sa.Boolean(), nullable=False),
        sa.CheckConstraint("min_slot_minutes > 0 AND max_slot_minutes >= min_slot_minutes", name="booking_slot_range"),
        sa.CheckConstraint("max_days_ahead >= 0 AND min_hours_ahead >= 0 AND cancel_hours_before >= 0",
                           name="booking_horizons_non_negative"),
    )
    op.create_table(
        "opening_hours",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="opening_weekday"),
        sa.CheckConstraint("closes > opens", name="opening_ordered"),
    )
    op.create_index("ix_opening_hours_instrument_id", "opening_hours", ["instrument_id"])
    op.create_table(
        "closure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(11), nullable=False),
        _instant("starts_at", nullable=False),
        _instant("ends_at", nullable=False),
        sa.Column("reason", sa.Text()),
        sa.CheckConstraint("kind IN ('maintenance', 'calibration', 'other')", name="ck_closure_kind"),
        sa.CheckConstraint("ends_at > starts_at", name="closure_ordered"),
    )
    op.create_index("ix_closure_instrument_id", "closure", ["instrument_id"])
    op.create_index("ix_closure_instrument_start", "closure", ["instrument_id", "starts_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(f"""ALTER TABLE booking ADD CONSTRAINT booking_slots_do_not_overlap EXCLUDE USING gist (
            instrument_id WITH =, tstzrange({START.format(t='')}, {END.format(t='')}, '[)') WITH &&)
            WHERE (mode = 'self_operated' AND state IN {HOLDING} AND {START.format(t='')} IS NOT NULL)""")
    else:
        op.execute(_sqlite_trigger("INSERT"))
        op.execute(_sqlite_trigger("UPDATE OF state, mode, instrument_id, requested_start, requested_end, "
                                   "scheduled_start, scheduled_end"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE booking DROP CONSTRAINT booking_slots_do_not_overlap")
    else:
        op.execute("DROP TRIGGER IF EXISTS booking_slot_free_insert")
        op.execute("DROP TRIGGER IF EXISTS booking_slot_free_update")
    for index, table in (("ix_closure_instrument_start", "closure"), ("ix_closure_instrument_id", "closure"),
                         ("ix_opening_hours_instrument_id", "opening_hours"),
                         ("ix_authorisation_instrument_id", "authorisation"), ("ix_authorisation_user_id", "authorisation")):
        op.drop_index(index, table_name=table)
    for table in ("closure", "opening_hours", "booking_rule", "authorisation"):
        op.drop_table(table)
    with op.batch_alter_table("booking") as batch:
        for index in ("ix_booking_instrument_requested", "ix_booking_instrument_slot", "ix_booking_state_respond_by"):
            batch.drop_index(index)
        batch.drop_constraint("booking_request_ordered", type_="check")
        batch.drop_constraint("fk_booking_alternative_instrument", type_="foreignkey")
        for column in ("warned_at", "reminded_at", "no_show_at", "late_cancellation", "cancelled_at",
                       "alternative_instrument_id", "delayed", "respond_by_official", "sample_disposal",
                       "sample_hazards", "scheduled_date", "requested_date"):
            batch.drop_column(column)
    with op.batch_alter_table("service_user") as batch:
        batch.drop_constraint("uq_service_user_calendar_token", type_="unique")
        batch.drop_index("ix_service_user_unit_id")
        batch.drop_constraint("ck_service_user_status", type_="check")
        for fk in ("fk_service_user_decided_by", "fk_service_user_pi", "fk_service_user_unit"):
            batch.drop_constraint(fk, type_="foreignkey")
        for column in ("decided_by_id", "decided_at", "registered_at", "calendar_token", "suspension_reason",
                       "suspended_until", "pi_id", "project_account", "unit_id", "status"):
            batch.drop_column(column)
