"""The product as its users meet it (issue 11, item 2): the demo university `make run` builds, opened
as each demo account — every page its menu reaches, a few records' show and edit pages per list —
and every report of the registry for this year and the last through all three ways out (the
console download, the background export, the CLI), each file read back by openpyxl. Any 5xx, any
traceback, any error logged or unreadable file fails.

The app runs with the production settings (`config.Config`: errors become 500 pages, as a user
would see them, not exceptions in the test); only the login rate limit is raised."""
import io
import logging
import re
from urllib.parse import urlencode

import openpyxl
import pytest
import sqlalchemy as sa

from app import clock, create_app
from app.extensions import db
from app.models import Unit
from app.models.user import PlatformUser
from app.reports import registry

from .demo_site import DEMO_ACCOUNTS, DEMO_PASSWORD

pytestmark = pytest.mark.real_clock  # the demo is seeded by `flask seed-demo` in another process, on the machine's clock

THIS_YEAR = clock.today().year
YEARS = (THIS_YEAR, THIS_YEAR - 1)
SAMPLES_PER_LIST = 3


@pytest.fixture(scope="module")
def demo_app(demo_site):
    application = create_app("config.Config", SQLALCHEMY_DATABASE_URI=demo_site.database_url,
                             AUTH_RATE_LIMIT="10000 per minute")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def errors_logged(caplog):
    """Whatever the app, FAB, the task queue or SQLAlchemy log at ERROR while a test runs."""
    caplog.set_level(logging.WARNING)
    yield lambda: [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def signed_in(application, username):
    client = application.test_client()
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = client.post("/login/", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, f"{username} cannot sign in to the demo"
    return client


def fetch(client, url, expect=200):
    resp = client.get(url)
    body = resp.get_data()
    assert resp.status_code < 500, f"{url}: {resp.status_code}"
    assert resp.status_code == expect, f"{url}: {resp.status_code}"
    assert b"Traceback (most recent call last)" not in body, url
    return resp


def menu_links(html):
    header = html[html.index("<header"): html.index("</header>")]
    return sorted({h for h in re.findall(r'href="(/[^"#]*)"', header) if h not in ("/logout/",)})


def record_links(html):
    """The first few records' show and edit pages on a list page."""
    links = []
    for kind in ("show", "edit"):
        found = list(dict.fromkeys(re.findall(rf'href="(/\w+/{kind}/\d+)[^"]*"', html)))
        links += found[:SAMPLES_PER_LIST]
    return links


@pytest.mark.parametrize("account", DEMO_ACCOUNTS)
def test_every_page_the_menu_reaches(demo_app, errors_logged, account):
    client = signed_in(demo_app, account)
    home = fetch(client, "/").get_data(as_text=True)
    pages = menu_links(home)
    assert pages, "the menu is empty"
    opened = []
    for url in pages:
        html = fetch(client, url).get_data(as_text=True)
        opened.append(url)
        if "/list/" in url:
            for record in record_links(html):
                fetch(client, record)
                opened.append(record)
    if account != "service_user":
        assert any("/show/" in u for u in opened) and any("/edit/" in u for u in opened), opened
    assert not errors_logged()


def test_the_public_pages(demo_app, errors_logged):
    client = demo_app.test_client()
    html = fetch(client, "/public/fees").get_data(as_text=True)
    instruments = re.findall(r'href="(/public/instruments/\d+)"', html)
    assert instruments
    for url in instruments[:SAMPLES_PER_LIST]:
        fetch(client, url)
    schedule = fetch(client, "/public/fees.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(schedule.data)).sheetnames
    assert not errors_logged()


def readable(content, what):
    try:
        book = openpyxl.load_workbook(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001  (any reason it cannot be read fails the smoke)
        raise AssertionError(f"{what}: not a readable workbook ({exc})") from exc
    sheet = book.worksheets[0]
    assert book.sheetnames and sheet["A1"].value, f"{what}: no title"
    return book


def bound_unit_code(application, username):
    with application.app_context():
        code = db.session.execute(sa.select(Unit.code).join(PlatformUser, PlatformUser.unit_id == Unit.id)
                                  .where(PlatformUser.username == username)).scalar_one()
        db.session.remove()
        return code


def wait_for_export(client, status_url, what):
    for _ in range(600):
        status = fetch(client, status_url).get_json()
        if status["state"] in ("done", "failed"):
            assert status["state"] == "done", f"{what}: {status}"
            return status
    raise AssertionError(f"{what}: still {status}")


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("account", [a for a in DEMO_ACCOUNTS if a != "service_user"])
def test_every_report_three_ways(demo_app, errors_logged, tmp_path, account, year):
    client = signed_in(demo_app, account)
    page = fetch(client, "/reports/").get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    unit_code = bound_unit_code(demo_app, account)
    runner = demo_app.test_cli_runner()
    for rep in registry.available():
        what = f"{rep.name} {year} as {account}"
        # 1. the console's direct download
        readable(fetch(client, "/reports/download?" + urlencode({"name": rep.name, "year": year})).data, f"{what} (download)")
        # 2. the background export: queued, built, followed, fetched
        started = client.post("/reports/exports", data={"name": rep.name, "year": year},
                              headers={"X-CSRFToken": token, "Accept": "application/json"})
        assert started.status_code == 202, f"{what}: {started.status_code} {started.get_data(as_text=True)[:300]}"
        job = started.get_json()
        wait_for_export(client, job["status_url"], what)
        readable(fetch(client, job["file_url"]).data, f"{what} (export)")
        # 3. the command line, for the account's unit
        output = tmp_path / f"{rep.name}-{year}.xlsx"
        result = runner.invoke(args=["report", rep.name, "--year", str(year), "--unit", unit_code, "--output", str(output)])
        assert result.exit_code == 0, f"{what} (CLI): {result.output}{result.exception!r}"
        readable(output.read_bytes(), f"{what} (CLI)")
    assert not errors_logged()


def test_the_demo_holds_what_spec_5_promises(demo_app):
    """SPEC §5's demo accounts and their booking state, as outside tests expect them."""
    from app import clock
    from app.models import Authorisation, Booking, CustomerOrg, Instrument, ServiceUser
    from app.services.booking.rules import rules_of

    with demo_app.app_context():
        session = db.session

        def customer(username):
            return session.execute(sa.select(ServiceUser).join(PlatformUser, PlatformUser.id == ServiceUser.account_id)
                                   .where(PlatformUser.username == username)).scalar_one()

        service, student, campus = customer("service_user"), customer("student_user"), customer("campus_user")
        assert session.get(CustomerOrg, service.org_id).category == "enterprise" and not session.get(CustomerOrg, service.org_id).affiliated
        assert session.get(CustomerOrg, student.org_id).category == "student_startup"
        assert session.get(CustomerOrg, campus.org_id).category == "campus" and campus.project_account
        lab_id = session.execute(sa.select(PlatformUser.unit_id).where(PlatformUser.username == "lab_admin")).scalar_one()
        assert campus.unit_id != lab_id and campus.unit_id is not None
        self_operated = [i for i in session.execute(sa.select(Instrument).where(
            Instrument.unit_id == lab_id, Instrument.bookable.is_(True), Instrument.iot_terminal_id.isnot(None),
            Instrument.public_standard_id.isnot(None))).scalars() if rules_of(session, i.id).accepts_self_operated]
        for user in (service, campus):
            held = {a.instrument_id for a in session.execute(sa.select(Authorisation).where(
                Authorisation.user_id == user.id, Authorisation.state == "active")).scalars()}
            assert len(held & {i.id for i in self_operated}) >= 2
            assert {i.id for i in self_operated} - held  # and at least one it may not operate
        now, today = clock.now(), clock.today()
        mine = session.execute(sa.select(Booking).where(Booking.user_id == service.id)).scalars().all()
        assert any(b.mode == "self_operated" and b.state == "scheduled" and b.scheduled_end < now
                   and not [u for u in b.usage_records if u.source == "manual"] for b in mine)
        assert any(b.state == "pending" and b.respond_by >= today for b in mine)
        db.session.remove()


def test_every_upkeep_list_has_something_to_find(demo_app):
    """Issue 23, item 7: overdue self-checks, a returned one, dead contacts (one correction overdue), a responsible
    person who has left — on a fresh demo, as the school's to-do list reads them."""
    from app import clock
    from app.models import CheckRecord
    from app.services.upkeep import todo
    from app.services.upkeep.self_checks import Terms, month_of, months_between
    from app.services.workdays import load_calendar

    with demo_app.app_context():
        session, today = db.session, clock.today()
        terms = Terms.of(demo_app.config)
        found = todo.todo(session, None, today, load_calendar(session), terms, demo_app.config["CONTACT_RECHECK_DAYS"])
        assert any(d.kind == "self_check" and d.overdue(today) for d in found.lists["checks"])
        lab_id = session.execute(sa.select(PlatformUser.unit_id).where(PlatformUser.username == "lab_admin")).scalar_one()
        # the school's calls to other labs (the browser suite, on the same demo, calls one of the demo lab's)
        seeded = [d for d in found.lists["corrections"] if d.unit_id != lab_id]
        assert len(seeded) == 2 and sum(d.overdue(today) for d in seeded) == 1
        assert any(("responsible_person", "left") in q.implausible for q in found.lists["quality"])
        states = dict(session.execute(sa.select(CheckRecord.period, CheckRecord.state).where(
            CheckRecord.unit_id == lab_id, CheckRecord.kind == "monthly")).all())
        months = months_between(terms.since, month_of(today))[:-1]
        assert [states.get(m) for m in months[:-1]] == ["approved"] * (len(months) - 1)
        if months:  # last month's was returned (the browser suite, on the same demo, reworks it and has it approved)
            from app.models import Message

            returned = session.execute(sa.select(Message.link).join(PlatformUser, PlatformUser.id == Message.recipient_id)
                                       .where(PlatformUser.username == "lab_admin", Message.kind == "check_returned")).scalars()
            assert list(returned) == [f"/selfcheck/?lab={lab_id}&period={months[-1]}"]
            assert states[months[-1]] in ("returned", "approved")
        db.session.remove()
