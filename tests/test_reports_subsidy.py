"""The subsidy estimate (issue 5): Art. 24 per instrument with both caps and the separate pools,
Art. 25 per user with its cap and a scope's share, Art. 15's cost compensation, net income and
the 70 % ceiling, every figure computed by hand below; the grade ratio from the recorded grade;
scoping; an empty year. The year-cost and assessment screens that feed it are tested at the end."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (Assessment, Charge, CustomerOrg, InnovationPlatform, Instrument, InstrumentYearCost,
                        ServiceUser, Unit, UsageRecord)

from . import factories as f
from .conftest import csrf_token, session_csrf_token
from .report_files import rows_of, run_report, table, worksheets

YEAR = 2022
UNIT_HEADERS = ["序号", "学院", "实验室/机组", "资产编号", "仪器名称", "补助额度归属", "是否纳入省共享平台",
                "非关联企业、大学生创业团队（个人）服务收入（元）", "按补助比例测算（元）", "补助测算（元）", "说明"]
USER_HEADERS = ["序号", "用户单位", "用户类别", "统一社会信用代码", "是否关联单位", "检验检测费用（元）", "补助比例",
                "用户补助测算（元）", "说明"]
COST_HEADERS = ["序号", "学院", "实验室/机组", "资产编号", "仪器名称", "有效机时（小时）", "对外服务机时（小时）",
                "共享使用占比", "开放共享服务收入（元）", "材料消耗费（元）", "年度水电等运行费总额（元）",
                "开放共享分摊水电运行费（元）", "成本补偿（元）", "净收入（元）", "说明"]
POOL_SIZE = 41  # provincial-lab instruments at the 50,000 cap: 2,050,000 > 2,000,000


def _used(instrument, user, hours, external, day=None):
    record = UsageRecord(instrument_id=instrument.id, user_id=user.id, started_at=day or datetime(YEAR, 5, 1, 9),
                         hours=Decimal(hours), service_type="external" if external else "internal")
    db.session.add(record)
    db.session.flush()
    return record


def _charged(record, total, on=date(YEAR, 6, 1), state="invoiced", credit_of=None):
    c = Charge(usage_id=record.id, total=Decimal(total), state=state, invoice_date=None if state == "pending" else on,
               credit_of_id=credit_of.id if credit_of else None)
    db.session.add(c)
    db.session.flush()
    return c


@pytest.fixture(scope="module")
def subsidised(app, uni):
    with app.app_context():
        school = db.session.get(Unit, uni.school)
        college = f.unit("补助学院", "college", school, code="SB")
        lab1, lab2 = f.unit("补助实验室一", "lab", college, code="SB-L1"), f.unit("补助实验室二", "lab", college, code="SB-L2")
        orgs = {key: CustomerOrg(name=name, category=category, affiliated=affiliated)
                for key, name, category, affiliated in (
                    ("x", "补助企业甲", "enterprise", False), ("y", "补助关联企业乙", "enterprise", True),
                    ("z", "补助企业丙", "enterprise", False), ("s", "补助创业团队", "student_startup", False),
                    ("a", "补助兄弟高校", "academic", False), ("c", "补助校内课题组", "campus", False))}
        db.session.add_all(orgs.values())
        db.session.flush()
        users = {key: ServiceUser(name=f"{org.name}的用户", org_id=org.id) for key, org in orgs.items()}
        db.session.add_all(users.values())
        db.session.flush()
        a = f.instrument(lab1, name="补助质谱仪", asset_number="SB-A", networked=True)
        c = f.instrument(lab1, name="补助未入网仪器", asset_number="SB-C", networked=False)
        e = f.instrument(lab1, name="补助闲置仪器", asset_number="SB-E", networked=True)
        b = f.instrument(lab2, name="补助色谱仪", asset_number="SB-B", networked=True)
        d = f.instrument(lab2, name="补助大设施", asset_number="SB-D", networked=True, kind="facility")
        # A: 300,000 from X less a 20,000 credit note = 280,000 eligible; campus, affiliated and
        # academic income and a pending charge are not eligible
        _charged(_used(a, users["c"], "6", False), "5000")
        rx = _used(a, users["x"], "2", True)
        original = _charged(rx, "300000", state="credited")
        _charged(rx, "-20000", on=date(YEAR, 7, 1), credit_of=original)
        _charged(rx, "999", state="pending")
        _charged(_used(a, users["y"], "1", True), "10000")
        _charged(_used(a, users["a"], "1", True), "7000")
        old = _used(a, users["x"], "3", True, day=datetime(YEAR - 1, 12, 30, 9))
        _charged(old, "50000", on=date(YEAR - 1, 12, 31))  # last year's: not counted
        # C is not networked: its income shows, its subsidy is 0 and its fees are no user's subsidy
        _charged(_used(c, users["x"], "1", True), "8000")
        # B: the student team's 12,345.67 less 2,345.67 credited = 10,000
        rs = _used(b, users["s"], "2", True)
        original = _charged(rs, "12345.67", state="credited")
        _charged(rs, "-2345.67", credit_of=original)
        _charged(_used(d, users["x"], "1", True), "1000")  # a major facility: its own pool
        platform = InnovationPlatform(name="补助省实验室", kind="provincial_lab", level="provincial", unit_id=lab2.id)
        db.session.add(platform)
        db.session.flush()
        for n in range(POOL_SIZE):
            p = f.instrument(lab2, name=f"省实验室仪器{n:02d}", asset_number=f"SB-P{n:02d}", networked=True,
                             platform=platform)
            _charged(_used(p, users["z"], "1", True), "300000")
        db.session.add_all([
            InstrumentYearCost(instrument_id=a.id, year=YEAR, materials_cost=Decimal("1000"), utilities_total=Decimal("10000")),
            InstrumentYearCost(instrument_id=e.id, year=YEAR, materials_cost=Decimal("500"), utilities_total=Decimal("9000")),
            InstrumentYearCost(instrument_id=a.id, year=YEAR - 1, materials_cost=Decimal("99999"), utilities_total=Decimal("0")),
            Assessment(unit_id=school.id, year=YEAR, grade="excellent"),
        ])
        db.session.commit()
        ids = dict(college=college.id, labs=(lab1.id, lab2.id), orgs=[o.id for o in orgs.values()],
                   platform=platform.id, school=school.id, a=a.id)
    yield ids
    with app.app_context():
        instruments = sa.select(Instrument.id).where(Instrument.unit_id.in_(ids["labs"]))
        usages = sa.select(UsageRecord.id).where(UsageRecord.instrument_id.in_(instruments))
        db.session.execute(sa.delete(Charge).where(Charge.usage_id.in_(usages), Charge.credit_of_id.isnot(None)))
        db.session.execute(sa.delete(Charge).where(Charge.usage_id.in_(usages)))
        db.session.execute(sa.delete(UsageRecord).where(UsageRecord.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(InstrumentYearCost).where(InstrumentYearCost.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id.in_(ids["labs"])))
        db.session.execute(sa.delete(InnovationPlatform).where(InnovationPlatform.id == ids["platform"]))
        db.session.execute(sa.delete(ServiceUser).where(ServiceUser.org_id.in_(ids["orgs"])))
        db.session.execute(sa.delete(CustomerOrg).where(CustomerOrg.id.in_(ids["orgs"])))
        db.session.execute(sa.delete(Assessment).where(Assessment.year.in_((YEAR, YEAR + 1))))
        db.session.execute(sa.delete(Unit).where(Unit.id.in_(ids["labs"])))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["college"]))
        db.session.commit()


def sheets(app, tmp_path, *args):
    result, content = run_report(app, tmp_path, "subsidy", *args)
    assert result.exit_code == 0, result.output
    return worksheets(content)


def body(ws, headers):
    return table(rows_of(ws), headers)[1]


def texts(ws):
    return [v for row in rows_of(ws) for v in row if isinstance(v, str)]


def test_unit_subsidy_per_instrument_with_both_caps(app, subsidised, tmp_path):
    ws = sheets(app, tmp_path, "--year", str(YEAR), "--unit", "SB")["管理单位补助"]
    assert "补助比例：按考核等级“优秀”，补助比例 20%" in texts(ws)
    rows = {r[3]: r for r in body(ws, UNIT_HEADERS) if r[3]}
    # 280,000 × 20 % = 56,000, capped at 50,000
    assert rows["SB-A"][5:] == ["本单位", "是", 280000, 56000, 50000, "达到单台套每年 5 万元上限"]
    assert rows["SB-C"][5:] == ["本单位", "否", 8000, 0, 0, "未纳入省共享平台，不享受补助"]
    assert rows["SB-B"][5:] == ["本单位", "是", 10000, 2000, 2000, None]
    assert rows["SB-D"][5:9] == ["重大科研设施：补助大设施（SB-D）", "是", 1000, 200]
    # the provincial lab's 41 instruments: 41 × 50,000 = 2,050,000 scaled to exactly 2,000,000;
    # 2,000,000 / 41 = 48,780.487… → 48,780.48 each, the 0.32 left goes to one of them
    pool = [rows[f"SB-P{n:02d}"] for n in range(POOL_SIZE)]
    assert {r[5] for r in pool} == {"省实验室：补助省实验室"}
    assert all(r[7:9] == [300000, 60000] for r in pool)
    amounts = sorted(Decimal(str(r[9])) for r in pool)
    assert amounts == [Decimal("48780.48")] * (POOL_SIZE - 1) + [Decimal("48780.80")]
    assert sum(amounts) == Decimal("2000000")
    assert all("达到单台套每年 5 万元上限；额度超过 200 万元，按比例核减" == r[10] for r in pool)
    total = body(ws, UNIT_HEADERS)[-1]
    assert total[1] == "合计" and Decimal(str(total[9])) == Decimal("2052200")  # 50,000 + 2,000 + 200 + 2,000,000
    assert "省实验室：补助省实验室 补助额度：全校合计 2,000,000.00 元" in texts(ws)


def test_user_subsidy_per_organisation_with_its_cap(app, subsidised, tmp_path):
    ws = sheets(app, tmp_path, "--year", str(YEAR), "--unit", "SB")["用户补助"]
    rows = {r[1]: r for r in body(ws, USER_HEADERS) if r[0]}
    # X: 280,000 on A + 1,000 on D (C is not networked) = 281,000 × 50 % → capped at 100,000
    assert rows["补助企业甲"][2:] == ["企业", None, "否", 281000, 0.5, 100000, "达到每个用户每年 10 万元上限"]
    assert rows["补助关联企业乙"][4:8] == ["是", 10000, 0.5, 5000]  # Art. 25 does not exclude affiliates
    assert rows["补助创业团队"][2:8] == ["大学生创业团队/个人", None, "否", 10000, 0.85, 8500]
    assert rows["补助企业丙"][5:8] == [POOL_SIZE * 300000, 0.5, 100000]
    assert set(rows) == {"补助企业甲", "补助关联企业乙", "补助创业团队", "补助企业丙"}  # no campus, no academic
    assert body(ws, USER_HEADERS)[-1][7] == 213500


def test_cost_compensation_net_income_and_the_ceiling(app, subsidised, tmp_path):
    ws = sheets(app, tmp_path, "--year", str(YEAR), "--unit", "SB-L1")["成本补偿与净收入"]
    rows = body(ws, COST_HEADERS)
    # A: 10 h effective, 4 h external → 40 %; utilities 10,000 × 40 % = 4,000; compensation
    # 1,000 + 4,000 = 5,000; income from outside 280,000 + 10,000 + 7,000 = 297,000
    assert rows[0][3:] == ["SB-A", "补助质谱仪", 10, 4, 0.4, 297000, 1000, 10000, 4000, 5000, 292000, None]
    assert rows[1][3:] == ["SB-C", "补助未入网仪器", 1, 1, 1, 8000, 0, 0, 0, 0, 8000, "本年度未登记成本，按 0 计"]
    assert rows[2][3:] == ["SB-E", "补助闲置仪器", 0, 0, 0, 0, 500, 9000, 0, 500, -500, None]  # no use: materials only
    assert rows[3][1] == "合计" and rows[3][8:14] == [305000, 1500, 19000, 4000, 5500, 299500]
    assert ("本范围开放共享服务净收入 299,500.00 元；按不高于 70% 的比例，至多 209,650.00 元可作为单位绩效工资来源（第十五条）。"
            in texts(ws))


def test_a_lab_sees_its_rows_of_the_school_wide_result(app, subsidised, tmp_path):
    found = sheets(app, tmp_path, "--year", str(YEAR), "--unit", "SB-L1")
    assert [r[3] for r in body(found["管理单位补助"], UNIT_HEADERS)] == ["SB-A", "SB-C", None]
    users = {r[1]: r for r in body(found["用户补助"], USER_HEADERS) if r[0]}
    # X paid 280,000 of its 281,000 here: 100,000 × 280,000 / 281,000 = 99,644.128… → 99,644.13
    assert users["补助企业甲"][5:8] == [280000, 0.5, 99644.13]
    assert users["补助企业甲"][8] == "达到每个用户每年 10 万元上限；按本范围内支付费用占比分摊全校测算额"
    assert set(users) == {"补助企业甲", "补助关联企业乙"}


def test_the_grade_sets_the_ratio_and_no_grade_estimates_at_the_ceiling(app, subsidised, tmp_path):
    with app.app_context():
        db.session.execute(sa.update(Assessment).where(Assessment.unit_id == subsidised["school"],
                                                       Assessment.year == YEAR).values(grade="good"))
        db.session.commit()
    try:
        ws = sheets(app, tmp_path, "--year", str(YEAR), "--unit", "SB-L1")["管理单位补助"]
        assert "补助比例：按考核等级“良好”，补助比例 15%" in texts(ws)
        assert body(ws, UNIT_HEADERS)[0][7:11] == [280000, 42000, 42000, None]  # 15 %: under the cap
    finally:
        with app.app_context():
            db.session.execute(sa.update(Assessment).where(Assessment.unit_id == subsidised["school"],
                                                           Assessment.year == YEAR).values(grade="excellent"))
            db.session.commit()
    empty = sheets(app, tmp_path, "--year", str(YEAR + 1), "--unit", "SB")
    assert "补助比例：尚未录入 2023 年度考核等级：按最高比例 20% 测算（上限估算）" in texts(empty["管理单位补助"])
    # each table is empty and says so in its one row
    for name, headers, note in (("管理单位补助", UNIT_HEADERS, "2023 年度无来自非关联企业、大学生创业团队（个人）的服务收入。"),
                                ("用户补助", USER_HEADERS, "2023 年度无企业、大学生创业团队（个人）支付的检验检测费用。"),
                                ("成本补偿与净收入", COST_HEADERS, "2023 年度无开放共享服务，也未登记成本。")):
        assert [r[0] for r in body(empty[name], headers)] == [note], name


def test_console_download_is_scoped(login_as, subsidised):
    assert login_as("lab_admin").get(f"/reports/download?name=subsidy&year={YEAR}").status_code == 200
    for who in ("lab_admin", "college_admin"):  # another college's units are not theirs
        for unit_id in (subsidised["college"], *subsidised["labs"]):
            assert login_as(who).get(f"/reports/download?name=subsidy&year={YEAR}&unit={unit_id}").status_code == 404


# ---------------------------------------------------------------- the screens that feed it


def _cost_count(app, **where):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(InstrumentYearCost).filter_by(**where)).scalar()
        db.session.remove()
        return n


@pytest.mark.parametrize("change,message", [
    ({"year": "1999"}, "年份须在 2000 至 2100 之间"),
    ({"materials_cost": "-1"}, "金额不能为负数"),
    ({"year": "2021"}, "该仪器本年度已有成本登记，请编辑原记录"),
])
def test_year_cost_form_refuses_bad_input(app, uni, login_as, change, message):
    with app.app_context():
        db.session.add(InstrumentYearCost(instrument_id=uni.inst_l11, year=2021, materials_cost=0, utilities_total=0))
        db.session.commit()
    try:
        client = login_as("lab_admin")
        before = _cost_count(app, instrument_id=uni.inst_l11)
        data = {"instrument": uni.inst_l11, "year": "2020", "materials_cost": "100", "utilities_total": "2000",
                "remarks": "录入测试", "csrf_token": csrf_token(client, "/instrumentyearcostview/add"), **change}
        resp = client.post("/instrumentyearcostview/add", data=data, follow_redirects=True)
        assert message in resp.get_data(as_text=True)
        assert _cost_count(app, instrument_id=uni.inst_l11) == before
        # positive control: the same form with good values is saved
        resp = client.post("/instrumentyearcostview/add", data={**data, "year": "2020", "materials_cost": "100"})
        assert resp.status_code == 302
        assert _cost_count(app, instrument_id=uni.inst_l11, year=2020) == 1
    finally:
        with app.app_context():
            db.session.execute(sa.delete(InstrumentYearCost).where(InstrumentYearCost.instrument_id == uni.inst_l11))
            db.session.commit()


def test_year_cost_screen_is_scoped(app, uni, login_as):
    with app.app_context():
        other = InstrumentYearCost(instrument_id=uni.inst_l12, year=2021, materials_cost=Decimal("4321.5"), utilities_total=0)
        db.session.add(other)
        db.session.commit()
        pk = other.id
    try:
        lab = login_as("lab_admin")
        assert "4,321.50" not in lab.get("/instrumentyearcostview/list/").get_data(as_text=True)
        assert "4,321.50" in login_as("college_admin").get("/instrumentyearcostview/list/").get_data(as_text=True)
        for url in (f"/instrumentyearcostview/show/{pk}", f"/instrumentyearcostview/edit/{pk}"):
            assert lab.get(url).status_code == 404
        token = session_csrf_token(lab)
        assert lab.post(f"/instrumentyearcostview/delete/{pk}", data={"csrf_token": token}).status_code == 404
        # the instrument dropdown offers only the lab's own instruments; adding for another lab's is refused
        form = lab.get("/instrumentyearcostview/add").get_data(as_text=True)
        assert "材料实验室的仪器" not in form and "分析测试实验室的仪器" in form
        lab.post("/instrumentyearcostview/add", data={"instrument": uni.inst_l12, "year": "2020", "materials_cost": "1",
                                                      "utilities_total": "1", "csrf_token": token})
        assert _cost_count(app, instrument_id=uni.inst_l12) == 1
    finally:
        with app.app_context():
            db.session.execute(sa.delete(InstrumentYearCost).where(InstrumentYearCost.instrument_id == uni.inst_l12))
            db.session.commit()


def test_assessments_are_the_school_s_to_record(app, uni, login_as):
    with app.app_context():
        mine = Assessment(unit_id=uni.c1, year=2021, organisation_score=Decimal("91.5"), grade="excellent")
        theirs = Assessment(unit_id=uni.c2, year=2021, organisation_score=Decimal("62.25"), grade="pass")
        db.session.add_all([mine, theirs])
        db.session.commit()
        pks = mine.id, theirs.id
    try:
        college = login_as("college_admin")
        listing = college.get("/assessmentview/list/").get_data(as_text=True)
        assert "91.50" in listing and "62.25" not in listing
        assert college.get(f"/assessmentview/show/{pks[1]}").status_code == 404
        assert college.get("/assessmentview/add").status_code == 403
        assert college.get(f"/assessmentview/edit/{pks[0]}").status_code == 403
        assert login_as("lab_admin").get("/assessmentview/list/").status_code == 403
        school = login_as("school_admin")
        token = csrf_token(school, "/assessmentview/add")
        resp = school.post("/assessmentview/add", data={"unit": uni.c1, "year": "2021", "organisation_score": "101",
                                                        "grade": "good", "csrf_token": token}, follow_redirects=True)
        html = resp.get_data(as_text=True)
        assert "得分须在 0 到 100 之间" in html
        resp = school.post("/assessmentview/add", data={"unit": uni.c1, "year": "2021", "grade": "good",
                                                        "csrf_token": token}, follow_redirects=True)
        assert "该单位本年度已有考核结果，请编辑原记录" in resp.get_data(as_text=True)
        with app.app_context():
            assert db.session.execute(sa.select(sa.func.count()).select_from(Assessment)
                                      .where(Assessment.year == 2021)).scalar() == 2
    finally:
        with app.app_context():
            db.session.execute(sa.delete(Assessment).where(Assessment.id.in_(pks)))
            db.session.commit()
