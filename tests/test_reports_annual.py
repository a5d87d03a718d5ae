"""The annual operation report (issue 5): every figure against a hand-computed fixture — the
IoT-over-registered rule for effective hours, the sharing rate, distinct users inside/outside,
income net of credit notes, the mean evaluation, unit totals, the year's edges and scoping."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Booking, Charge, CustomerOrg, Evaluation, Instrument, ServiceUser, TypicalCase, Unit, UsageRecord

from . import factories as f
from .report_files import rows_of, run_report, table as rows_table, worksheets

YEAR = 2024
HEADERS = ["序号", "学院", "实验室/机组", "资产编号", "仪器名称", "有效机时（小时）", "对外服务机时（小时）", "共享率",
           "服务样品数", "校内用户数", "校外用户数", "校内服务收入（万元）", "校外服务收入（万元）", "平均评价（1–5分）"]


def usage(instrument, user, start, hours, service_type="internal", source="manual", samples=None):
    record = UsageRecord(instrument_id=instrument.id, user_id=user.id if user else None, started_at=start,
                         ended_at=start.replace(hour=start.hour + 1), hours=Decimal(hours), samples=samples,
                         source=source, service_type=service_type)
    db.session.add(record)
    db.session.flush()
    return record


def charge(record, total, invoiced_on, state="settled", number=None, credit_of=None):
    c = Charge(usage_id=record.id, total=Decimal(total), state=state, invoice_date=invoiced_on,
               invoice_number=number, credit_of_id=credit_of.id if credit_of else None)
    db.session.add(c)
    db.session.flush()
    return c


def evaluation(instrument, user, score, at):
    booking = Booking(instrument_id=instrument.id, user_id=user.id, mode="sample", state="completed")
    db.session.add(booking)
    db.session.flush()
    db.session.add(Evaluation(booking_id=booking.id, score=score, created_at=at))


@pytest.fixture(scope="module")
def year_of_service(app, uni):
    with app.app_context():
        school = db.session.get(Unit, uni.school)
        college = f.unit("年报学院", "college", school, code="AR")
        lab1, lab2 = f.unit("年报实验室一", "lab", college, code="AR-L1"), f.unit("年报实验室二", "lab", college, code="AR-L2")
        campus = CustomerOrg(name="年报校内课题组", category="campus")
        company = CustomerOrg(name="年报企业", category="enterprise")
        db.session.add_all([campus, company])
        db.session.flush()
        u1, u2 = ServiceUser(name="年报校内甲", org_id=campus.id), ServiceUser(name="年报校内乙", org_id=campus.id)
        u3 = ServiceUser(name="年报企业丙", org_id=company.id)
        db.session.add_all([u1, u2, u3])
        db.session.flush()
        a = f.instrument(lab1, name="年报质谱仪", asset_number="AR-001")
        b = f.instrument(lab2, name="年报色谱仪", asset_number="AR-002")
        f.instrument(lab2, name="年报报废仪器", asset_number="AR-003", run_status="scrapped")
        f.instrument(lab1, name="年报闲置仪器", asset_number="AR-004")
        r1 = usage(a, u1, datetime(YEAR, 3, 1, 9), "10", samples=5)
        charge(r1, "1000", date(YEAR, 3, 5), number="AR-INV-1")
        r2 = usage(a, u3, datetime(YEAR, 4, 1, 9), "6", "external", samples=3)
        original = charge(r2, "20000", date(YEAR, 4, 10), state="credited", number="AR-INV-2")
        charge(r2, "-5000", date(YEAR, 5, 1), state="invoiced", number="AR-INV-3", credit_of=original)
        charge(r2, "999", None, state="pending")  # not invoiced: not income
        usage(a, None, datetime(YEAR, 3, 1, 8), "12", source="iot")  # measured machine time wins
        old = usage(a, u1, datetime(YEAR - 1, 12, 31, 22), "100")  # last year
        charge(old, "7777", date(YEAR - 1, 12, 31), number="AR-INV-0")
        usage(b, u1, datetime(YEAR, 6, 1, 9), "8")
        usage(b, u3, datetime(YEAR, 12, 31, 22), "2", "external")  # the year's last hours count
        evaluation(a, u1, 5, datetime(YEAR, 3, 2))
        evaluation(a, u3, 4, datetime(YEAR, 4, 2))
        evaluation(a, u3, 1, datetime(YEAR - 1, 6, 1))
        db.session.add_all([
            TypicalCase(unit_id=lab1.id, year=YEAR, title="年报案例一", instrument_id=a.id, served="年报企业",
                        summary="=SUM(A1)\n第二行"),
            TypicalCase(unit_id=lab2.id, year=YEAR, title="年报案例二", summary="只写了成效"),
            TypicalCase(unit_id=lab2.id, year=YEAR - 1, title="年报去年案例", summary="去年的"),
        ])
        db.session.commit()
        ids = dict(college=college.id, labs=(lab1.id, lab2.id), orgs=(campus.id, company.id))
    yield ids
    with app.app_context():
        instruments = sa.select(Instrument.id).where(Instrument.unit_id.in_(ids["labs"]))
        bookings = sa.select(Booking.id).where(Booking.instrument_id.in_(instruments))
        usages = sa.select(UsageRecord.id).where(UsageRecord.instrument_id.in_(instruments))
        db.session.execute(sa.delete(TypicalCase).where(TypicalCase.unit_id.in_(ids["labs"])))
        db.session.execute(sa.delete(Evaluation).where(Evaluation.booking_id.in_(bookings)))
        db.session.execute(sa.delete(Charge).where(Charge.usage_id.in_(usages), Charge.credit_of_id.isnot(None)))
        db.session.execute(sa.delete(Charge).where(Charge.usage_id.in_(usages)))
        db.session.execute(sa.delete(UsageRecord).where(UsageRecord.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id.in_(ids["labs"])))
        db.session.execute(sa.delete(ServiceUser).where(ServiceUser.org_id.in_(ids["orgs"])))
        db.session.execute(sa.delete(CustomerOrg).where(CustomerOrg.id.in_(ids["orgs"])))
        db.session.execute(sa.delete(Unit).where(Unit.id.in_(ids["labs"])))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["college"]))
        db.session.commit()


def sheets_of(app, tmp_path, *args):
    result, content = run_report(app, tmp_path, "annual", *args)
    assert result.exit_code == 0, result.output
    return worksheets(content)


def table(ws, headers):
    return rows_table(rows_of(ws), headers)


def test_every_figure_per_instrument_and_in_total(app, year_of_service, tmp_path):
    ws = sheets_of(app, tmp_path, "--year", str(YEAR), "--unit", "AR")["分仪器"]
    start, body = table(ws, HEADERS)
    assert body == [
        [1, "年报学院", "年报实验室一", "AR-001", "年报质谱仪", 12, 6, 0.5, 8, 1, 1, 0.1, 1.5, 4.5],
        [2, "年报学院", "年报实验室一", "AR-004", "年报闲置仪器", 0, 0, None, 0, 0, 0, 0, 0, None],
        [3, "年报学院", "年报实验室二", "AR-002", "年报色谱仪", 10, 2, 0.2, 0, 1, 1, 0, 0, None],
        # u1 and u3 used both instruments: counted once each in the total
        [None, "合计", None, None, None, 22, 8, 0.3636, 8, 1, 1, 0.1, 1.5, 4.5],
    ]
    assert ws.cell(row=start + 2, column=8).number_format == "0.00%"
    assert ws.cell(row=start + 2, column=12).number_format == "#,##0.00"


def test_unit_totals_and_scope(app, year_of_service, tmp_path):
    sheets = sheets_of(app, tmp_path, "--year", str(YEAR), "--unit", "AR")
    _start, body = table(sheets["单位合计"], ["序号", "学院"] + HEADERS[5:])
    assert body == [[1, "年报学院", 22, 8, 0.3636, 8, 1, 1, 0.1, 1.5, 4.5],
                    [None, "合计", 22, 8, 0.3636, 8, 1, 1, 0.1, 1.5, 4.5]]
    lab2 = table(sheets_of(app, tmp_path, "--year", str(YEAR), "--unit", "AR-L2")["分仪器"], HEADERS)[1]
    assert [r[3] for r in lab2] == ["AR-002", None]


def test_last_year_and_an_empty_year(app, year_of_service, tmp_path):
    body = table(sheets_of(app, tmp_path, "--year", str(YEAR - 1), "--unit", "AR")["分仪器"], HEADERS)[1]
    assert body[0][3:] == ["AR-001", "年报质谱仪", 100, 0, 0, 0, 1, 0, 0.78, 0, 1]
    ws = sheets_of(app, tmp_path, "--year", "2002", "--unit", "AR-L2")
    assert table(ws["分仪器"], HEADERS)[1][0][3] == "AR-002"  # in service, nothing used: zeros
    assert table(ws["分仪器"], HEADERS)[1][0][5:9] == [0, 0, None, 0]


def test_a_lab_admin_sees_only_its_lab(login_as, year_of_service):
    resp = login_as("lab_admin").get(f"/reports/download?name=annual&year={YEAR}")
    assert resp.status_code == 200
    ws = next(iter(worksheets(resp.data).values()))
    assert not any(str(c.value).startswith("AR-") for row in ws.iter_rows() for c in row if c.value)
    assert login_as("lab_admin").get(f"/reports/download?name=annual&year={YEAR}&unit={year_of_service['college']}").status_code == 404


CASE_HEADERS = ["序号", "学院", "实验室/机组", "案例名称", "仪器", "服务对象", "服务内容及成效"]


def test_typical_cases_of_the_year_in_scope(app, year_of_service, tmp_path):
    body = table(sheets_of(app, tmp_path, "--year", str(YEAR), "--unit", "AR")["典型案例"], CASE_HEADERS)[1]
    assert body == [[1, "年报学院", "年报实验室一", "年报案例一", "年报质谱仪", "年报企业", "'=SUM(A1)\n第二行"],
                    [2, "年报学院", "年报实验室二", "年报案例二", None, None, "只写了成效"]]
    lab1 = table(sheets_of(app, tmp_path, "--year", str(YEAR), "--unit", "AR-L1")["典型案例"], CASE_HEADERS)[1]
    assert [r[3] for r in lab1] == ["年报案例一"]
    empty = table(sheets_of(app, tmp_path, "--year", "2002", "--unit", "AR")["典型案例"], CASE_HEADERS)[1]
    assert [r[0] for r in empty] == ["2002 年度尚未填写典型案例。"]


def test_typical_case_screen_is_scoped_and_checks_the_instrument(app, uni, login_as):
    from .conftest import csrf_token

    lab = login_as("lab_admin")
    token = csrf_token(lab, "/typicalcaseview/add")
    form = {"unit": uni.l11, "year": "2025", "title": "屏幕案例", "summary": "成效", "csrf_token": token}
    # another lab's instrument is not offered, and the rule refuses it even if posted
    resp = lab.post("/typicalcaseview/add", data={**form, "instrument": uni.inst_l12}, follow_redirects=True)
    assert resp.status_code in (200, 404)
    with app.app_context():
        assert db.session.execute(sa.select(TypicalCase).where(TypicalCase.title == "屏幕案例")).first() is None
    resp = lab.post("/typicalcaseview/add", data={**form, "unit": uni.l12}, follow_redirects=True)
    with app.app_context():
        assert db.session.execute(sa.select(TypicalCase).where(TypicalCase.title == "屏幕案例")).first() is None
    resp = lab.post("/typicalcaseview/add", data={**form, "year": "1999"}, follow_redirects=True)
    assert "年份须在 2000 至 2100 之间" in resp.get_data(as_text=True)
    assert lab.post("/typicalcaseview/add", data={**form, "instrument": uni.inst_l11}).status_code == 302
    with app.app_context():
        case = db.session.execute(sa.select(TypicalCase).where(TypicalCase.title == "屏幕案例")).scalar_one()
        other = TypicalCase(unit_id=uni.l12, year=2025, title="别的实验室案例", summary="不可见")
        db.session.add(other)
        db.session.commit()
        pks = case.id, other.id
    try:
        assert "别的实验室案例" not in lab.get("/typicalcaseview/list/").get_data(as_text=True)
        assert lab.get(f"/typicalcaseview/show/{pks[1]}").status_code == 404
        assert "别的实验室案例" in login_as("college_admin").get("/typicalcaseview/list/").get_data(as_text=True)
    finally:
        with app.app_context():
            db.session.execute(sa.delete(TypicalCase).where(TypicalCase.id.in_(pks)))
            db.session.commit()


def test_case_instrument_rule(app, uni):
    from app.services.upkeep.annual_records import validate_typical_case
    from app.services.errors import RuleViolation

    with app.test_request_context():
        lab1, college = db.session.get(Unit, uni.l11), db.session.get(Unit, uni.c1)
        theirs = db.session.get(Instrument, uni.inst_l12)
        with pytest.raises(RuleViolation) as refused:
            validate_typical_case(db.session, TypicalCase(unit=lab1, year=2025, title="t", summary="s", instrument=theirs))
        assert "所选仪器须属于案例所属单位" in str(refused.value)
        # a college's case may name any instrument of its labs
        validate_typical_case(db.session, TypicalCase(unit=college, year=2025, title="t", summary="s", instrument=theirs))
        db.session.rollback()
