"""Measuring list pages: the bare FAB baseline, logging in, counting SQL, and the timed rounds."""
from __future__ import annotations

import re
import time

import sqlalchemy as sa
from sqlalchemy import event

from bench.data import ACCOUNTS, ASSET_PREFIX, PASSWORD

PAGE_SIZES = (25, 100)
SCOPED = "scoped"
BARE = "bare"
ENDPOINTS = {SCOPED: "InstrumentView", BARE: "BareInstrumentView"}


# ------------------------------------------------------------------------------------------
# the baseline: a bare FAB list of the same table
# ------------------------------------------------------------------------------------------
def make_bare_view(fab_defaults=False):
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models import Instrument
    from app.views.instruments import InstrumentView

    class BareInstrumentView(ModelView):
        """Plain FAB over the same table: no base_filters (scope), no formatters, no choices.

        It shows the same list columns in the same order and offers the same search and sort
        columns, so the page does the same work minus scoping. (With FAB's default
        search_columns the page would also load every related table -- classification,
        platforms, people, filings, fee standards -- for the search form's dropdowns: a slower,
        weaker baseline. `--bare-fab-defaults` measures against that instead.)
        """

        datamodel = SQLAInterface(Instrument)
        # the table's own columns; the computed inline statuses (fee standard, terminal) are
        # deferred columns that plain FAB would load row by row, which would make the baseline
        # slower, not fairer: without them the bare page does strictly less work
        list_columns = [c for c in InstrumentView.list_columns if c not in ("fee_status", "device_status")]
        # forms are not measured; FAB's default (every column) would include the computed
        # fee-status columns, which have no form field
        add_columns = edit_columns = show_columns = ["asset_number", "name", "model"]
        page_size = 25
        base_order = InstrumentView.base_order  # same ORDER BY, so both pages show the same rows
        if not fab_defaults:
            # computed columns (the terminal status) have their own filter and field in
            # InstrumentView; plain FAB cannot build a search field for them
            search_columns = [c for c in InstrumentView.search_columns
                              if c in Instrument.__table__.c or c in sa.inspect(Instrument).relationships]
            order_columns = list(InstrumentView.order_columns)

    return BareInstrumentView


def grant_bare_permissions(sm):
    """Give each benchmark role on the bare view the permissions it holds on InstrumentView.

    At least can_list. Mirroring matters: FAB renders show/edit/delete buttons on every row
    for a user who may use them (~0.5 ms a row), so a list-only baseline would measure those
    buttons, not the scope. SchoolAdmin (FAB's admin role) already holds everything.
    """
    granted = {}
    for _username, role_name, _level in ACCOUNTS:
        role = sm.find_role(role_name)
        wanted = {"can_list"} | {
            pv.permission.name for pv in role.permissions if pv.view_menu.name == ENDPOINTS[SCOPED]
        }
        names = []
        for perm in sorted(wanted):
            pvm = sm.find_permission_view_menu(perm, ENDPOINTS[BARE])
            if pvm is None:
                continue  # a permission the bare view does not have (e.g. a custom action)
            if pvm not in role.permissions:
                sm.add_permission_role(role, pvm)
            names.append(perm)
        if "can_list" not in names:
            raise RuntimeError("can_list on BareInstrumentView was not created by add_permissions")
        granted[role_name] = names
    return granted


# ------------------------------------------------------------------------------------------
# requests and their SQL
# ------------------------------------------------------------------------------------------
class StatementCounter:
    """Counts (and times) the statements sent to the database while active.

    With keep_parameters=True it also keeps each statement's parameters, as the driver got
    them, in `parameters` (parallel to `statements`), so a statement can be re-run, e.g.
    under EXPLAIN.
    """

    def __init__(self, engine, keep_parameters=False):
        self.active = False
        self.statements = []  # [statement, seconds]
        self.keep_parameters = keep_parameters
        self.parameters = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append([statement, time.perf_counter()])
            if self.keep_parameters:
                self.parameters.append(dict(parameters) if isinstance(parameters, dict) else parameters)

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and self.statements and self.statements[-1][0] is statement:
            self.statements[-1][1] = time.perf_counter() - self.statements[-1][1]

    def start(self):
        self.statements = []
        self.parameters = []
        self.active = True

    def stop(self):
        self.active = False
        return self.statements


def csrf_token(client, url="/login/"):
    html = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not m:
        raise RuntimeError("no CSRF token on the login page")
    return m.group(1)


def login(app, username):
    """A test client logged in through POST /login/ with the form's CSRF token, as a browser would."""
    client = app.test_client()
    resp = client.post("/login/", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    if resp.status_code != 302 or "/login" in resp.headers.get("Location", ""):
        raise RuntimeError(f"login as {username} failed: {resp.status_code} {resp.headers.get('Location')}")
    return client


def list_url(kind, size):
    view = ENDPOINTS[kind]
    return f"/{view.lower()}/list/?psize_{view}={size}"


def normalise_sql(statement):
    return re.sub(r"\s+", " ", statement).strip()


def group_statements(statements):
    """[(statement, seconds)] -> one entry per distinct statement, in first-seen order."""
    grouped = {}
    for sql, seconds in statements:
        entry = grouped.setdefault(normalise_sql(sql), {"count": 0, "ms": 0.0})
        entry["count"] += 1
        entry["ms"] += seconds * 1000
    return [{"count": e["count"], "ms": round(e["ms"], 3), "sql": sql} for sql, e in grouped.items()]


def expected_first_page(level_unit_id, scoped, size):
    """Asset numbers the first page must show: newest `size` instruments in scope (or all)."""
    from app.extensions import db
    from app.models import Instrument, Unit

    q = sa.select(Instrument.asset_number).order_by(Instrument.id.desc()).limit(size)
    total = sa.select(sa.func.count()).select_from(Instrument)
    if scoped:
        path = db.session.execute(sa.select(Unit.path, Unit.parent_id).where(Unit.id == level_unit_id)).first()
        if path.parent_id is not None:  # the school root sees everything
            in_scope = Instrument.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(path.path, autoescape=True)))
            q, total = q.where(in_scope), total.where(in_scope)
    return set(db.session.execute(q).scalars()), db.session.execute(total).scalar()


# ------------------------------------------------------------------------------------------
# the timed rounds
# ------------------------------------------------------------------------------------------
def run_cases(app, counter, clients, bound, args):
    """Every (role, page size, view) case: warm-up, then the measured rounds.

    `clients` maps role -> logged-in test client, `bound` maps level -> bound unit id.
    Returns {(role, size, kind): case} with the raw timings and statement counts.
    """
    cases = {}
    for _username, role, level in ACCOUNTS:
        for size in PAGE_SIZES:
            for kind in (SCOPED, BARE):
                with app.app_context():
                    expected, total = expected_first_page(bound[level], kind == SCOPED, size)
                cases[(role, size, kind)] = {
                    "role": role, "page_size": size, "view": kind, "url": list_url(kind, size),
                    "times_ms": [], "cpu_ms": [], "sql_ms": [], "statements": [], "sample_sql": None,
                    "visible_total": total, "expected": expected, "check": None,
                }

    def hit(role, size, kind, measure):
        case = cases[(role, size, kind)]
        client = clients[role]
        counter.start()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        resp = client.get(case["url"])
        body = resp.get_data()
        elapsed = time.perf_counter() - t0
        cpu = time.thread_time() - c0
        statements = counter.stop()
        if resp.status_code != 200:
            raise RuntimeError(f"{role} {case['url']}: HTTP {resp.status_code} {resp.headers.get('Location', '')}")
        if case["check"] is None:
            shown = set(re.findall(rf"{ASSET_PREFIX}\d{{6}}", body.decode("utf-8", "replace")))
            case["check"] = "ok" if shown == case["expected"] else (
                f"MISMATCH: page shows {len(shown)} instruments, expected {len(case['expected'])} "
                f"({len(shown - case['expected'])} unexpected)"
            )
        if measure:
            case["times_ms"].append(elapsed * 1000)
            case["cpu_ms"].append(cpu * 1000)
            case["statements"].append(len(statements))
            case["sql_ms"].append(sum(sec for _s, sec in statements) * 1000)
            if case["sample_sql"] is None:
                case["sample_sql"] = group_statements(statements)

    order = [(role, size) for _u, role, _l in ACCOUNTS for size in PAGE_SIZES]
    for _ in range(args.warmup):
        for role, size in order:
            for kind in (SCOPED, BARE):
                hit(role, size, kind, measure=False)
    for r in range(args.rounds):
        # interleave and alternate which goes first, so drift and cache effects hit both alike
        kinds = (SCOPED, BARE) if r % 2 == 0 else (BARE, SCOPED)
        for role, size in order:
            for kind in kinds:
                hit(role, size, kind, measure=True)
    return cases
