"""Evaluations rate the lab's attitude, timeliness and quality beside the overall score, and keep who
replied when (issue 14). Plain ADD COLUMN on SQLite, each CHECK inside its column (as 0017 does).

Revision ID: 0018_evaluation_aspects
Revises: 0017_usage_settlement
"""
from alembic import op
import sqlalchemy as sa

revision = "0018_evaluation_aspects"
down_revision = "0017_usage_settlement"
branch_labels = None
depends_on = None

ASPECTS = ("attitude", "timeliness", "quality")


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    for aspect in ASPECTS:
        check = f"{aspect} IS NULL OR {aspect} BETWEEN 1 AND 5"
        if _sqlite():
            op.execute(f"ALTER TABLE evaluation ADD COLUMN {aspect} SMALLINT CONSTRAINT {aspect}_one_to_five CHECK ({check})")
        else:
            op.add_column("evaluation", sa.Column(aspect, sa.SmallInteger()))
            op.create_check_constraint(f"{aspect}_one_to_five", "evaluation", check)
    op.add_column("evaluation", sa.Column("replied_at", sa.DateTime(timezone=True)))
    if _sqlite():
        op.execute("ALTER TABLE evaluation ADD COLUMN replied_by_id INTEGER "
                   "CONSTRAINT fk_evaluation_replied_by REFERENCES ab_user (id)")
    else:
        op.add_column("evaluation", sa.Column("replied_by_id", sa.Integer(),
                                              sa.ForeignKey("ab_user.id", name="fk_evaluation_replied_by")))


def downgrade():
    for column in ("replied_at", *reversed(ASPECTS)):  # SQLite drops a column with its own CHECK in place
        if _sqlite():
            op.execute(f"ALTER TABLE evaluation DROP COLUMN {column}")
        else:
            op.drop_column("evaluation", column)
    with op.batch_alter_table("evaluation") as batch:  # nothing points at an evaluation: a copy loses nothing
        batch.drop_column("replied_by_id")
