"""Writing many rows in one statement where a unique index may already hold some of them (the IoT
bridge's batches: redelivered messages must change nothing): INSERT … ON CONFLICT DO NOTHING, on
PostgreSQL and SQLite alike."""
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def dialect_insert(session):
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite alike)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql_insert
    if dialect == "sqlite":
        return sqlite_insert
    raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover - the two supported databases


def insert_ignoring_duplicates(session, model, rows, returning="id"):
    """INSERT … ON CONFLICT DO NOTHING, one executemany; returns the values of `returning` of
    the rows really inserted (a conflicting row returns nothing)."""
    if not rows:
        return []
    table = model.__table__
    statement = dialect_insert(session)(table).on_conflict_do_nothing().returning(table.c[returning])
    return session.connection().execute(statement, rows).scalars().all()
