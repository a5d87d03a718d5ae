"""A PI's decision on paper (issue 21, defect 5): recorded only where the PI has no e-mail address, by an
administrator above the lab, with the signed paper's scan — whose stored name, file name, size and SHA-256
are kept here. The way a decision came gains `paper`; `lab` stays for the decisions the lab itself recorded
before this release (without a scan). charge_approval has no children, so SQLite's batch copy is safe.

Revision ID: 0022_pi_paper_scan
Revises: 0021_account_names_caseless
"""
from alembic import op
import sqlalchemy as sa

revision = "0022_pi_paper_scan"
down_revision = "0021_account_names_caseless"
branch_labels = None
depends_on = None

OLD = ("link", "lab")
NEW = ("link", "paper", "lab")


def _via(codes):
    return sa.Enum(*codes, name="ck_pi_decided_via", native_enum=False, create_constraint=True,
                   length=max(len(c) for c in codes))


def _in(codes):
    return f"decided_via IN ({', '.join(repr(c) for c in codes)})"


def upgrade():
    with op.batch_alter_table("charge_approval") as batch:
        # the old CHECK goes with its type; the new one is added below
        batch.alter_column("decided_via", type_=sa.String(5), existing_type=_via(OLD), existing_nullable=True)
        batch.create_check_constraint("ck_pi_decided_via", _in(NEW))
        batch.add_column(sa.Column("scan_path", sa.String(255)))
        batch.add_column(sa.Column("scan_name", sa.String(200)))
        batch.add_column(sa.Column("scan_size", sa.Integer()))
        batch.add_column(sa.Column("scan_sha256", sa.String(64)))
        batch.create_check_constraint("pi_paper_has_scan",
                                      "decided_via IS NULL OR decided_via <> 'paper' OR scan_path IS NOT NULL")


def downgrade():
    op.execute("UPDATE charge_approval SET decided_via = 'lab' WHERE decided_via = 'paper'")
    with op.batch_alter_table("charge_approval") as batch:
        batch.drop_constraint("pi_paper_has_scan", type_="check")
        batch.drop_constraint("ck_pi_decided_via", type_="check")
        for column in ("scan_sha256", "scan_size", "scan_name", "scan_path"):
            batch.drop_column(column)
        batch.alter_column("decided_via", type_=_via(OLD), existing_type=sa.String(5), existing_nullable=True)
