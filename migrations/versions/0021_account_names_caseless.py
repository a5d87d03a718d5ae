"""User names and e-mail addresses unique whatever their case (issue 21, defect 1).

FAB signs in by `lower(username)` and expects one row; a registration of `LAB_ADMIN` beside `lab_admin`
locked the real account out. Two unique indexes on `lower(…)` keep it from happening again. Accounts that
already clash cannot be indexed: the upgrade stops and names them, so that an administrator renames or
removes the impostors (nothing is renamed behind anyone's back), then runs the upgrade again.

Revision ID: 0021_account_names_caseless
Revises: 0020_pi_approval
"""
from alembic import op
import sqlalchemy as sa

revision = "0021_account_names_caseless"
down_revision = "0020_pi_approval"
branch_labels = None
depends_on = None

INDEXES = (("uq_ab_user_username_lower", "username"), ("uq_ab_user_email_lower", "email"))


class AccountClashes(RuntimeError):
    """Accounts whose names or addresses differ only in case: listed for the administrator."""


def clashes(conn):
    """[(column, [id: value, …]), …] for every group of accounts that differ only in the case of a column."""
    found = []
    for _index, column in INDEXES:
        groups = conn.execute(sa.text(
            f"SELECT lower({column}) FROM ab_user GROUP BY lower({column}) HAVING count(*) > 1 ORDER BY 1")).scalars().all()
        for key in groups:
            rows = conn.execute(sa.text(f"SELECT id, {column}, active FROM ab_user WHERE lower({column}) = :key ORDER BY id"),
                                {"key": key}).all()
            found.append((column, [f"#{r.id} {r[1]}{'' if r.active else ' (inactive)'}" for r in rows]))
    return found


def upgrade():
    conn = op.get_bind()
    found = clashes(conn)
    if found:
        listing = "; ".join(f"{column}: {', '.join(rows)}" for column, rows in found)
        raise AccountClashes(
            "账号名或邮箱仅大小写不同，无法建立唯一约束；请改名或删除冒用的账号后重新升级 / accounts that differ only "
            f"in case; rename or remove the impostors, then upgrade again: {listing}")
    for name, column in INDEXES:
        op.create_index(name, "ab_user", [sa.text(f"lower({column})")], unique=True)


def downgrade():
    for name, _column in INDEXES:
        op.drop_index(name, table_name="ab_user")
