"""The ledger and reconciliation screens and APIs (issue 23, items 1–2), as each role reaches them: the school
imports (dry run, then commit) on screen; every administrator reconciles its own scope — drafts a record from a
candidate, accepts a ledger value — and reads its deadlines through the API; nobody else reaches any of it."""
import io
import re
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from app import clock
from app.models import ChangeLog, Instrument, LedgerEntry, LedgerImport, LedgerMapping, LedgerUnitName, Message, PlatformUser, Unit
from app.services.upkeep import ledger_import

from . import factories as f
from .conftest import csrf_token

HEADER = ["资产编号", "资产名称", "规格型号", "原值(元)", "经费来源", "购置日期", "入账日期", "使用部门", "存放地点"]


def _xlsx(rows):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def ledger(database, uni):
    """A ledger of an instrument of lab l11 (its model differs), one candidate each of lab l11 and lab l21; removed
    afterwards with whatever the test drafted."""
    with database() as session:
        own = f.instrument(session.get(Unit, uni.l11), name="对账仪器", asset_number="LG-OWN-0001")
        session.commit()
        own_id, own_number, name, location = own.id, own.asset_number, own.name, own.location
    rows = [
        [own_number, name, "型号乙", "850000", "财政拨款", "2020-03-01", "2020-04-01", "分析测试实验室", location],
        ["LG-L11-0001", "流式细胞仪", "FC-1", "420000", "财政拨款", "2026-10-08", "2026-10-20", "分析测试实验室", "理科楼201室"],
        ["LG-L21-0001", "激光共聚焦显微镜", "LSM-9", "1200000", "部分财政", "2026-09-01", "2026-09-15", "光学实验室", "光学楼"],
    ]
    yield {"data": _xlsx(rows), "own_id": own_id, "own_number": own_number}
    with database() as session:
        drafted = session.execute(sa.select(Instrument.id).where(Instrument.asset_number.like("LG-%"))).scalars().all()
        session.execute(sa.delete(ChangeLog).where((ChangeLog.table_name == "ledger_entry")
                                                   | ChangeLog.record_id.in_([own_id, *drafted])))
        for model in (LedgerEntry, LedgerImport, LedgerMapping, LedgerUnitName):
            session.execute(sa.delete(model))
        session.execute(sa.delete(Message).where(Message.kind.in_(("ledger_imported", "record_drafted"))))
        session.execute(sa.delete(Instrument).where(Instrument.id.in_(drafted)))
        session.commit()


def _commit(database, data):
    with database() as session:
        plan = ledger_import.plan(session, data, "台账.xlsx")
        ledger_import.commit(session, plan, None, clock.now())
        session.commit()


def _count(database, model):
    with database() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def _hidden(html, name):
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_the_school_imports_on_screen_dry_run_then_commit(database, login_as, ledger):
    client = login_as("school_admin")
    assert client.get("/ledger/").status_code == 200
    page = client.post("/ledger/dry-run", data={"csrf_token": csrf_token(client, "/ledger/"), "mapping": "",
                                                "file": (io.BytesIO(ledger["data"]), "资产台账.xlsx")},
                       content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="ledger-created">3<' in html and "ledger-commit" in html
    assert _count(database, LedgerEntry) == 0  # a dry run writes nothing
    report = client.get("/ledger/report", query_string={k: _hidden(html, k) for k in ("digest", "suffix", "filename")})
    assert report.status_code == 200 and openpyxl.load_workbook(io.BytesIO(report.data)).sheetnames[0] == "逐行结果"
    committed = client.post("/ledger/commit", data={"csrf_token": csrf_token(client, "/ledger/"),
                                                    **{k: _hidden(html, k) for k in ("digest", "suffix", "filename", "mapping", "sheet")}})
    assert committed.status_code == 302 and committed.location.endswith("/reconciliation/")
    with database() as session:
        assert session.execute(sa.select(LedgerImport.filename, LedgerImport.created)).one() == ("资产台账.xlsx", 3)
    # a forged digest names no file
    forged = client.post("/ledger/commit", data={"csrf_token": csrf_token(client, "/ledger/"), "digest": "../../etc/passwd",
                                                 "suffix": ".csv", "filename": "x.csv"})
    assert forged.status_code == 302 and _count(database, LedgerImport) == 1


def test_a_refused_file_offers_no_commit_and_a_commit_anyway_writes_nothing(database, login_as, ledger):
    client = login_as("school_admin")
    book = openpyxl.load_workbook(io.BytesIO(ledger["data"]))
    book.active["F3"] = "去年"
    buffer = io.BytesIO()
    book.save(buffer)
    page = client.post("/ledger/dry-run", data={"csrf_token": csrf_token(client, "/ledger/"),
                                                "file": (io.BytesIO(buffer.getvalue()), "台账.xlsx")},
                       content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert "ledger-refused-row" in html and "ledger-commit" not in html and "购置日期" in html
    client.post("/ledger/commit", data={"csrf_token": csrf_token(client, "/ledger/"), "digest": ledger_import.digest_of(buffer.getvalue()),
                                        "suffix": ".xlsx", "filename": "台账.xlsx"})
    assert _count(database, LedgerEntry) == 0


@pytest.mark.parametrize("who", ["college_admin", "lab_admin", "service_user", None])
def test_only_the_school_imports(database, login_as, ledger, who):
    client = login_as(who)
    for method, url in (("get", "/ledger/"), ("post", "/ledger/dry-run"), ("post", "/ledger/commit"),
                        ("get", "/ledger/report"), ("get", "/ledgerunitnameview/list/"), ("get", "/ledgermappingview/list/")):
        data = {"csrf_token": csrf_token(client, "/login/" if who is None else "/")}
        answer = client.get(url) if method == "get" else client.post(url, data=data)
        assert answer.status_code in (302, 403), (url, answer.status_code)
        if answer.status_code == 302:
            assert "/login" in answer.location or answer.location.endswith("/"), answer.location
    assert _count(database, LedgerImport) == 0


def test_each_administrator_reconciles_its_own_scope(database, login_as, ledger, uni):
    _commit(database, ledger["data"])
    lab = login_as("lab_admin").get("/api/v1/reconciliation/", query_string={"kind": "candidates"}).json
    assert [c["asset_number"] for c in lab["result"]] == ["LG-L11-0001"] and lab["ledger_imported"] is True
    other = login_as("lab2_admin").get("/api/v1/reconciliation/", query_string={"kind": "candidates"}).json
    assert [c["asset_number"] for c in other["result"]] == ["LG-L21-0001"]
    college = login_as("college_admin").get("/api/v1/reconciliation/", query_string={"kind": "candidates"}).json
    assert [c["asset_number"] for c in college["result"]] == ["LG-L11-0001"]
    school = login_as("school_admin").get("/api/v1/reconciliation/", query_string={"kind": "candidates"}).json
    assert sorted(c["asset_number"] for c in school["result"]) == ["LG-L11-0001", "LG-L21-0001"]
    mismatches = login_as("lab_admin").get("/api/v1/reconciliation/", query_string={"kind": "mismatches"}).json
    assert [(m["instrument_id"], m["field"], m["platform"], m["ledger"]) for m in mismatches["result"]] == [
        (ledger["own_id"], "model", "型号甲", "型号乙")]
    assert login_as("lab2_admin").get("/api/v1/reconciliation/", query_string={"kind": "mismatches"}).json["count"] == 0
    bad = login_as("lab_admin").get("/api/v1/reconciliation/", query_string={"kind": "everything"})
    assert bad.status_code == 422 and "candidates" in bad.json["message"]["kind"]
    assert login_as("service_user").get("/api/v1/reconciliation/", query_string={"kind": "candidates"}).status_code == 403
    assert login_as("service_user").get("/api/v1/compliance/deadlines/").status_code == 403


def test_a_candidate_becomes_a_draft_record_in_a_lab_of_ones_scope(database, login_as, ledger, uni):
    _commit(database, ledger["data"])
    with database() as session:
        entries = dict(session.execute(sa.select(LedgerEntry.asset_number, LedgerEntry.id)).all())
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/reconciliation/?tab=mismatches")
    # another lab's entry, or one's own entry drafted into another lab: not reached
    assert lab.post("/api/v1/reconciliation/draft", json={"entry_id": entries["LG-L21-0001"], "unit_id": uni.l11},
                    headers={"X-CSRFToken": token}).status_code == 404
    refused = lab.post("/api/v1/reconciliation/draft", json={"entry_id": entries["LG-L11-0001"], "unit_id": uni.l21},
                       headers={"X-CSRFToken": token})
    assert refused.status_code == 422
    answer = lab.post("/reconciliation/draft", data={"csrf_token": token, "entry_id": entries["LG-L11-0001"],
                                                     "unit_id": uni.l11})
    assert answer.status_code == 302 and "/instrumentview/edit/" in answer.location
    with database() as session:
        record = session.execute(sa.select(Instrument).filter_by(asset_number="LG-L11-0001")).scalar_one()
        assert (record.unit_id, record.name, record.model, record.original_value, record.acceptance_date.isoformat(),
                record.networked, record.bookable) == (uni.l11, "流式细胞仪", "FC-1", 420000, "2026-10-20", False, False)
        record_id = record.id
    again = lab.post("/api/v1/reconciliation/draft", json={"entry_id": entries["LG-L11-0001"], "unit_id": uni.l11},
                     headers={"X-CSRFToken": token})
    assert again.status_code == 422 and "已在平台" in str(again.json["message"])
    # no longer a candidate; due on the provincial platform 30 working days after 2026-10-20 (国庆 is before it)
    assert lab.get("/api/v1/reconciliation/", query_string={"kind": "candidates"}).json["count"] == 0
    due = [d for d in lab.get("/api/v1/compliance/deadlines/").json["result"] if d["record"] == record_id]
    assert due == [{"kind": "networking", "record": record_id, "record_type": "instrument",
                    "label": "流式细胞仪（LG-L11-0001）", "unit_id": uni.l11, "due": "2026-12-01",
                    "overdue": clock.today() > date(2026, 12, 1), "due_today": clock.today() == date(2026, 12, 1),
                    "official": True, "period": None}]
    assert record_id not in {d["record"] for d in login_as("lab2_admin").get("/api/v1/compliance/deadlines/").json["result"]}


def test_a_mismatch_is_accepted_by_the_records_lab_only(database, login_as, ledger, uni):
    _commit(database, ledger["data"])
    other = login_as("lab2_admin")
    assert other.post("/api/v1/reconciliation/accept", json={"instrument_id": ledger["own_id"], "field": "model"},
                      headers={"X-CSRFToken": csrf_token(other, "/reconciliation/")}).status_code == 404
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/reconciliation/?tab=mismatches")
    assert lab.post("/reconciliation/accept", data={"instrument_id": ledger["own_id"], "field": "model"}).status_code == 400
    assert lab.post("/reconciliation/accept", data={"csrf_token": token, "instrument_id": ledger["own_id"],
                                                    "field": "model"}).status_code == 302
    with database() as session:
        assert session.get(Instrument, ledger["own_id"]).model == "型号乙"
    nothing_left = lab.post("/api/v1/reconciliation/accept", json={"instrument_id": ledger["own_id"], "field": "model"},
                            headers={"X-CSRFToken": token})
    assert nothing_left.status_code == 422


def test_the_workspace_shows_each_tab(database, login_as, ledger, uni):
    _commit(database, ledger["data"])
    client = login_as("lab_admin")
    with database() as session:
        not_in_ledger = session.get(Instrument, uni.inst_l11).asset_number
    for tab, expected in (("candidates", "LG-L11-0001"), ("mismatches", "型号乙"), ("missing", not_in_ledger),
                          ("deadlines", "入网截止日期")):
        html = client.get("/reconciliation/", query_string={"tab": tab}).get_data(as_text=True)
        assert expected in html, tab
        assert "LG-L21-0001" not in html


def _messages(database, username, kind):
    with database() as session:
        return session.execute(sa.select(Message.subject, Message.body, Message.link).join(
            PlatformUser, PlatformUser.id == Message.recipient_id).where(
            PlatformUser.username == username, Message.kind == kind).order_by(Message.id)).all()


def test_a_lab_is_told_what_lands_on_its_list(database, login_as, ledger, uni):
    _commit(database, ledger["data"])
    (told,) = _messages(database, "lab_admin", "ledger_imported")
    assert "1 台应入尽入" in told.body and "1 处台账与平台记录不一致" in told.body and told.link == "/reconciliation/"
    assert "1 台应入尽入" in _messages(database, "lab2_admin", "ledger_imported")[0].body
    with database() as session:
        entries = dict(session.execute(sa.select(LedgerEntry.asset_number, LedgerEntry.id)).all())
    lab = login_as("lab_admin")  # the lab drafting its own candidate is not told what it did
    lab.post("/reconciliation/draft", data={"csrf_token": csrf_token(lab, "/reconciliation/"),
                                            "entry_id": entries["LG-L11-0001"], "unit_id": uni.l11})
    assert _messages(database, "lab_admin", "record_drafted") == []
    school = login_as("school_admin")
    school.post("/reconciliation/draft", data={"csrf_token": csrf_token(school, "/reconciliation/"),
                                               "entry_id": entries["LG-L21-0001"], "unit_id": uni.l21})
    (drafted,) = _messages(database, "lab2_admin", "record_drafted")
    assert "LG-L21-0001" in drafted.subject and drafted.link.startswith("/instrumentview/edit/")


def test_annex1_row1_counts_the_ledgers_candidates(app, database, ledger, tmp_path):
    from .report_files import rows_of, run_report, worksheets

    def annex():
        result, content = run_report(app, tmp_path, "annex1", "--year", "2026", "--unit", "C1")
        assert result.exit_code == 0, result.output
        return {title: rows_of(ws) for title, ws in worksheets(content).items()}

    before = next(r for r in annex()["附件1"] if r[0] == 1)
    _commit(database, ledger["data"])
    sheets = annex()
    after = next(r for r in sheets["附件1"] if r[0] == 1)
    assert "台账中另有 1 台套应纳入的设备尚未在平台登记" in after[5] and "台账中另有" not in str(before[5])
    due = [int(re.search(r"应纳入省共享平台科研仪器设备 (\d+) 台套", row[4]).group(1)) for row in (before, after)]
    assert due[1] == due[0] + 1
    assert ["LG-L11-0001", "流式细胞仪", "资产台账中有、平台尚无记录"] in [[r[3], r[4], r[7]] for r in sheets["未入网设备"]]
