"""Statements (issue 14): what a user, an organisation, a lab or the school was invoiced in a month or a
year, settled and still owes, and what is not invoiced yet — the charges made by the real flow (use →
charge → confirm → invoice → credit note → new charge → settle), before and after each step; the
annual report and the subsidy estimate agree with them; the workbook and the screen are scoped."""
from datetime import date, datetime, timedelta
from decimal import Decimal
import io

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import PlatformUser, Unit
from app.reports import registry, statement as statement_report, subsidy
from app.reports.annual import income_of_year
from app.reports.excel import write_workbook
from app.services.booking import bookings as booking_service, usage
from app.services.money import pi_approval, settlement, statements
from app.services.actors import Actor

from . import factories as f

D = Decimal
NOW = datetime(2026, 12, 7, 18, 0, tzinfo=clock.BEIJING)
SETTINGS = booking_service.Settings()


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


@pytest.fixture
def world(session, uni):
    """An enterprise of its own with two users, a networked instrument of lab_admin's lab priced 150/h
    for enterprises, and lab_admin as the actor."""
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="对账仪器", networked=True)
    f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[f.standard_item(
        "机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")])])
    org = f.customer("对账企业", category="enterprise")
    first, second = f.service_user(org, name="对账甲"), f.service_user(org, name="对账乙")
    for user in (first, second):
        f.authorisation(user, inst, granted_on=date(2026, 6, 1))
    actor = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
    return {"inst": inst, "org": org, "first": first, "second": second, "actor": actor}


def use(session, world, user, start, hours):
    return usage.register(session, world["actor"], NOW, SETTINGS, instrument_id=world["inst"].id, user=user,
                          start=start, end=start + timedelta(hours=hours)).charge


def figures(session, party, year=2026, month=None):
    t = statements.totals(session, party, statements.Period.of(year, month))
    return t.invoiced, t.settled, t.owed, t.not_invoiced, t.waived


def test_the_statement_follows_the_charge_through_every_step(session, world):
    actor, org = world["actor"], statements.Party("org", world["org"].id)
    a = use(session, world, world["first"], bj(2026, 11, 30, 9, 0), 3)   # 450, a November use
    b = use(session, world, world["second"], bj(2026, 12, 2, 9, 0), 2)  # 300
    assert figures(session, org, month=11) == (0, 0, 0, D("450.00"), 0)
    assert figures(session, org) == (0, 0, 0, D("750.00"), 0)
    for charge in (a, b):
        settlement.confirm(session, actor, charge, NOW)
    settlement.invoice(session, actor, a, NOW, "DZ-1", date(2026, 12, 1))  # a November use invoiced in December
    assert figures(session, org, month=11) == (0, 0, 0, 0, 0)
    assert figures(session, org, month=12) == (D("450.00"), 0, D("450.00"), D("300.00"), 0)
    settlement.credit(session, actor, a, NOW, "450", "计价有误")
    assert figures(session, org, month=12) == (0, 0, 0, D("300.00"), 0)
    again = settlement.new_charge(session, actor, a.usage, NOW, entered=None)
    settlement.confirm(session, actor, again, NOW)
    settlement.invoice(session, actor, again, NOW, "DZ-2", date(2026, 12, 3))
    settlement.settle(session, actor, again, NOW, date(2026, 12, 5), "bank_transfer")
    settlement.waive(session, actor, use(session, world, world["first"], bj(2026, 12, 4, 9, 0), 1), NOW, "设备调试")
    assert figures(session, org, month=12) == (D("450.00"), D("450.00"), 0, D("300.00"), D("150.00"))
    # per user: the second user's charge only; per lab: everything of the lab's in the year
    assert figures(session, statements.Party("user", world["second"].id)) == (0, 0, 0, D("300.00"), 0)
    lab = statements.Party("unit", world["inst"].unit_id)
    assert figures(session, lab)[0] >= D("450.00")
    # a credit note of a charge not yet paid lowers what is owed
    settlement.invoice(session, actor, b, NOW, "DZ-3", date(2026, 12, 6))
    settlement.credit(session, actor, b, NOW, "100", "少用半小时")
    assert figures(session, org, month=12)[:3] == (D("650.00"), D("450.00"), D("200.00"))


def test_the_annual_report_and_the_subsidy_read_the_same_charges(session, world, uni):
    actor = world["actor"]
    for day, user, hours in ((3, world["first"], 2), (4, world["second"], 1)):
        charge = use(session, world, user, bj(2026, 12, day, 9, 0), hours)
        settlement.confirm(session, actor, charge, NOW)
        settlement.invoice(session, actor, charge, NOW, f"NB-{day}", date(2026, 12, day))
    settlement.credit(session, actor, charge, NOW, "50", "优惠")
    school = registry.school_root(session)
    ctx = registry.ReportContext(session, 2026, school, None, date(2026, 12, 7))
    per_instrument = income_of_year(ctx)
    income = session.execute(sa.select(sa.func.sum(per_instrument.c.income_inside),
                                       sa.func.sum(per_instrument.c.income_outside))).one()
    annual_total = sum(D(str(v or 0)) for v in income).quantize(D("0.01"))
    assert annual_total == statements.totals(session, statements.Party("unit", school.id), statements.Period.of(2026)).invoiced
    fees = {row["id"]: row["fees"] for row in subsidy._user_fees(ctx)}
    assert fees[world["org"].id] == D("400.00")  # 300 + 150 − 50
    assert statements.totals(session, statements.Party("org", world["org"].id), statements.Period.of(2026)).invoiced == D("400.00")


def test_the_workbook_holds_every_row_and_the_same_totals(session, world):
    actor = world["actor"]
    for day in range(1, 6):
        charge = use(session, world, world["first"], bj(2026, 12, day, 9, 0), 1)
        settlement.confirm(session, actor, charge, NOW)
        if day <= 3:
            settlement.invoice(session, actor, charge, NOW, f"WB-{day}", date(2026, 12, day))
    party, period = statements.Party("org", world["org"].id), statements.Period.of(2026, 12)
    book = openpyxl.load_workbook(io.BytesIO(write_workbook(statement_report.statement_sheets(
        session, party, period, None, date(2026, 12, 7)))))
    invoiced, waiting = book.worksheets
    amounts = [row[9] for row in invoiced.iter_rows(values_only=True) if isinstance(row[0], int)]
    assert amounts == [150.0, 150.0, 150.0]
    assert any("已开票" in str(c) and "450.00" in str(c) for row in invoiced.iter_rows(values_only=True) for c in row if c)
    assert len([row for row in waiting.iter_rows(values_only=True) if isinstance(row[0], int)]) == 2


@pytest.fixture
def committed(app, uni):
    """Charges of service_user and campus_user on lab_admin's instrument, committed for the screens."""
    with app.app_context(), time_machine.travel(NOW, tick=False):
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="对账屏幕仪器")
        f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[f.standard_item(
            "机时", "小时", "100", basis="hours", prices=[("campus", 0, None, "100", None)])])
        actor = Actor.of(db.session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
        from app.models import ServiceUser
        for n, who in enumerate(("customer_service_user", "customer_campus_user")):
            user = db.session.get(ServiceUser, getattr(uni, who))
            f.authorisation(user, inst, granted_on=date(2026, 6, 1))
            charge = usage.register(db.session, actor, NOW, SETTINGS, instrument_id=inst.id, user=user,
                                    start=bj(2026, 12, 1 + n, 9, 0), end=bj(2026, 12, 1 + n, 10, 0)).charge
            settlement.confirm(db.session, actor, charge, NOW)
            if charge.approval is not None:  # campus_user's: its PI approves first (through the link)
                pi_approval.decide(db.session, charge.approval, NOW, True)
            settlement.invoice(db.session, actor, charge, NOW, f"PM-{n}", date(2026, 12, 1 + n))
        db.session.commit()
        inst_id = inst.id
        db.session.remove()
    yield inst_id
    with app.app_context():
        f.remove_instruments([inst_id])
        db.session.remove()


def test_a_service_user_gets_its_own_statement_whatever_it_asks_for(login_as, committed, uni):
    service = login_as("service_user")
    page = service.get(f"/statements/?year=2026&month=12&party=unit:{uni.school}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "企业用户" in html and "PM-0" in html and "PM-1" not in html
    assert 'name="party"' not in html  # no choice of party
    book = openpyxl.load_workbook(io.BytesIO(service.get("/statements/download?year=2026&month=12").data))
    numbers = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c in ("PM-0", "PM-1")]
    assert numbers == ["PM-0"]


def test_an_administrator_reaches_its_scope_only(login_as, committed, uni):
    lab = login_as("lab_admin")
    page = lab.get(f"/statements/?year=2026&month=12&party=unit:{uni.l11}").get_data(as_text=True)
    assert "PM-0" in page and "PM-1" in page
    assert lab.get(f"/statements/?year=2026&party=unit:{uni.l21}").status_code == 404
    assert lab.get(f"/statements/?year=2026&party=unit:{uni.school}").status_code == 404
    other = login_as("college_admin")  # lab_admin's college: it sees the lab's
    assert "PM-1" in other.get(f"/statements/?year=2026&month=12&party=unit:{uni.c1}").get_data(as_text=True)
    assert lab.get("/statements/?year=1999").status_code == 404
    assert lab.get("/statements/?party=bogus:1").status_code == 404
    download = lab.get(f"/statements/download?year=2026&month=12&party=unit:{uni.l11}")
    assert download.status_code == 200 and "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert login_as(None).get("/statements/").status_code in (302, 401, 403)


def test_the_api_answers_the_statement_of_the_screen_scoped_the_same_way(app, login_as, uni, committed):
    lab = login_as("lab_admin")
    year = "year=2026&month=12"
    api = lab.get(f"/api/v1/statement/?party=unit:{uni.l11}&{year}").get_json()
    page = lab.get(f"/statements/?party=unit:{uni.l11}&{year}").get_data(as_text=True)
    assert api["party"] == f"unit:{uni.l11}" and api["period"] == {"year": 2026, "month": 12, "first": "2026-12-01",
                                                                     "last": "2026-12-31"}
    assert api["totals"]["invoiced"] == 200.0 and api["totals"]["charges"] == 2
    assert {r["invoice_number"] for r in api["invoiced"]} >= {"PM-0", "PM-1"} and all(n in page for n in ("PM-0", "PM-1"))
    # paged
    first = lab.get(f"/api/v1/statement/?party=unit:{uni.l11}&{year}&page_size=1").get_json()
    second = lab.get(f"/api/v1/statement/?party=unit:{uni.l11}&{year}&page_size=1&page=1").get_json()
    assert len(first["invoiced"]) == len(second["invoiced"]) == 1 and first["invoiced"] != second["invoiced"]
    # another college's unit, a user of another lab's: 404, as on screen
    assert lab.get(f"/api/v1/statement/?party=unit:{uni.l21}&{year}").status_code == 404
    assert lab.get(f"/api/v1/statement/?party=unit:{uni.l11}&year=1990").status_code == 404
    # a service user gets its own whatever it names
    own = login_as("service_user").get(f"/api/v1/statement/?party=unit:{uni.school}&{year}").get_json()
    assert own["party"] == f"user:{uni.customer_service_user}" and {r["invoice_number"] for r in own["invoiced"]} == {"PM-0"}
    assert app.test_client().get(f"/api/v1/statement/?{year}").status_code == 401
    openapi = lab.get("/api/v1/_openapi").get_json()["paths"]
    assert "get" in openapi["/api/v1/statement/"]
