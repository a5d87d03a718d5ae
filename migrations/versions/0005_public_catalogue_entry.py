"""The public catalogue's entry on the instrument: the published standard in force and its lowest
price, with partial indexes for the catalogue's orders.

The columns are filled by app/services/public_catalogue.py (after every flush that touches a fee
standard or an instrument's sharing/run status, and once a day per process for standards whose
effective date arrives); an upgraded database is filled on the first public request.

Revision ID: 0005_public_catalogue_entry
Revises: 0004_catalogue_indexes
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_public_catalogue_entry"
down_revision = "0004_catalogue_indexes"
branch_labels = None
depends_on = None

PUBLISHED = sa.text("public_standard_id IS NOT NULL")


def upgrade():
    # plain ADD COLUMN (no batch rebuild): nullable columns without constraints
    op.add_column("instrument", sa.Column("public_standard_id", sa.Integer()))
    op.add_column("instrument", sa.Column("public_min_price", sa.Numeric(14, 2)))
    op.create_index("ix_instrument_public_standard_id", "instrument", ["public_standard_id"])
    op.create_index("ix_instrument_public_name", "instrument", ["name", "id"],
                    sqlite_where=PUBLISHED, postgresql_where=PUBLISHED)
    op.create_index("ix_instrument_public_price", "instrument", ["public_min_price", "id"],
                    sqlite_where=PUBLISHED, postgresql_where=PUBLISHED)


def downgrade():
    op.drop_index("ix_instrument_public_price", table_name="instrument")
    op.drop_index("ix_instrument_public_name", table_name="instrument")
    op.drop_index("ix_instrument_public_standard_id", table_name="instrument")
    # ALTER TABLE … DROP COLUMN (SQLite >= 3.35), not a batch rebuild: rebuilding the table with
    # foreign keys on would cascade-delete every row that references an instrument
    op.drop_column("instrument", "public_min_price")
    op.drop_column("instrument", "public_standard_id")
