"""Indexes for the public catalogue: name/model substring search, price range, standards in force.

On PostgreSQL the name and model indexes are trigram GIN indexes (pg_trgm), which serve
LIKE '%…%'. Creating the extension needs a privileged role; where it is refused, plain btree
indexes are created instead and the search still works, only without the index.

Revision ID: 0004_catalogue_indexes
Revises: 0003_fee_workflow
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_catalogue_indexes"
down_revision = "0003_fee_workflow"
branch_labels = None
depends_on = None


def _have_trigrams(bind):
    if bind.dialect.name != "postgresql":
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except sa.exc.DBAPIError:
        return False


def upgrade():
    bind = op.get_bind()
    if _have_trigrams(bind):
        op.create_index("ix_instrument_name_trgm", "instrument", ["name"], postgresql_using="gin",
                        postgresql_ops={"name": "gin_trgm_ops"})
        op.create_index("ix_instrument_model_trgm", "instrument", ["model"], postgresql_using="gin",
                        postgresql_ops={"model": "gin_trgm_ops"})
    else:
        op.create_index("ix_instrument_name_trgm", "instrument", ["name"])
        op.create_index("ix_instrument_model_trgm", "instrument", ["model"])
    op.create_index("ix_fee_standard_state_instrument", "fee_standard", ["state", "instrument_id", "effective_from"])
    op.create_index("ix_fee_price_unit_price", "fee_price", ["unit_price", "item_id"])


def downgrade():
    op.drop_index("ix_fee_price_unit_price", table_name="fee_price")
    op.drop_index("ix_fee_standard_state_instrument", table_name="fee_standard")
    op.drop_index("ix_instrument_model_trgm", table_name="instrument")
    op.drop_index("ix_instrument_name_trgm", table_name="instrument")
