"""The colleges' annual assessment (issue 5): the scoring rules at their boundaries and with
measures that have nothing to measure, refused configurations, and the assessment sheet computed
from a hand-built college whose every rate is known."""
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (Assessment, Booking, CheckRecord, CustomerOrg, FeeStandard, Instrument, Person, ServiceUser,
                        TrainingSession, Unit, UsageRecord)
from app.services.upkeep import assessment as a
from app.services.errors import RuleViolation
from config import Config

from . import factories as f
from .report_files import rows_of, run_report, table, worksheets

RULES = Config.ASSESSMENT_RULES
ALL_MET = {m: 1 for indicator in RULES["measures"].values() for m in indicator}


def test_full_marks_and_the_grade_boundaries():
    result = a.assess(ALL_MET, RULES)
    assert result.scores == {i: D("100.00") for i in a.INDICATORS} and result.total == D("100.00")
    assert result.grade == "excellent"
    assert [a.grade_of(D(t), RULES) for t in ("90", "89.99", "75", "74.99", "60", "59.99", "0")] == \
        ["excellent", "good", "good", "pass", "pass", "poor", "poor"]


def test_weights_within_and_across_indicators():
    # organisation 0.5×40 + 1×30 + 0×30 = 50; the other indicators full: 25×50 + 75×100 = 8,750 / 100
    result = a.assess({**ALL_MET, "records_complete": D("0.5"), "self_checks": 0}, RULES)
    assert result.scores["organisation"] == D("50.00")
    assert result.total == D("87.50") and result.grade == "good"


def test_nothing_to_measure_is_left_out_not_marked_down():
    # no bookings: sharing is the other two measures' weighted mean, (1×40 + 0.5×30) / 70 = 78.57
    result = a.assess({**ALL_MET, "responded_in_time": None, "fees_published": D("0.5")}, RULES)
    assert result.scores["sharing"] == D("78.57")
    # no terminals at all: IoT leaves the total, the other three carry it
    result = a.assess({**ALL_MET, "terminals_installed": None, "terminals_reporting": None}, RULES)
    assert result.scores["iot"] is None and result.total == D("100.00")
    assert a.assess({m: None for m in ALL_MET}, RULES).grade is None


@pytest.mark.parametrize("change", [
    {"indicators": {"organisation": 25, "operation": 30, "sharing": 45}},  # an indicator missing
    {"indicators": {**RULES["indicators"], "iot": 0}},  # a weight of zero
    {"grades": [["excellent", 75], ["good", 90], ["pass", 60]]},  # thresholds not descending
    {"grades": [["excellent", 90], ["pass", 60]]},  # a grade missing
])
def test_invalid_rules_are_refused_in_chinese(app, change):
    with app.test_request_context(), pytest.raises(RuleViolation) as refused:
        a.assess(ALL_MET, {**RULES, **change})
    assert "考核规则配置无效" in str(refused.value)


def test_capped_rate():
    assert a.capped_rate(D("160"), 1000) == D("0.16")
    assert a.capped_rate(D("0.375"), "0.30") == 1
    assert a.capped_rate(None, 1000) is None and a.rate(3, 0) is None


# ---------------------------------------------------------------- the sheet, from data

YEAR = 2020
HEADERS = ["序号", "被考核单位", "组织管理情况", "运行使用情况", "开放共享情况", "物联网设备安装使用", "综合得分",
           "考核等级", "已录入等级"]
DETAIL = ["序号", "被考核单位", "考核指标", "考核要点", "比率", "实测数据", "指标内权重"]
COMPLETE = dict(technical_indicators="分辨率 1 nm", service_scope="校内外测试", contact_verified_on=date(YEAR, 12, 1))


def _usage(instrument, hours, source="manual", service_type="internal", start=datetime(YEAR, 5, 1, 9)):
    db.session.add(UsageRecord(instrument_id=instrument.id, started_at=start, hours=D(hours), source=source,
                               service_type=service_type))


@pytest.fixture(scope="module")
def assessed(app, uni):
    with app.app_context():
        school = db.session.get(Unit, uni.school)
        college = f.unit("考核学院", "college", school, code="AS")
        l1, l2 = f.unit("考核实验室一", "lab", college, code="AS-L1"), f.unit("考核实验室二", "lab", college, code="AS-L2")
        owner = f.person(l1, name="考核责任人", duty="instrument_owner")
        technician, manager = f.person(l1, name="考核技术员", duty="technician"), f.person(l2, name="考核管理员", duty="manager")
        liaison = f.person(college, name="考核联络员", duty="liaison")  # not technical or management staff
        # i1: networked, complete, fee in force, terminal reporting; i2: due, not networked;
        # i3: networked, incomplete, no fee, no terminal; i5: due, a terminal that stayed silent
        i1 = f.instrument(l1, name="考核完整仪器", asset_number="AS-1", networked=True, responsible_person_id=owner.id,
                          iot_terminal_id="AS-T1", **COMPLETE)
        f.fee_standard(i1, state="published", effective_from=date(YEAR, 1, 1))
        f.instrument(l1, name="考核未入网仪器", asset_number="AS-2")
        i3 = f.instrument(l2, name="考核问题仪器", asset_number="AS-3", networked=True, model=None)
        f.instrument(l2, name="考核静默终端仪器", asset_number="AS-5", iot_terminal_id="AS-T5")
        # effective hours: i1 200 (measured machine time wins), i3 120; external 100 + 20
        _usage(i1, "200", source="iot")
        _usage(i1, "150")
        _usage(i1, "100", service_type="external", start=datetime(YEAR, 6, 1, 9))
        _usage(i3, "100")
        _usage(i3, "20", service_type="external", start=datetime(YEAR, 6, 1, 9))
        _usage(i3, "999", start=datetime(YEAR - 1, 6, 1, 9))  # last year
        org = CustomerOrg(name="考核客户", category="enterprise")
        db.session.add(org)
        db.session.flush()
        user = ServiceUser(name="考核用户", org_id=org.id)
        db.session.add(user)
        db.session.flush()
        due = date(YEAR, 3, 10)
        for submitted, responded in ((datetime(YEAR, 3, 3), datetime(YEAR, 3, 10, 17)),  # on the last day: in time
                                     (datetime(YEAR, 3, 3), datetime(YEAR, 3, 11, 9)),  # a day late
                                     (datetime(YEAR, 3, 3), None),  # never answered
                                     (datetime(YEAR, 3, 3), datetime(YEAR, 3, 4, 9)),
                                     (datetime(YEAR - 1, 12, 1), None)):  # last year's
            db.session.add(Booking(instrument_id=i1.id, user_id=user.id, mode="sample", state="pending",
                                   submitted_at=submitted, respond_by=due if submitted.year == YEAR else date(YEAR - 1, 12, 8),
                                   responded_at=responded))
        this_year, last_year = f.training(l1, held_on=date(YEAR, 4, 1)), f.training(l2, held_on=date(YEAR - 1, 4, 1))
        this_year.attendees.extend([technician, liaison])
        last_year.attendees.append(manager)
        for unit, kind, period, state in ((l1, "monthly", f"{YEAR}-01", "approved"), (l1, "monthly", f"{YEAR}-02", "signed"),
                                          (l2, "monthly", f"{YEAR}-02", "signed"), (l2, "quarterly", f"{YEAR}-Q1", "signed"),
                                          (l2, "monthly", f"{YEAR - 1}-12", "signed"),
                                          (l2, "monthly", f"{YEAR}-03", "open"), (l2, "monthly", f"{YEAR}-04", "returned")):
            db.session.add(CheckRecord(unit_id=unit.id, kind=kind, period=period, state=state, checked_on=date(YEAR, 3, 1)))
        db.session.add(Assessment(unit_id=college.id, year=YEAR, grade="pass"))
        db.session.commit()
        ids = dict(college=college.id, labs=(l1.id, l2.id), org=org.id)
    yield ids
    with app.app_context():
        units = (*ids["labs"], ids["college"])
        instruments = sa.select(Instrument.id).where(Instrument.unit_id.in_(ids["labs"]))
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(UsageRecord).where(UsageRecord.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(FeeStandard).where(FeeStandard.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id.in_(ids["labs"])))
        for training in db.session.execute(sa.select(TrainingSession).where(TrainingSession.unit_id.in_(units))).scalars():
            db.session.delete(training)
        db.session.execute(sa.delete(CheckRecord).where(CheckRecord.unit_id.in_(units)))
        db.session.execute(sa.delete(Assessment).where(Assessment.unit_id.in_(units)))
        db.session.execute(sa.delete(ServiceUser).where(ServiceUser.org_id == ids["org"]))
        db.session.execute(sa.delete(CustomerOrg).where(CustomerOrg.id == ids["org"]))
        db.session.flush()
        db.session.execute(sa.delete(Person).where(Person.unit_id.in_(units)))
        db.session.execute(sa.delete(Unit).where(Unit.id.in_(ids["labs"])))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["college"]))
        db.session.commit()


def sheets(app, tmp_path, *args):
    result, content = run_report(app, tmp_path, "assessment", *args)
    assert result.exit_code == 0, result.output
    return worksheets(content)


def test_the_sheet_from_a_college_s_year(app, assessed, tmp_path):
    found = sheets(app, tmp_path, "--year", str(YEAR), "--unit", "AS")
    detail = {r[3]: r[4:] for r in table(rows_of(found["指标明细"]), DETAIL)[1]}
    assert detail == {
        "入网信息完整率": [0.25, "1/4", 40],  # due or networked: i1, i2, i3, i5; complete: i1
        "人员培训覆盖率": [pytest.approx(1 / 3), "1/3", 30],  # the liaison is not counted; last year's training is not
        "月度自查完成率": [pytest.approx(2 / 12), "2/12", 30],  # January and February (twice), not the quarter
        "应入网仪器入网率": [0.5, "2/4", 50],
        "机时利用达标程度": [0.16, "160.0 h / 1000 h", 50],  # (200 + 120) / 2 in-service networked instruments
        "共享率达标程度": [1, "37.5% / 30%", 40],  # 120 of 320 hours, above the 30 % target
        "预约按时响应率": [0.5, "2/4", 30],  # the last day counts, a day late and never do not
        "收费标准公布率": [0.5, "1/2", 30],
        "物联网终端安装率": [0.5, "1/2", 60],
        "物联网终端在用率": [0.5, "1/2", 40],  # i5's terminal sent nothing in the year
    }
    # organisation 10 + 10 + 5 = 25; operation 25 + 8 = 33; sharing 40 + 15 + 15 = 70; IoT 30 + 20 = 50;
    # total (25×25 + 33×30 + 70×30 + 50×15) / 100 = 44.65: 较差; the school recorded 合格
    assert table(rows_of(found["考核结果"]), HEADERS)[1] == [[1, "考核学院", 25, 33, 70, 50, 44.65, "较差", "合格"]]
    texts = [v for row in rows_of(found["考核结果"]) for v in row if isinstance(v, str)]
    assert "考核周期：2020年1月1日至2020年12月31日" in texts
    assert any(t.startswith("考核组组长签字：") for t in texts)


def test_weights_and_thresholds_are_configuration(app, assessed, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ASSESSMENT_RULES",
                        {**RULES, "grades": [["excellent", 90], ["good", 60], ["pass", 40]]})
    row = table(rows_of(sheets(app, tmp_path, "--year", str(YEAR), "--unit", "AS")["考核结果"]), HEADERS)[1][0]
    assert row[6:8] == [44.65, "合格"]
    assert "良好 ≥ 60" in str(rows_of(sheets(app, tmp_path, "--year", str(YEAR), "--unit", "AS")["考核结果"]))


def test_school_sheet_has_a_row_per_college_and_a_lab_its_own(app, assessed, tmp_path):
    rows = table(rows_of(sheets(app, tmp_path, "--year", str(YEAR))["考核结果"]), HEADERS)[1]
    assert [r[2:8] for r in rows if r[1] == "考核学院"] == [[25, 33, 70, 50, 44.65, "较差"]]
    assert "化学学院" in [r[1] for r in rows] and "考核实验室一" not in [r[1] for r in rows]
    lab = table(rows_of(sheets(app, tmp_path, "--year", str(YEAR), "--unit", "AS-L2")["考核结果"]), HEADERS)[1]
    assert [r[1] for r in lab] == ["考核实验室二"]


def test_an_empty_year_is_a_valid_sheet(app, assessed, tmp_path):
    rows = table(rows_of(sheets(app, tmp_path, "--year", "2003", "--unit", "AS")["考核结果"]), HEADERS)[1]
    assert rows[0][1] == "考核学院" and rows[0][8] is None  # measured from the records as they stand, no grade recorded


def test_console_download_is_scoped(login_as, assessed):
    assert login_as("college_admin").get(f"/reports/download?name=assessment&year={YEAR}").status_code == 200
    assert login_as("college_admin").get(
        f"/reports/download?name=assessment&year={YEAR}&unit={assessed['college']}").status_code == 404
