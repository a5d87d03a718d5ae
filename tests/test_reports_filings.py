"""Annexes 2 and 3 (issue 5), the report CLI and the console's 报表 page: read back with openpyxl,
scoped per role, bad input refused in Chinese."""
from datetime import datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Instrument, Person, Unit, UnsuitableFiling

from . import factories as f
from .report_files import rows_of, run_report, table, worksheets

YEAR = 2024
ANNEX2_HEADERS = ["序号", "设备名称", "型号规格", "单台套原值（万元）", "设备类型", "不适合开放共享的具体原因",
                  "是否已加入省共享平台", "备注"]
ANNEX3_HEADERS = ["姓名", "职务", "手机", "邮箱", "备注"]


@pytest.fixture(scope="module")
def filed(app, uni):
    with app.app_context():
        school, c1, l11, l21 = (db.session.get(Unit, i) for i in (uni.school, uni.c1, uni.l11, uni.l21))
        secret = f.instrument(l11, name="备案测试涉密仪器", model="M-1", original_value=Decimal("1234567.89"))
        teaching = f.instrument(l21, name="备案测试教学仪器", model=None, original_value=Decimal("300000"))
        draft = f.instrument(l11, name="备案测试未审批仪器")
        earlier = f.instrument(l11, name="备案测试上年仪器")
        f.filing(secret, category="classified", reason="=涉密项目专用", state="filed", networked_at_filing=True,
                 decided_at=datetime(YEAR, 5, 1, 9), remarks="已报省科技厅")
        f.filing(teaching, category="teaching", reason="本科教学专用", state="filed", decided_at=datetime(YEAR, 7, 1))
        f.filing(draft, state="college_review")
        f.filing(earlier, state="filed", decided_at=datetime(YEAR - 1, 12, 31, 23))
        f.person(school, name="报表联络员", duty="liaison", post="科员", mobile="13900000001", email="liaison@example.edu.cn")
        f.person(school, name="报表分管校领导", duty="leader", post="副校长", mobile="13900000002")
        f.person(c1, name="报表化学院联络员", duty="liaison", post="办公室主任", mobile="13900000003")
        db.session.commit()
        instruments = [secret.id, teaching.id, draft.id, earlier.id]
    yield
    with app.app_context():
        db.session.execute(sa.delete(UnsuitableFiling).where(UnsuitableFiling.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(instruments)))
        db.session.execute(sa.delete(Person).where(Person.name.like("报表%")))
        db.session.commit()


def read(content):
    ws = next(iter(worksheets(content).values()))
    return ws, rows_of(ws)


def cli(app, tmp_path, name, *args):
    return run_report(app, tmp_path, name, *args)


def test_annex2_lists_the_year_s_approved_filings_as_the_form(app, filed, tmp_path):
    result, content = cli(app, tmp_path, "annex2", "--year", str(YEAR))
    assert result.exit_code == 0, result.output
    sheet, rows = read(content)
    assert rows[0][0] == "不适合开放共享科研设施和仪器设备备案清单"
    header_text = [r[0] for r in rows[1:5]]
    assert header_text[0] == "填报单位（单位公章）：测试大学"
    assert header_text[1] == "填报人：报表联络员" and header_text[2] == "填报人联系电话：13900000001"
    assert header_text[3].startswith("填报日期：") and header_text[3].endswith("日")
    start, body = table(rows, ANNEX2_HEADERS)
    assert body == [
        [1, "备案测试涉密仪器", "M-1", 123.46, "☑涉密设备  ☐教学专用设备  ☐诊断治疗设备  ☐其他", "'=涉密项目专用", "是", "已报省科技厅"],
        [2, "备案测试教学仪器", None, 30, "☐涉密设备  ☑教学专用设备  ☐诊断治疗设备  ☐其他", "本科教学专用", "否", None],
    ]
    assert sheet.cell(row=start + 2, column=4).number_format == "#,##0.00"  # 万元, two decimals, a number
    footer = [r[0] for r in rows[start + 1 + len(body):] if r[0]]
    assert footer[0] == "本次备案设备合计总数：2台套"
    assert "归口管理部门负责人签字" in footer[1] and "单位负责人签字" in footer[1]
    assert sheet.page_setup.paperSize == 9 and sheet.freeze_panes == f"A{start + 2}"


def test_annex2_for_a_college_holds_only_its_subtree(app, filed, tmp_path):
    _result, content = cli(app, tmp_path, "annex2", "--year", str(YEAR), "--unit", "C1")
    rows = read(content)[1]
    assert [r[1] for r in table(rows, ANNEX2_HEADERS)[1]] == ["备案测试涉密仪器"]
    assert rows[1][0] == "填报单位（单位公章）：化学学院"
    assert rows[2][0] == "填报人：报表化学院联络员"


def test_a_year_without_data_is_a_valid_empty_report(app, filed, tmp_path):
    result, content = cli(app, tmp_path, "annex2", "--year", "2001")
    assert result.exit_code == 0, result.output
    rows = read(content)[1]
    start, body = table(rows, ANNEX2_HEADERS)
    assert body == [["2001年度没有经学校审批的不适合开放共享备案。"] + [None] * 7]
    assert "本次备案设备合计总数：0台套" in [r[0] for r in rows]


def test_annex3_has_the_three_duties_in_the_form_s_order(app, filed, tmp_path):
    _result, content = cli(app, tmp_path, "annex3", "--year", str(YEAR))
    rows = read(content)[1]
    assert rows[0][0] == "管理单位人员信息表"
    assert rows[1][0] == "填报单位（公章）：测试大学" and rows[2][0] == "填报人及联系方式：报表联络员 13900000001"
    body = [r for r in table(rows, ANNEX3_HEADERS)[1] if r[0] is None or r[0].startswith("报表")]
    assert body == [
        ["报表分管校领导", "副校长", "13900000002", "zhang@example.edu.cn", "分管领导"],
        [None, None, None, None, "归口管理部门负责人"],  # nobody holds it: the row stays, empty
        ["报表联络员", "科员", "13900000001", "liaison@example.edu.cn", "联络员"],
        ["报表化学院联络员", "办公室主任", "13900000003", "zhang@example.edu.cn", "联络员"],
    ]
    _result, content = cli(app, tmp_path, "annex3", "--year", str(YEAR), "--unit", "C2")
    names = [r[0] for r in table(read(content)[1], ANNEX3_HEADERS)[1]]
    assert not any(n and n.startswith("报表") for n in names)


@pytest.mark.parametrize("args,message", [
    (["annex9", "--year", "2024"], "未知的报表"),
    (["annex2", "--year", "2024", "--unit", "NOPE"], "未知的单位代码"),
    (["annex2", "--year", "1900"], "年份须在 2000 至 2100 之间"),
])
def test_cli_bad_input_exit_code_2_in_chinese(app, tmp_path, args, message):
    result, _content = cli(app, tmp_path, *args)
    assert result.exit_code == 2 and message in result.output


def test_console_download_is_scoped_and_named_in_chinese(login_as, filed, uni):
    lab = login_as("lab_admin")
    page = lab.get("/reports/").get_data(as_text=True)
    assert "报表" in page and "附件2 不适合开放共享科研设施和仪器设备备案清单" in page
    assert "光学实验室" not in page  # the unit picker offers the lab's own unit only
    resp = lab.get(f"/reports/download?name=annex2&year={YEAR}")
    assert resp.status_code == 200
    name = unquote(resp.headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert name == f"附件2 不适合开放共享科研设施和仪器设备备案清单_分析测试实验室_{YEAR}.xlsx"
    assert [r[1] for r in table(read(resp.data)[1], ANNEX2_HEADERS)[1]] == ["备案测试涉密仪器"]
    # another unit: as if it did not exist
    for unit in (uni.l21, uni.c1, uni.school):
        assert lab.get(f"/reports/download?name=annex2&year={YEAR}&unit={unit}").status_code == 404
    college = login_as("college_admin")
    assert college.get(f"/reports/download?name=annex2&year={YEAR}&unit={uni.l21}").status_code == 404
    rows = read(college.get(f"/reports/download?name=annex2&year={YEAR}&unit={uni.l11}").data)[1]
    assert [r[1] for r in table(rows, ANNEX2_HEADERS)[1]] == ["备案测试涉密仪器"]
    school = login_as("school_admin")
    rows = read(school.get(f"/reports/download?name=annex2&year={YEAR}").data)[1]
    assert len(table(rows, ANNEX2_HEADERS)[1]) == 2


def test_console_refuses_bad_input(login_as):
    lab = login_as("lab_admin")
    assert lab.get("/reports/download?name=nonsense&year=2024").status_code == 404
    resp = lab.get("/reports/download?name=annex2&year=abc", follow_redirects=True)
    assert resp.status_code == 200 and "请选择 2000 至" in resp.get_data(as_text=True)
    assert login_as("service_user").get("/reports/download?name=annex2&year=2024").status_code == 403
    assert login_as(None).get("/reports/").status_code == 302
