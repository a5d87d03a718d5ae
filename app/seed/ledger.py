"""The demo university's asset ledger and provincial state (issue 23, item 7).

`write_demo_ledger` writes, once, the workbook the demo's finance office would export — title rows above a
merged title, the headers asset systems write, values in 元, a subtotal row — from the seeded records, with
known disagreements so every list of the reconciliation has something to find once the school imports it:

- two records in service the ledger does not have (missing);
- four records whose value, model, location or purchase date the ledger writes otherwise (mismatches), the
  demo lab's model among them;
- three fiscally funded assets of ≥ 300,000 CNY not on the platform (candidates), one of them the demo lab's, one
  socially funded of ≥ 500,000 (encouraged) and one fiscal asset below 300,000 (neither);
- one department written as the asset system names it (with 本部), which the school maps to its lab once.

`settle_provincial_state` marks the networked records as uploaded to the province, then leaves three changed
since (their 5-working-day clocks started some days ago), so the change list has something due and overdue.
"""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import xlsxwriter

from app.models import Instrument, Person, Unit
from app.services.upkeep.provincial_sync import mark_uploaded

from .catalog import DEMO_LAB_CODE, SCHOOL_NAME

FILE_NAME = "demo-ledger.xlsx"
HEADER = ("卡片编号", "资产名称", "规格型号", "单价(元)", "经费来源", "取得日期", "入账日期", "使用部门", "存放地点",
          "使用人", "生产厂家", "国别", "使用状况")
FUNDING_WORDS = {"fiscal_full": "财政拨款", "fiscal_partial": "部分财政", "non_fiscal": "自筹经费"}
# (asset number, name, model, value, funding, acquired, booked, the lab's code or None for the demo lab)
NOT_ON_THE_PLATFORM = (
    ("ZC2026-90001", "流式细胞仪", "CytoFLEX S", "450000", "fiscal_full", date(2026, 10, 12), date(2026, 11, 2), None),
    ("ZC2026-90002", "激光共聚焦显微镜", "LSM 980", "1280000", "fiscal_partial", date(2026, 8, 20), date(2026, 9, 10), "C03-L02"),
    ("ZC2026-90003", "电感耦合等离子体质谱仪", "NexION 5000", "980000", "fiscal_full", date(2026, 6, 1), date(2026, 6, 30), "C02-L04"),
    ("ZC2026-90004", "高速摄像系统", "Phantom T4040", "680000", "non_fiscal", date(2026, 5, 6), date(2026, 5, 20), "C05-L03"),
    ("ZC2026-90005", "超低温冰箱", "DW-86L728", "120000", "fiscal_full", date(2026, 4, 1), date(2026, 4, 15), "C03-L01"),
)
VARIANT_SUFFIX = "（本部）"  # how the asset system writes one lab's name: mapped once by the school
VARIANT_LAB_CODE = "C04-L01"


def demo_ledger_path(folder):
    return folder / FILE_NAME


def _records(session):
    return session.execute(
        sa.select(Instrument.id, Instrument.asset_number, Instrument.name, Instrument.model, Instrument.original_value,
                  Instrument.funding_source, Instrument.purchase_date, Instrument.acceptance_date, Instrument.location,
                  Instrument.manufacturer, Instrument.country, Unit.code.label("unit_code"), Unit.name.label("unit_name"),
                  Person.name.label("keeper"))
        .join(Unit, Unit.id == Instrument.unit_id).outerjoin(Person, Person.id == Instrument.responsible_person_id)
        .where(Instrument.in_service).order_by(Instrument.asset_number)).all()


def ledger_rows(session) -> list[tuple]:
    """The demo ledger's rows, in the asset system's order (by card number)."""
    records = _records(session)
    units = dict(session.execute(sa.select(Unit.code, Unit.name)).all())
    demo = [r for r in records if r.unit_code == DEMO_LAB_CODE]
    others = [r for r in records if r.unit_code != DEMO_LAB_CODE]
    missing = {others[-1].id, others[-2].id}
    changed = {demo[1].id: "model", others[10].id: "value", others[20].id: "location", others[30].id: "purchase_date"}
    rows = []
    for r in records:
        if r.id in missing:
            continue
        model, value, location, bought = r.model, r.original_value, r.location, r.purchase_date
        what = changed.get(r.id)
        if what == "model":
            model = f"{model or ''}-II"
        elif what == "value":
            value = value + Decimal("12000")
        elif what == "location":
            location = f"{location or ''}（已搬迁）"
        elif what == "purchase_date" and bought is not None:
            bought = bought - timedelta(days=1)
        department = r.unit_name + (VARIANT_SUFFIX if r.unit_code == VARIANT_LAB_CODE else "")
        rows.append((r.asset_number, r.name, model or "", value, FUNDING_WORDS[r.funding_source], bought,
                     r.acceptance_date, department, location or "", r.keeper or "", r.manufacturer or "", r.country or "",
                     "在用"))
    for number, name, model, value, funding, acquired, booked, lab in NOT_ON_THE_PLATFORM:
        department = units[lab or DEMO_LAB_CODE]
        rows.append((number, name, model, Decimal(value), FUNDING_WORDS[funding], acquired, booked, department, "",
                     "", "", "", "在用"))
    return rows


def workbook(rows) -> bytes:
    """The rows as the asset system exports them: a merged title, the export's date, the table, a subtotal."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("固定资产明细")
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.merge_range(0, 0, 0, len(HEADER) - 1, f"{SCHOOL_NAME}固定资产明细账（仪器设备类）", title)
    sheet.write(1, 0, "导出日期：2026-12-01")
    sheet.write_row(2, 0, HEADER)
    for index, row in enumerate(rows, start=3):
        for column, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(index, column, value, day)
            elif isinstance(value, Decimal):
                sheet.write_number(index, column, float(value), money)
            else:
                sheet.write_string(index, column, value)
    total = len(rows) + 3
    sheet.write(total, 0, "合计")
    sheet.write_formula(total, 3, f"=SUM(D4:D{total})", money, float(sum(row[3] for row in rows)))
    book.close()
    return buffer.getvalue()


def write_demo_ledger(session, folder) -> int:
    """Write the demo ledger into `folder` (once: its content is the seed's); returns its rows."""
    path = demo_ledger_path(folder)
    rows = ledger_rows(session)
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(workbook(rows))
    return len(rows)


def settle_provincial_state(session, now) -> int:
    """Every networked record uploaded as it stands; then three changed since, their clocks started 2, 6 and 9
    days ago (the demo lab's among the late ones). Returns how many changes wait to be sent."""
    mark_uploaded(session, None)
    networked = session.execute(
        sa.select(Instrument.id, Unit.code).join(Unit, Unit.id == Instrument.unit_id)
        .where(Instrument.networked.is_(True)).order_by(Instrument.asset_number)).all()
    demo = [row.id for row in networked if row.code == DEMO_LAB_CODE]
    others = [row.id for row in networked if row.code != DEMO_LAB_CODE]
    chosen = [(demo[0] if demo else others[3], 9), (others[1], 6), (others[2], 2)]
    for instrument_id, days_ago in chosen:
        session.execute(sa.update(Instrument).where(Instrument.id == instrument_id).values(
            contact_phone="0731-88886666", province_changed_at=now - timedelta(days=days_ago),
            updated_at=now - timedelta(days=days_ago)))
    return len(chosen)
