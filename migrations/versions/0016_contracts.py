"""Service contracts (Art. 16): their validity, and the stored scan (its name outside the web root,
the uploaded file's name, size and SHA-256, when and by whom); a booking records when its outside
user accepted the school's standard terms instead of a contract.

Revision ID: 0016_contracts
Revises: 0015_messages
"""
from alembic import op
import sqlalchemy as sa

revision = "0016_contracts"
down_revision = "0015_messages"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_contract") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date()))
        batch.add_column(sa.Column("valid_until", sa.Date()))
        batch.add_column(sa.Column("file_name", sa.String(200)))
        batch.add_column(sa.Column("file_size", sa.Integer()))
        batch.add_column(sa.Column("file_sha256", sa.String(64)))
        batch.add_column(sa.Column("uploaded_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("uploaded_by_id", sa.Integer(),
                                   sa.ForeignKey("ab_user.id", name="fk_service_contract_uploaded_by")))
        batch.create_check_constraint("contract_validity_ordered",
                                      "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from")
    # plain ALTER TABLE, not a batch copy: a copy of `booking` on SQLite would lose the slot triggers of
    # 0013 and the expression index of 0014, which SQLAlchemy cannot reflect
    op.add_column("booking", sa.Column("terms_accepted_at", sa.DateTime(timezone=True)))


def downgrade():
    op.drop_column("booking", "terms_accepted_at")
    with op.batch_alter_table("service_contract") as batch:
        batch.drop_constraint("contract_validity_ordered", type_="check")
        for column in ("uploaded_by_id", "uploaded_at", "file_sha256", "file_size", "file_name", "valid_until",
                       "valid_from"):
            batch.drop_column(column)
