"""The PI's approval of on-campus charges (issue 14, item 4): one row per charge that waits for it, with
the signed link's nonce, the mail's fate and the decision. A new table; the campus charges already confirmed
and not yet invoiced are asked for too.

Revision ID: 0020_pi_approval
Revises: 0019_interlock
"""
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = "0020_pi_approval"
down_revision = "0019_interlock"
branch_labels = None
depends_on = None


def _choice(name, codes, constraint, **kwargs):
    return sa.Column(name, sa.Enum(*codes, name=constraint, native_enum=False, create_constraint=True,
                                   length=max(len(c) for c in codes)), **kwargs)


def upgrade():
    op.create_table(
        "charge_approval",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("charge_id", sa.Integer(), sa.ForeignKey("charge.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
        sa.Column("pi_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="SET NULL")),
        sa.Column("pi_name", sa.String(64)),
        sa.Column("email_to", sa.String(120)),
        sa.Column("project_account", sa.String(64)),
        _choice("state", ("awaiting", "approved", "rejected"), "ck_pi_approval_state", nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("emailed_at", sa.DateTime(timezone=True)),
        sa.Column("email_error", sa.Text()),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        _choice("decided_via", ("link", "lab"), "ck_pi_decided_via"),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("note", sa.Text()),
        sa.CheckConstraint("state <> 'rejected' OR note IS NOT NULL", name="pi_rejection_has_reason"),
        sa.CheckConstraint("(state = 'awaiting') = (decided_at IS NULL)", name="pi_decision_has_time"),
    )
    op.create_index("ix_charge_approval_instrument_id", "charge_approval", ["instrument_id"])
    _ask_for_the_confirmed(op.get_bind())


def _ask_for_the_confirmed(conn):
    """Campus charges confirmed before this release and not yet invoiced wait for their PI too (the lab
    mails the link from the charge's page, or records a decision given on paper)."""
    rows = conn.execute(sa.text(
        "SELECT c.id, u.instrument_id, p.id AS pi_id, p.name, p.email, c.project_account FROM charge c "
        "JOIN usage_record u ON u.id = c.usage_id JOIN service_user s ON s.id = c.user_id "
        "LEFT JOIN person p ON p.id = s.pi_id "
        "WHERE c.state = 'confirmed' AND c.customer_category = 'campus' AND c.credit_of_id IS NULL AND c.total > 0")).all()
    now = datetime.now(timezone.utc)
    for row in rows:
        conn.execute(sa.text(
            "INSERT INTO charge_approval (charge_id, instrument_id, pi_id, pi_name, email_to, project_account, state, "
            "requested_at, nonce) VALUES (:charge, :instrument, :pi, :name, :email, :account, 'awaiting', :now, :nonce)"),
            {"charge": row.id, "instrument": row.instrument_id, "pi": row.pi_id, "name": row.name,
             "email": row.email or None, "account": row.project_account, "now": now, "nonce": secrets.token_hex(16)})


def downgrade():
    op.drop_table("charge_approval")
