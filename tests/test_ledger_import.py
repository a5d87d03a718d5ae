"""Importing the asset ledger and reconciling it (issue 23, items 1–2; SPEC §5 `flask ledger import`): a dry run
that writes nothing, a commit that writes all or nothing, the same file again changing nothing, every change in
the change log under the file's name and digest, and the reconciliation's counts against a hand-built ledger."""
import io
import json
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa
import xlwt

from app import clock
from app.models import ChangeLog, Instrument, LedgerEntry, LedgerImport, LedgerMapping, LedgerUnitName, PlatformUser, Unit
from app.services.actors import Actor
from app.services.errors import RuleViolation
from app.services.upkeep import ledger, ledger_import, reconciliation

from . import factories as f

HEADER = ["资产编号", "资产名称", "规格型号", "原值(元)", "经费来源", "购置日期", "使用部门", "存放地点"]


def _xlsx(rows, header=HEADER, sheets=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "资产明细"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for name in sheets or ():
        book.create_sheet(name).append(["无关"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xls(rows, header=HEADER):
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("资产明细")
    for r, row in enumerate([header, *rows]):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write(r, c, value, xlwt.easyxf(num_format_str="yyyy-mm-dd"))
            elif value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv(rows, encoding="utf-8-sig", header=HEADER):
    text = "\n".join(",".join("" if v is None else str(v) for v in row) for row in [header, *rows])
    return (text + "\n").encode(encoding)


@pytest.fixture
def platform(session, uni):
    """A lab of its own under college c1 (other tests' records never meet it) with an instrument (850,000, 型号甲,
    理科楼101室, bought 2020-03-01), one the ledger knows under another number, and a scrapped one; removed
    afterwards with the ledger."""
    lab = f.unit("对账实验室", "lab", session.get(Unit, uni.c1), code="REC-L1")
    own = f.instrument(lab, name="对账实验室的仪器", asset_number="ZC-700001")
    renumbered = f.instrument(lab, name="旧编号仪器", model="M-1", asset_number="OLD-0001")
    scrapped = f.instrument(lab, name="已报废仪器", asset_number="OLD-0002", run_status="scrapped")
    ids = (own.id, renumbered.id, scrapped.id)
    yield {"own": own.asset_number, "own_id": own.id, "renumbered_id": renumbered.id, "scrapped_id": scrapped.id,
           "lab": lab}
    session.rollback()
    session.execute(sa.delete(ChangeLog).where((ChangeLog.table_name == "ledger_entry")
                                               | ((ChangeLog.table_name == "instrument") & ChangeLog.record_id.in_(ids))))
    for model in (LedgerEntry, LedgerImport, LedgerMapping, LedgerUnitName):
        session.execute(sa.delete(model))
    session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids)))
    session.execute(sa.delete(Unit).where(Unit.code == "REC-L1"))
    session.commit()


def _ledger_rows(own_number):
    full_width = own_number.translate({ord(c): ord(c) + 0xFEE0 for c in "ZC0123456789"}).lower()
    return [
        # the lab's own instrument, written full-width and in lower case: matched; model and value differ
        [full_width, "对账实验室的仪器", "型号乙", "900000", "财政拨款", "2020-03-01", "对账实验室", "理科楼101室"],
        # fiscal, ≥ 300,000, not on the platform: a candidate; its name and model are a record's with another number
        ["ZC-NEW-0001", "旧编号仪器", "M-1", "400000", "财政拨款", "2021-05-06", "对账实验室", "理科楼102室"],
        # partly fiscal: a candidate too
        ["ZC-NEW-0002", "红外光谱仪", "IR-9", "350000.00", "部分财政", "2022.01.02", "对账实验室", "理科楼103室"],
        # fiscal below 300,000: networking is voluntary (Art. 4), not listed
        ["ZC-NEW-0003", "离心机", "C-1", "250000", "财政拨款", "2022-01-02", "对账实验室", ""],
        # socially funded ≥ 500,000: encouraged, not a candidate
        ["ZC-NEW-0004", "质谱仪", "MS-1", "600000", "横向经费", "2022-01-02", "对账实验室", ""],
        # another college's unit name the platform does not know: unmapped
        ["ZC-NEW-0005", "激光器", "L-1", "500000", "财政拨款", "2022-01-02", "光电所", ""],
    ]


@pytest.mark.parametrize("kind", ["xlsx", "xls", "csv-utf8", "csv-gb18030"])
def test_dry_run_counts_every_row_and_reconciles_without_writing(session, platform, kind):
    rows = _ledger_rows(platform["own"])
    data, name = {"xlsx": (_xlsx(rows), "台账.xlsx"), "xls": (_xls(rows), "台账.xls"),
                  "csv-utf8": (_csv(rows), "台账.csv"), "csv-gb18030": (_csv(rows, "gb18030"), "台账.csv")}[kind]
    plan = ledger_import.plan(session, data, name)
    assert [o.action for o in plan.outcomes] == ["create"] * 6 and plan.refused == []
    assert plan.unmapped_units == ["光电所"]
    lab_ids = (platform["lab"].id,)
    found = reconciliation.compare(session, plan._writes["create"], lab_ids)
    assert sorted(c["asset_number"] for c in found.candidates) == ["ZC-NEW-0001", "ZC-NEW-0002"]
    assert [c["likely"] for c in found.candidates if c["asset_number"] == "ZC-NEW-0001"] == [[platform["renumbered_id"]]]
    assert [e["asset_number"] for e in found.encouraged] == ["ZC-NEW-0004"]
    # the renumbered record is missing from the ledger under its own number; the scrapped one is not listed
    assert platform["renumbered_id"] in {m["id"] for m in found.missing}
    assert platform["scrapped_id"] not in {m["id"] for m in found.missing}
    assert {(m.instrument_id, m.field, m.ledger_value) for m in found.mismatches} == {
        (platform["own_id"], "model", "型号乙"), (platform["own_id"], "value", Decimal("900000.00"))}
    assert session.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar() == 0


def _cli(app, tmp_path, name, data, *args):
    path = tmp_path / name
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["ledger", "import", str(path), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def test_cli_commits_once_and_the_same_file_again_changes_nothing(app, session, platform, tmp_path):
    session.commit()
    data = _xlsx(_ledger_rows(platform["own"]))
    code, dry = _cli(app, tmp_path, "台账.xlsx", data, "--dry-run", "--report", str(tmp_path / "dry.xlsx"))
    assert code == 0 and dry["rows"] == 6 and dry["created"] == 6 and dry["refused"] == []
    assert session.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar() == 0
    report = openpyxl.load_workbook(tmp_path / "dry.xlsx")
    assert [ws.title for ws in report.worksheets] == ["逐行结果", "应入尽入候选", "台账中没有", "不一致"]

    code, first = _cli(app, tmp_path, "台账.xlsx", data)
    assert code == 0 and first["created"] == 6 and first["mismatches"] >= 2 and first["candidates"] >= 2
    session.expire_all()
    imported = session.execute(sa.select(LedgerImport)).scalar_one()
    assert imported.digest == ledger_import.digest_of(data) and imported.filename == "台账.xlsx"
    logged = session.execute(sa.select(ChangeLog.source).where(ChangeLog.table_name == "ledger_entry")).scalars().all()
    assert len(logged) == 6 and set(logged) == {f"台账.xlsx sha256:{imported.digest}"}

    code, again = _cli(app, tmp_path, "台账.xlsx", data)
    assert code == 0 and (again["created"], again["updated"], again["unchanged"]) == (0, 0, 6)
    assert session.execute(sa.select(sa.func.count()).select_from(ChangeLog)
                           .where(ChangeLog.table_name == "ledger_entry")).scalar() == 6

    # one value changed, one asset gone: an update and a removal, each logged with the new file's digest
    changed = _ledger_rows(platform["own"])[:5]
    changed[1][3] = "410000"
    newer = _xlsx(changed)
    code, third = _cli(app, tmp_path, "台账2.xlsx", newer)
    assert code == 0 and (third["updated"], third["unchanged"], third["removed"]) == (1, 4, 1)
    session.expire_all()
    entry = session.execute(sa.select(LedgerEntry).filter_by(asset_key="ZC-NEW-0001")).scalar_one()
    assert entry.value == Decimal("410000.00")
    gone = session.execute(sa.select(LedgerEntry).filter_by(asset_key="ZC-NEW-0005")).scalar_one()
    assert gone.present is False
    new_log = session.execute(sa.select(ChangeLog.field, ChangeLog.old_value, ChangeLog.new_value)
                              .where(ChangeLog.source == f"台账2.xlsx sha256:{ledger_import.digest_of(newer)}")).all()
    assert sorted(new_log) == [("present", "True", "False"), ("value", "400000.00", "410000.00")]


def test_a_file_with_a_refused_row_writes_nothing_and_exits_2(app, session, platform, tmp_path):
    session.commit()
    rows = _ledger_rows(platform["own"])
    rows[2][5] = "去年春天"  # not a date
    rows.append(["ZC-NEW-0001", "重复", "", "1", "财政拨款", "", "", ""])  # twice in one file
    code, result = _cli(app, tmp_path, "台账.xlsx", _xlsx(rows))
    assert code == 2
    assert result["refused"] == [
        {"row": 4, "column": "购置日期", "message": str(ledger.MSG_DATE)},
        {"row": 8, "column": "资产编号", "message": str(ledger.MSG_TWICE) % {"row": 3}},
    ]
    assert session.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(LedgerImport)).scalar() == 0
    code, dry = _cli(app, tmp_path, "台账.xlsx", _xlsx(rows), "--dry-run")
    assert code == 0 and len(dry["refused"]) == 2 and dry["rows"] == 7


@pytest.mark.parametrize("name,data,message", [
    ("台账.pdf", b"%PDF-1.4", ledger.MSG_NOT_A_SHEET),
    ("台账.xlsx", b"not a zip at all", ledger.MSG_NOT_A_SHEET),
    ("台账.xlsx", b"PK\x03\x04 truncated zip", ledger.MSG_UNREADABLE),
    ("台账.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ledger.MSG_UNREADABLE),  # encrypted: an OLE box
    ("台账.csv", "资产编号\n".encode("utf-16"), ledger.MSG_ENCODING),
    ("台账.csv", "名称,型号\n甲,乙\n".encode(), ledger.MSG_NO_HEADER),
])
def test_a_file_refused_whole_exits_2_with_a_chinese_reason(app, session, tmp_path, name, data, message):
    code, result = _cli(app, tmp_path, name, data)
    assert code == 2 and result["refused"][0]["message"] == str(message) and result["rows"] == 0


def test_a_file_past_the_size_limit_is_refused_before_it_is_read(session):
    with pytest.raises(ledger.NotALedger, match="50 MB"):
        ledger_import.plan(session, b"PK\x03\x04" + b"\x00" * ledger.MAX_BYTES, "台账.xlsx")


def test_several_sheets_the_chosen_one_is_read(session, platform):
    data = _xlsx(_ledger_rows(platform["own"]), sheets=["说明"])
    assert ledger.sheet_names(data, "台账.xlsx") == ["资产明细", "说明"]
    assert len(ledger_import.plan(session, data, "台账.xlsx", sheet="资产明细").outcomes) == 6
    with pytest.raises(ledger.NotALedger):
        ledger_import.plan(session, data, "台账.xlsx", sheet="说明")  # no asset number in it
    with pytest.raises(ledger.NotALedger, match="没有名为"):
        ledger_import.plan(session, data, "台账.xlsx", sheet="不存在")


def test_a_saved_mapping_names_the_headers_the_platform_does_not_know(session, platform):
    header = ["设备编码", "资产名称", "型号", "账面原值", "经费来源", "购置日期", "使用部门", "放置位置"]
    data = _xlsx(_ledger_rows(platform["own"]), header=header)
    with pytest.raises(ledger.NotALedger):  # no header names the asset number
        ledger_import.plan(session, data, "台账.xlsx")
    mapping = LedgerMapping(name="某资产系统", columns={"设备编码": "asset_number", "账面原值": "value", "放置位置": "location"})
    session.add(mapping)
    session.flush()
    plan = ledger_import.plan(session, data, "台账.xlsx", mapping=mapping)
    assert plan.columns["asset_number"] == "设备编码" and plan.columns["location"] == "放置位置"
    assert plan.refused == [] and plan._writes["create"][1]["value"] == Decimal("400000.00")


def test_a_unit_name_mapped_once_is_the_unit_of_every_row(session, platform, uni):
    session.add(LedgerUnitName(name="光电所", unit_id=uni.l21))
    session.flush()
    plan = ledger_import.plan(session, _xlsx(_ledger_rows(platform["own"])), "台账.xlsx")
    assert plan.unmapped_units == []
    assert {row["asset_key"]: row["unit_id"] for row in plan._writes["create"]}["ZC-NEW-0005"] == uni.l21


def test_two_imports_committed_at_once_the_database_keeps_one(app, session, platform, elsewhere):
    session.commit()
    data = _xlsx(_ledger_rows(platform["own"]))
    plan = ledger_import.plan(session, data, "台账.xlsx")
    # another request commits its import first, from the same starting point
    elsewhere(sa.insert(LedgerImport).values(sequence=plan.sequence, filename="别的.xlsx", digest="0" * 64,
                                             imported_at=clock.now(),
                                             rows=0, created=0, updated=0, unchanged=0, removed=0))
    with pytest.raises(RuleViolation, match="同时"):
        ledger_import.commit(session, plan, None, clock.now())
    session.rollback()
    assert session.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar() == 0


def test_accepting_a_mismatch_takes_the_ledgers_value_as_an_edit(app, session, platform):
    college = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="college_admin")).scalar_one())
    session.commit()
    plan = ledger_import.plan(session, _xlsx(_ledger_rows(platform["own"])), "台账.xlsx")
    ledger_import.commit(session, plan, None, clock.now())
    session.commit()
    found = reconciliation.reconcile(session, (platform["lab"].id,))
    assert {m.field for m in found.mismatches} == {"model", "value"}
    reconciliation.accept(session, college, platform["own_id"], "model")
    session.flush()
    assert session.get(Instrument, platform["own_id"]).model == "型号乙"
    edit = session.execute(sa.select(ChangeLog).where(ChangeLog.table_name == "instrument",
                                                      ChangeLog.record_id == platform["own_id"],
                                                      ChangeLog.field == "model")).scalar_one()
    assert (edit.old_value, edit.new_value, edit.changed_by_id) == ("型号甲", "型号乙", college.user_id)
    assert {m.field for m in reconciliation.reconcile(session, (platform["lab"].id,)).mismatches} == {"value"}
    with pytest.raises(RuleViolation):
        reconciliation.accept(session, college, platform["own_id"], "model")  # nothing left to accept


def test_a_narrower_file_keeps_what_the_entries_hold_in_its_missing_columns(session, platform):
    rows = _ledger_rows(platform["own"])
    rows[0][7] = "新楼201室"  # the ledger has the instrument elsewhere
    ledger_import.commit(session, ledger_import.plan(session, _xlsx(rows), "台账.xlsx"), None, clock.now())
    session.commit()
    narrow = _xlsx([row[:7] for row in rows], header=HEADER[:7])  # no 存放地点
    for _ in range(2):  # the second time its rows state exactly what they stated the first
        plan = ledger_import.plan(session, narrow, "台账.xlsx")
        assert [o.action for o in plan.outcomes] == ["unchanged"] * 6
        assert {m.field for m in plan.reconciliation.mismatches} == {"model", "value", "location"}  # still compared
        ledger_import.commit(session, plan, None, clock.now())
        session.commit()
    entry = session.execute(sa.select(LedgerEntry).filter_by(asset_key="ZC-NEW-0001")).scalar_one()
    assert entry.location == "理科楼102室"


def test_a_department_mapped_after_the_import_changes_no_row_of_the_same_file(session, platform, uni):
    data = _xlsx(_ledger_rows(platform["own"]))
    ledger_import.commit(session, ledger_import.plan(session, data, "台账.xlsx"), None, clock.now())
    session.commit()
    session.add(LedgerUnitName(name="光电所", unit_id=uni.l21))
    session.flush()
    assert ledger_import.remap_units(session) == 1
    session.commit()
    plan = ledger_import.plan(session, data, "台账.xlsx")
    assert [o.action for o in plan.outcomes] == ["unchanged"] * 6 and len(plan._writes["digest"]) == 1
    ledger_import.commit(session, plan, None, clock.now())
    session.commit()
    again = ledger_import.plan(session, data, "台账.xlsx")
    assert [o.action for o in again.outcomes] == ["unchanged"] * 6 and again._writes["digest"] == []
