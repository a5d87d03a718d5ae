"""Reading the asset ledger (issue 23, first step): the header found below title rows and merged cells, the
columns known by the headers asset systems write, 万元 only where the header says so, asset numbers compared
normalised, every bad value refused with its row, column and Chinese reason, nothing guessed."""
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings, strategies as st

from app.services.upkeep import ledger

HEADER = ["序号", "卡片编号", "资产名称", "规格型号", "单价(万元)", "经费来源", "取得日期", "使用部门", "存放地点",
          "使用人", "备注说明"]
ROWS = [
    [1, "ＺＣ-2019 0001", "扫描电子显微镜", "SU8010", "85.5", "财政拨款", "2019.05.06", "材料学院", "材料楼101", "张三", ""],
    [2, "zc-20190002", "液相色谱仪", "1260", 32, "自筹", datetime(2020, 3, 1), "化学院", "化学楼", "李四", None],
    [None, None, None, None, None, None, None, None, None, None, None],
    [3, "ZC-20190003", "离心机", "X", "12.3", "部分财政", "2021年1月2日", "化学院", "化学楼", "王五", ""],
    ["合计", None, None, None, "129.8", None, None, None, None, None, None],
]


def _xlsx(rows, title_rows=2):
    book = openpyxl.Workbook()
    sheet = book.active
    for n in range(title_rows):
        sheet.append(["湖南示范大学固定资产明细表" if n == 0 else "导出日期：2026-12-01"])
    if title_rows:  # the title spans the table, as asset systems export it
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv(rows, encoding):
    lines = [",".join(HEADER)] + [",".join("" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v))
                                           for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


@pytest.mark.parametrize("name,data", [
    ("台账.xlsx", _xlsx(ROWS)), ("台账.csv", _csv(ROWS, "utf-8-sig")), ("台账.csv", _csv(ROWS, "gb18030")),
], ids=["xlsx", "csv-utf8-bom", "csv-gb18030"])
def test_a_ledger_is_read_in_every_format(app, name, data):
    with app.app_context():
        reading = ledger.read_cells(ledger.cells_of(data, name))
    assert reading.header_row == (3 if name.endswith(".xlsx") else 1)
    assert reading.columns["asset_number"] == "卡片编号" and reading.columns["value"] == "单价(万元)"
    assert reading.unrecognised == ["序号", "备注说明"]
    assert reading.refused == []
    first, second, third = reading.rows
    assert first.key == "ZC-20190001" and second.key == "ZC-20190002"  # full-width, spaces, case
    assert first.values["value"] == Decimal("855000.00") and second.values["value"] == Decimal("320000.00")
    assert [r.values["funding"] for r in reading.rows] == ["fiscal_full", "non_fiscal", "fiscal_partial"]
    assert [r.values["purchase_date"] for r in reading.rows] == [date(2019, 5, 6), date(2020, 3, 1), date(2021, 1, 2)]
    assert first.values["unit_name"] == "材料学院" and "remarks" not in first.values


def test_each_bad_value_is_refused_with_its_row_and_column(app):
    rows = [
        [1, "ZC-1", "甲", "M", "abc", "财政拨款", "2019-05-06", "化学院", "", "", ""],
        [2, "ZC-2", "乙", "M", "-1", "财政拨款", "2019-05-06", "化学院", "", "", ""],
        [3, "ZC-3", "丙", "M", "1", "专项经费", "2019-02-30", "化学院", "", "", ""],
        [4, "ｚｃ-1", "丁", "M", "1", "财政拨款", "2019-05-06", "化学院", "", "", ""],
        [5, None, "戊", "M", "1", "财政拨款", "2019-05-06", "化学院", "", "", ""],
        [6, "ZC-6", "己", "M", "1", "财政拨款", "20190506", "化学院", "", "", ""],
    ]
    with app.app_context():
        reading = ledger.read_cells(ledger.cells_of(_xlsx(rows, title_rows=0), "台账.xlsx"))
    refused = {(r.row, r.column): r.message for r in reading.refused}
    assert refused == {
        (2, "单价(万元)"): "不是金额：请填写数字（元；表头写明万元的，以万元计）。",
        (3, "单价(万元)"): "金额不能为负数。",
        (4, "经费来源"): "经费来源无法识别：应为财政拨款、部分财政或非财政（自筹、横向等）。",
        (4, "取得日期"): "不是日期：请写作 2019-05-06、2019.05.06、2019/5/6 或 2019年5月6日。",
        (5, "卡片编号"): "该资产编号与本文件第 2 行重复。",
        (6, "卡片编号"): "资产编号为空。",
        (7, "取得日期"): "不是日期：请写作 2019-05-06、2019.05.06、2019/5/6 或 2019年5月6日。",
    }
    assert reading.rows == []


def test_a_header_in_yuan_is_taken_in_yuan_whatever_the_magnitude(app):
    header = ["资产编号", "资产名称", "原值（元）", "财政拨款", "非财政拨款"]
    cells = [header, ["A1", "甲", "12.5", "12.5", "0"], ["A2", "乙", "850000", "400000", "450000"]]
    with app.app_context():
        reading = ledger.read_cells(cells)
    assert [r.values["value"] for r in reading.rows] == [Decimal("12.50"), Decimal("850000.00")]
    # no 经费来源 column: the funding follows the fiscal and non-fiscal amounts
    assert [r.values["funding"] for r in reading.rows] == ["fiscal_full", "fiscal_partial"]


def test_a_file_without_the_asset_number_or_not_a_spreadsheet_is_refused_whole(app):
    with app.app_context():
        reading = ledger.read_cells([["名称", "型号"], ["甲", "M"]])
        assert reading.rows == [] and [(r.row, r.message) for r in reading.refused] == [
            (1, "前 20 行中没有写明资产编号（资产编号或卡片编号）的表头行。")]
        with pytest.raises(ledger.NotALedger):
            ledger.cells_of(b"%PDF-1.4 not a workbook", "台账.xlsx")
        with pytest.raises(ledger.NotALedger):
            ledger.cells_of(b"\xff\xfe\x00\xd8", "台账.csv")


FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ABCDEFGHXYZabcxyz0123456789-/", min_size=1, max_size=20), st.data())
def test_an_asset_number_is_the_same_in_full_width_with_spaces_in_any_case(number, data):
    spaced = data.draw(st.sampled_from([" ", "\u3000", "  "]))
    variant = spaced.join("".join(FULL_WIDTH.get(c, c) for c in number).swapcase())
    assert ledger.asset_key(variant) == ledger.asset_key(number) == number.upper()


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}.{m}.{d}", "{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}-{m:02d}-{d:02d} 00:00:00"]))
def test_a_date_is_read_in_each_way_a_ledger_writes_it(day, pattern):
    assert ledger.read_date(pattern.format(y=day.year, m=day.month, d=day.day)) == day


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10 ** 6, places=2, allow_nan=False, allow_infinity=False))
def test_ten_thousand_yuan_only_where_the_header_says_so(amount):
    assert ledger.read_money(str(amount), ten_thousands=False) == amount
    assert ledger.read_money(str(amount), ten_thousands=True) == (amount * 10000).quantize(Decimal("0.01"))


def test_a_subtotal_written_where_the_asset_number_goes_is_passed_over(app):
    """Asset systems write 合计 in the first column, which is often the card number's."""
    cells = [["卡片编号", "资产名称", "单价"], ["ZC-1", "离心机", "350000"], ["合计", None, "350000"], ["小计：", None, "1"]]
    with app.app_context():
        reading = ledger.read_cells(cells)
    assert [r.asset_number for r in reading.rows] == ["ZC-1"] and reading.refused == []
