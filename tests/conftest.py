"""Fixtures: one migrated database per test session, a small university in it, and clients.

DATABASE_URL selects the database (CI runs the suite once on SQLite and once on PostgreSQL).
"""
import gc
import json
import os
import re
import tempfile
from pathlib import Path

# Before the application is imported: the suite keeps its instance folder (secret key, the task
# queue's SQLite file) and its Redis queue name to itself, away from a developer's `make run`.
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="platform-instance-"))
os.environ.setdefault("TASK_QUEUE_NAME", f"platform-test-{os.getpid()}")

import pytest  # noqa: E402

from app import create_app  # noqa: E402
from app import tasks  # noqa: E402
from app.extensions import db  # noqa: E402
from app.security.roles import COLLEGE_ADMIN, LAB_ADMIN, SCHOOL_ADMIN, SERVICE_USER, sync_roles  # noqa: E402

from . import factories as f  # noqa: E402
from .dbreset import reset_database  # noqa: E402,F401  (tests import it from here too)
# one demo university per run, for the browser suite and the smoke test alike: two fixtures of the same
# name would build it twice, and on PostgreSQL the second build drops the database under the first's
# running stack (its task consumer then records the killed connection as a failed task)
from .demo_site import demo_site  # noqa: E402,F401  (the fixture)

# Tasks run at once, in the caller's process (each in an application context of its own); the one
# end-to-end test of a real consumer process switches this off (tests/test_task_queue.py).
tasks.huey.immediate = True

PASSWORD = "test-1234"


def _database_url():
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tempfile.mkdtemp(prefix='platform-test-')}/test.db"


DEFAULT_CLOCK = "2026-12-07T10:00+08:00"  # a Monday morning in Beijing, a working day


def pytest_addoption(parser):
    parser.addoption("--clock", default=DEFAULT_CLOCK,
                     help="the instant the in-process tests run at, ticking from there (ISO 8601; Beijing time "
                          "without an offset). CI pins its two runs on either side of Beijing midnight, so that "
                          "no result depends on the hour the run starts.")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_clock: the test drives servers in other processes (gunicorn, the task "
                                       "consumer, the IoT bridge, the seeded demo), which run on the machine's clock: "
                                       "it takes every expected day from the platform's clock module, unpinned")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.path.parts:  # the served demo: gunicorn, the consumer, the bridge
            item.add_marker(pytest.mark.real_clock)


@pytest.fixture(scope="module", autouse=True)
def nothing_left_open():
    """The garbage collected after each module: a connection or file a module left open is reported against that
    module (a ResourceWarning, an error here), not against whichever later test the collector happened to run in."""
    yield
    gc.collect()


@pytest.fixture(scope="session")
def pinned_instant(pytestconfig):
    from datetime import datetime

    from app import clock

    return clock.aware(datetime.fromisoformat(pytestconfig.getoption("--clock")))


@pytest.fixture(autouse=True)
def pinned_clock(request, pinned_instant):
    """Every in-process test runs under the pinned clock (a test's own frozen instant, where it has one, wins)."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    import time_machine

    with time_machine.travel(pinned_instant, tick=True):
        yield pinned_instant


@pytest.fixture(scope="session")
def database_url():
    return _database_url()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    template = _sqlite_template(database_url)
    saved = _read_template(template, database_url) if template else None
    if saved is not None:
        application = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url)
        f.continue_sequence_from(saved.pop("next_in_sequence"))  # the factories' names and numbers stay unique
        application.config["UNIVERSITY"] = University(**saved)
    else:
        reset_database(database_url)
        application = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url)
        with application.app_context():
            from flask_migrate import upgrade

            upgrade()
            sync_roles()
            _build_university(application)
            db.engine.dispose()
        if template:
            _write_template(template, database_url, application.config["UNIVERSITY"])
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


class University:
    """Handles to the records of the test university (ids, so they outlive sessions)."""

    def __init__(self, **ids):
        vars(self).update(ids)


def _sqlite_template(url):
    """`make mutation` runs a short session per mutant: TEST_DATABASE_TEMPLATE names a SQLite file that keeps the
    migrated test university between them (built by the first session, copied by the others)."""
    path = os.environ.get("TEST_DATABASE_TEMPLATE")
    return Path(path) if path and url.startswith("sqlite:///") else None


def _template_fingerprint():
    """What the template was built from: a changed migration or test university makes it stale."""
    import hashlib

    here = Path(__file__).parent
    sources = sorted((here.parent / "migrations" / "versions").glob("*.py")) + [here / "conftest.py",
                                                                                 here / "factories.py"]
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()


def _copy_sqlite(source, target):
    """SQLite's own backup: whole and consistent, whatever the source's journal holds."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _read_template(template, url):
    """The saved handles, the database copied into place; None when there is no current template."""
    handles = template.with_suffix(".json")
    if not (template.exists() and handles.exists()):
        return None
    saved = json.loads(handles.read_text())
    if saved.pop("fingerprint", None) != _template_fingerprint():
        return None
    _copy_sqlite(template, url.removeprefix("sqlite:///"))
    return saved


def _write_template(template, url, university):
    """The database first, then its handles, each renamed into place whole: a session that dies half-way
    leaves no template rather than half of one."""
    partial = template.with_name(template.name + ".partial")
    _copy_sqlite(url.removeprefix("sqlite:///"), partial)
    os.replace(partial, template)
    saved = dict(vars(university), next_in_sequence=f.continue_sequence_from(None), fingerprint=_template_fingerprint())
    handles = template.with_suffix(".json.partial")
    handles.write_text(json.dumps(saved))
    os.replace(handles, template.with_suffix(".json"))


def _build_university(application):
    sm = application.appbuilder.sm
    u = University()
    school = f.unit("测试大学", "school", code="S")
    c1 = f.unit("化学学院", "college", school, code="C1")
    c2 = f.unit("物理学院", "college", school, code="C2")
    l11 = f.unit("分析测试实验室", "lab", c1, code="C1-L1")
    l12 = f.unit("材料实验室", "lab", c1, code="C1-L2")
    l21 = f.unit("光学实验室", "lab", c2, code="C2-L1")
    for name, unit in (("school", school), ("c1", c1), ("c2", c2), ("l11", l11), ("l12", l12), ("l21", l21)):
        setattr(u, name, unit.id)
        inst = f.instrument(unit, name=f"{unit.name}的仪器")
        setattr(u, f"inst_{name}", inst.id)
        setattr(u, f"person_{name}", f.person(unit, name=f"{unit.name}的老师").id)
        setattr(u, f"platform_{name}", f.platform(unit, name=f"{unit.name}的平台").id)
        setattr(u, f"training_{name}", f.training(unit, topic=f"{unit.name}的培训").id)
        setattr(u, f"filing_{name}", f.filing(inst, remarks=f"{unit.name}的备案").id)
    db.session.commit()
    f.user(sm, "school_admin", SCHOOL_ADMIN, school)
    f.user(sm, "college_admin", COLLEGE_ADMIN, c1)
    f.user(sm, "lab_admin", LAB_ADMIN, l11)
    f.user(sm, "lab2_admin", LAB_ADMIN, l21)  # another college's lab: reaches nothing of lab_admin's
    # the customers (SPEC §5): an enterprise's user, a student start-up's, an on-campus researcher of
    # another lab than lab_admin's (bound to that lab through the ServiceUser row, never the account)
    for username, name, category, unit in (("service_user", "企业用户", "enterprise", None),
                                           ("student_user", "学生创业用户", "student_startup", None),
                                           ("campus_user", "校内用户", "campus", l21)):
        account = f.user(sm, username, SERVICE_USER, None)
        org = f.customer(name=f"{name}单位", category=category, affiliated=category == "campus")
        customer = f.service_user(org, name=name, account=account, unit_id=unit.id if unit else None,
                                  project_account="2026001001" if unit else None)
        setattr(u, f"customer_{username}", customer.id)
        if category != "campus":  # as in the demo: the outside organisations hold a service contract
            db.session.add(f.contract(org, school, number=f"校合字 2026-{customer.id:03d}"))
    db.session.commit()
    application.config["UNIVERSITY"] = u


@pytest.fixture(scope="session")
def uni(app):
    return app.config["UNIVERSITY"]


@pytest.fixture
def lab_actor(session):
    """lab_admin as the rules see it (app/services/actors.py)."""
    import sqlalchemy as sa

    from app.models import PlatformUser
    from app.services.actors import Actor

    return Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())


@pytest.fixture
def session(app):
    """The database session inside an app context, rolled back and removed afterwards."""
    with app.app_context():
        yield db.session
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def elsewhere(app):
    """`elsewhere(statement)`: another request's write, on a connection of its own, committed at once — the
    second writer of a race, which a statement inside the test's own transaction would only pretend to be. The
    test commits what it set up first (SQLite lets one writer in at a time)."""
    with app.app_context():
        engine = db.engine

    def write(statement, lock_timeout_ms=None):
        with engine.begin() as connection:
            if lock_timeout_ms is not None and engine.dialect.name == "postgresql":  # give up on a locked row
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'")
            return connection.execute(statement).rowcount

    return write


@pytest.fixture
def just_before(app):
    """`with just_before("INSERT INTO evaluation", other):` runs `other()` — another request, on a session of its
    own, which commits — once, right before the next statement starting so reaches the database: the second
    writer of a race, at the moment its luck would otherwise decide (the test commits its own setup first)."""
    import contextlib

    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

    @contextlib.contextmanager
    def racing(prefix, other):
        fired = []

        def hook(_conn, _cursor, statement, *_args):
            if not fired and statement.lstrip().upper().startswith(prefix.upper()):
                fired.append(True)
                other()

        sa.event.listen(engine, "before_cursor_execute", hook)
        try:
            yield fired
        finally:
            sa.event.remove(engine, "before_cursor_execute", hook)
        assert fired, f"no statement began with {prefix!r}: the race never happened"

    return racing


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects the SQL statements sent inside the block."""
    import contextlib

    import sqlalchemy as sa

    @contextlib.contextmanager
    def counting():
        seen = []
        listener = lambda _conn, _cursor, statement, *_args: seen.append(statement)  # noqa: E731
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            yield seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
    return counting


@pytest.fixture
def database(app):
    """`with database() as session:` the database as the test reads and writes it between requests (each
    request has its own application context, as a browser's)."""
    import contextlib

    @contextlib.contextmanager
    def opened():
        with app.app_context():
            yield db.session
            db.session.rollback()
            db.session.remove()

    return opened


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, url="/login/"):
    """The CSRF token a page at `url` hands this client's session (as a browser would read it)."""
    html = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if m:
        return m.group(1)
    return session_csrf_token(client)


def session_csrf_token(client):
    """A valid token for this client's session, for pages the caller may not open."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as sess:
        raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
    app = client.application
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)


def login(client, username, password=PASSWORD):
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    with client.session_transaction() as sess:
        assert sess.get("_user_id"), f"{username} did not sign in"
    return client


@pytest.fixture
def login_as(app):
    """login_as(name) -> a new client signed in as that account (None: anonymous)."""

    def _login(username):
        client = app.test_client()
        return client if username is None else login(client, username)

    return _login


@pytest.fixture
def db_session(app):
    with app.app_context():
        yield db.session
        db.session.rollback()
