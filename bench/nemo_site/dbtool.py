"""Small database chores for the NEMO peer, run with the NEMO venv's python.

    python -m bench.nemo_site.dbtool create-db
    python -m bench.nemo_site.dbtool count TOOL_ID START END     # prints an integer
    python -m bench.nemo_site.dbtool delete TOOL_ID START END    # prints how many went

START and END are ISO datetimes (naive means UTC). The database is NEMO_DATABASE_URL.
Counting is one raw query, so a race test can call it often; deleting goes through
NEMO's ORM so that rows that point at a reservation go with it.
"""

import os
import sys
from datetime import datetime, timezone

from bench.nemo_site.settings import DEFAULT_DATABASE_URL, database_from_url

# A reservation [start, end) overlaps [a, b) when start < b and end > a.
OVERLAP_SQL = (
    'SELECT count(*) FROM "NEMO_reservation" '
    'WHERE tool_id = %s AND NOT cancelled AND start < %s AND "end" > %s'
)


def database():
    return database_from_url(os.environ.get("NEMO_DATABASE_URL", DEFAULT_DATABASE_URL))


def connect(dbname=None):
    import psycopg

    db = database()
    return psycopg.connect(
        dbname=dbname or db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"],
        port=db["PORT"],
        autocommit=True,
    )


def parse_utc(text):
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def create_db():
    from psycopg import sql

    name = database()["NAME"]
    with connect("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return 0 if exists else 1


def count(tool_id, start, end):
    with connect() as conn:
        return conn.execute(OVERLAP_SQL, (tool_id, end, start)).fetchone()[0]


def delete(tool_id, start, end):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.nemo_site.settings")
    import django

    django.setup()
    from NEMO.models import Reservation

    doomed = Reservation.objects.filter(tool_id=tool_id, start__lt=end, end__gt=start)
    return doomed.delete()[1].get("NEMO.Reservation", 0)


def main(argv):
    command, *rest = argv
    if command == "create-db":
        print(create_db())
    elif command in ("count", "delete"):
        tool_id, start, end = int(rest[0]), parse_utc(rest[1]), parse_utc(rest[2])
        print((count if command == "count" else delete)(tool_id, start, end))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
