"""The demo university exactly as `make run` builds it — `flask --app app db upgrade`, `sync-roles`,
`seed-demo`, each a real command — in a database of its own beside the suite's: a temporary SQLite
file, or on PostgreSQL a database named after the suite's with `_demo` appended (created, and
dropped afterwards). The smoke test and the browser suite both use it (one build per test run)."""
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from .mqtt_broker import ROOT

DEMO_PASSWORD = "demo-1234"
DEMO_ACCOUNTS = ("school_admin", "college_admin", "lab_admin", "service_user")


@dataclass
class DemoSite:
    database_url: str
    build_log: str
    pristine_url: str  # a copy taken right after seeding, for tests that write at random (the API fuzzer)


def _postgres_demo_url(suite_url):
    url = sa.engine.make_url(suite_url)
    name = f"{url.database}_demo"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _postgres_copy(suite_url, demo_name):
    """A copy of the freshly seeded demo database (nothing is connected to it yet, as a template needs)."""
    url = sa.engine.make_url(suite_url)
    name = f"{demo_name}_pristine"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{demo_name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _sqlite_copy(url):
    """A copy of the demo's SQLite file (its writer has closed it: the write-ahead log is checkpointed)."""
    source = sa.engine.make_url(url).database
    target = source.replace("demo.db", "pristine.db")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def _drop_postgres(suite_url, name):
    admin = sa.create_engine(sa.engine.make_url(suite_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def flask_command(database_url, *args, timeout=600):
    """`flask --app app …` as a separate process, as `make` runs it."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def demo_site(database_url):
    scratch, copy = None, None
    if database_url.startswith("postgresql"):
        url, scratch = _postgres_demo_url(database_url)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='platform-demo-')}/demo.db"
    log = []
    try:
        for step in (("db", "upgrade"), ("sync-roles",), ("seed-demo",)):  # the Makefile's `db` target
            done = flask_command(url, *step)
            log.append(f"$ flask --app app {' '.join(step)}\n{done.stdout}{done.stderr}")
            assert done.returncode == 0, "\n".join(log)[-4000:]
        if scratch:
            pristine, copy = _postgres_copy(database_url, scratch)
        else:
            pristine = _sqlite_copy(url)
        yield DemoSite(url, "\n".join(log), pristine)
    finally:
        for name in (copy, scratch):
            if name:
                _drop_postgres(database_url, name)
