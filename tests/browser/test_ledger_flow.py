"""清查建账 in Chromium (issue 23): `school_admin` downloads the demo university's ledger from the import screen,
dry-runs it, then commits it; `lab_admin` finds its lab's candidate, drafts the record, completes it and puts it on
the provincial platform, and takes the ledger's model of a mismatched record; 附件1 of the lab counts the ledger's
candidate among the instruments owed, and once networked among those on the platform. Against the demo served by gunicorn."""
import io
import re
from datetime import timedelta

import openpyxl
import sqlalchemy as sa

from app import clock
from app.models import Instrument, LedgerEntry, LedgerImport
from app.seed.ledger import NOT_ON_THE_PLATFORM
from app.services.workdays import WorkCalendar

from .test_flows import _flash, demo_db, lab_of  # noqa: F401  (demo_db: the fixture)

CANDIDATE = NOT_ON_THE_PLATFORM[0][0]  # the demo lab's 流式细胞仪


def _annex1(ui, lab_id):
    """附件1 of the lab, its first sheet as text."""
    answer = ui.page.request.get(f"/reports/download?name=annex1&year={clock.today().year}&unit={lab_id}")
    assert answer.ok, answer.status
    sheet = openpyxl.load_workbook(io.BytesIO(answer.body())).worksheets[0]
    return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)


def _annex1_row1(ui, lab_id):
    """附件1's first finding for the lab: (must be networked, networked)."""
    due, done = re.search(r"应纳入省共享平台科研仪器设备 (\d+) 台套，已纳入 (\d+) 台套", _annex1(ui, lab_id)).groups()
    return int(due), int(done)


def _networked_contact_to_verify(engine, lab_id):
    """A networked record of the lab whose published phone is due for a call (not found reachable in 92 days)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(Instrument.id, Instrument.asset_number).where(
            Instrument.unit_id == lab_id, Instrument.networked.is_(True), Instrument.contact_phone.is_not(None),
            Instrument.contact_phone != "", sa.or_(Instrument.contact_verified_on.is_(None),
                                                   Instrument.contact_verified_on < clock.today() - timedelta(days=92)))
            .order_by(Instrument.id).limit(1)).one()


def test_the_school_imports_the_demo_ledger_and_the_lab_works_through_it(ui, demo_db, tmp_path):
    engine, page = demo_db, ui.page
    lab_id = lab_of(engine, "lab_admin")

    # school_admin: the demo's ledger, downloaded from the import screen, dry-run, then committed
    ui.login("school_admin")
    ui.goto("/ledger/")
    ui.step("school-admin-opens-the-import-screen")
    with page.expect_download() as download:
        page.click("a.ledger-demo")
    path = tmp_path / "示范大学资产台账.xlsx"
    download.value.save_as(path)
    page.set_input_files("#ledger-file", str(path))
    page.click("button.ledger-dry-run")
    page.wait_for_load_state("networkidle")
    summary = {name: page.locator(f".ledger-{name}").inner_text() for name in
               ("refused", "candidates", "missing", "mismatches", "removed")}
    assert summary == {"refused": "0", "candidates": "3", "missing": "2", "mismatches": "4", "removed": "0"}, summary
    assert "凝聚态物理实验室（本部）" in page.locator(".ledger-unmapped").inner_text()
    ui.step("school-admin-sees-the-dry-run")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar() == 0
    page.click("button.ledger-commit")
    page.wait_for_load_state("networkidle")
    assert "台账已导入" in _flash(ui) and page.url.endswith("/reconciliation/"), _flash(ui)
    assert page.locator(".reconciliation-count-candidates").inner_text() == "3"
    ui.step("school-admin-sees-the-reconciliation")
    with engine.connect() as conn:
        assert conn.execute(sa.select(LedgerImport.created)).scalar_one() == 423
    ui.logout()

    # lab_admin: its candidate becomes a draft record, completed and networked
    ui.login("lab_admin")
    before = _annex1_row1(ui, lab_id)
    ui.goto("/reconciliation/")
    row = page.locator("table.reconciliation-candidates tr", has_text=CANDIDATE)
    assert page.locator(".reconciliation-count-candidates").inner_text() == "1"
    ui.step("lab-admin-sees-its-candidate")
    row.locator("button.reconciliation-draft").click()
    page.wait_for_load_state("networkidle")
    assert "/instrumentview/edit/" in page.url and "待完善记录" in _flash(ui), _flash(ui)
    record_id = int(re.search(r"/instrumentview/edit/(\d+)", page.url).group(1))
    assert page.locator("#model").input_value() == "CytoFLEX S"
    ui.step("lab-admin-opens-the-draft")
    page.fill("#technical_indicators", "激光器 488 nm / 638 nm；荧光通道 13 色；最低检测 30 MESF")
    page.fill("#main_functions", "细胞表型分析、细胞周期与凋亡检测")
    page.fill("#service_scope", "校内外开放，提供委托测试")
    page.fill("#contact_phone", "0731-88880123")
    page.fill("#contact_email", "facs@hnu-demo.edu.cn")
    page.check("#networked")
    page.fill("#provincial_ref", f"HN-{clock.today().year}-FACS01")
    page.fill("#networked_on", clock.today().isoformat())
    page.click("button[type=submit]:has-text('保存')")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url and "danger" not in (page.locator(".alert").first.get_attribute("class") or ""), \
        _flash(ui)
    ui.step("lab-admin-completed-the-record")
    with engine.connect() as conn:
        networked, indicators = conn.execute(sa.select(Instrument.networked, Instrument.technical_indicators)
                                             .where(Instrument.id == record_id)).one()
    assert networked and indicators.startswith("激光器")

    # the ledger's model of the demo lab's mismatched record, taken
    ui.goto("/reconciliation/?tab=mismatches")
    mismatch = page.locator("table.reconciliation-mismatches tr", has_text="-II")
    ui.step("lab-admin-sees-the-mismatch")
    mismatch.locator("button.reconciliation-accept").click()
    page.wait_for_load_state("networkidle")
    assert "已将台账中的型号规格写入" in _flash(ui), _flash(ui)
    assert page.locator(".reconciliation-count-mismatches").inner_text() == "0"
    ui.step("lab-admin-accepted-the-ledger-model")

    # the demo lab's record changed nine days ago and not sent since: overdue on its 5-working-day clock
    ui.goto("/reconciliation/?tab=changes")
    assert page.locator("table.reconciliation-changes .label-danger").count() >= 1
    ui.step("lab-admin-sees-the-change-overdue")

    # 附件1: the instrument owed was counted from the ledger before it had a record (a candidate); now it is networked
    due, done = _annex1_row1(ui, lab_id)
    assert (due, done) == (before[0], before[1] + 1), (before, (due, done))

    # a networked record's phone, called: 空号; its correction is due in 5 working days, and 附件1 says so
    _called_id, number = _networked_contact_to_verify(engine, lab_id)
    assert "电话核实为空号" not in _annex1(ui, lab_id)
    ui.goto("/reconciliation/?tab=verify")
    form = page.locator("table.reconciliation-verify tr", has_text=number).locator("form.reconciliation-call")
    form.locator("select[name=result]").select_option("vacant")
    form.locator("input[name=note]").fill("拨打提示空号")
    ui.step("lab-admin-calls-a-published-contact")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "已登记" in _flash(ui), _flash(ui)
    ui.goto("/reconciliation/?tab=corrections")
    correction = page.locator("table.reconciliation-corrections tr", has_text=number)
    assert correction.count() == 1
    assert correction.locator(".reconciliation-due").inner_text() == \
        WorkCalendar().add_working_days(clock.today(), 5).day.isoformat()
    ui.step("lab-admin-sees-the-correction-due")
    assert "电话核实为空号 1" in _annex1(ui, lab_id)
