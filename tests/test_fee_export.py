"""The fee schedule as Excel (issue 3): public download and `flask report fees`, read back with openpyxl."""
import io
from urllib.parse import unquote

import openpyxl
import pytest

from app import clock
from app.extensions import db
from app.models import Instrument

from . import factories as f

HEADERS = ["学院", "仪器名称", "型号规格", "安放地址", "收费项目", "计费单位", "客户类别", "数量档位", "单价（元）", "备注"]


@pytest.fixture(scope="module")
def exported(app, uni):
    with app.app_context():
        lab = db.session.get(Instrument, uni.inst_l11).unit
        shown = f.instrument(lab, name="导出测试色谱仪", asset_number="ZC-EXPORT-1", location="=1+2")
        f.fee_standard(shown, state="published", items=[f.standard_item(name="机时", unit="小时", cost="90", prices=[
            ("campus", 0, 10, "100", None), ("campus", 10, None, "80", None), ("enterprise", 0, None, "150", "含报告")])])
        hidden = f.instrument(lab, name="导出测试草稿仪器", asset_number="ZC-EXPORT-2")
        f.fee_standard(hidden, state="draft")
        db.session.commit()
        db.session.remove()


def rows_of(content):
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    return sheet, [[c.value for c in row] for row in sheet.iter_rows()]


def test_public_download(client, exported):
    resp = client.get("/public/fees.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = resp.headers["Content-Disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("收费标准")
    sheet, rows = rows_of(resp.data)
    assert rows[0][0] == "科研设施和仪器收费标准公示"
    header_row = next(i for i, r in enumerate(rows) if r[:len(HEADERS)] == HEADERS)
    data = [r for r in rows[header_row + 1:] if r[1] == "导出测试色谱仪"]
    assert [(r[4], r[5], r[6], r[7], r[8], r[9]) for r in data] == [
        ("机时", "小时", "校内", "0–10", 100, None), ("机时", "小时", "校内", "10 及以上", 80, None),
        ("机时", "小时", "企业", "不限数量", 150, "含报告"),
    ]
    assert all(r[3] == "'=1+2" for r in data)  # a formula is never run
    assert not any(r[1] == "导出测试草稿仪器" for r in rows)
    assert sheet.freeze_panes == f"A{header_row + 2}"
    assert sheet.page_setup.paperSize == 9 and sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == f"${header_row + 1}:${header_row + 1}"  # repeated on every page


def test_download_follows_the_search(client, exported):
    _sheet, rows = rows_of(client.get("/public/fees.xlsx?q=导出测试").data)
    assert {r[1] for r in rows if r[1] in ("导出测试色谱仪", "导出测试草稿仪器")} == {"导出测试色谱仪"}
    assert client.get("/public/fees.xlsx?page=abc").status_code == 400


def test_cli_writes_the_same_file(app, exported, tmp_path, uni):
    runner = app.test_cli_runner()
    path = tmp_path / "fees.xlsx"
    result = runner.invoke(args=["report", "fees", "--year", str(clock.today().year), "--unit", "C1", "--output", str(path)])
    assert result.exit_code == 0, result.output
    _sheet, rows = rows_of(path.read_bytes())
    assert any(r[1] == "导出测试色谱仪" for r in rows)
    assert HEADERS in [r[:len(HEADERS)] for r in rows]
    # scoped to the unit: nothing from the other college
    other = runner.invoke(args=["report", "fees", "--year", str(clock.today().year), "--unit", "C2", "--output", str(path)])
    assert other.exit_code == 0
    assert not any(r[1] == "导出测试色谱仪" for r in rows_of(path.read_bytes())[1])


@pytest.mark.parametrize("args,message", [
    (["report", "nonsense", "--year", "2026"], "未知的报表"),
    (["report", "fees", "--year", "2026", "--unit", "NOPE"], "未知的单位代码"),
])
def test_cli_refuses_unknown_names_with_exit_code_2(app, tmp_path, args, message):
    result = app.test_cli_runner().invoke(args=args + ["--output", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2
    assert message in result.output
