"""The monthly self-check in Chromium (issue 23, item 4): `lab_admin` opens last month's check, which the college
returned with remarks, corrects one record's location on its own form, goes through every networked record (the
corrected one shows its location corrected) and signs the check off again; `college_admin` approves it in the
quarter's review; 附件1 of the lab says what the year's checks corrected. Against the demo served by gunicorn."""
import io
from datetime import timedelta

import openpyxl
import sqlalchemy as sa

from app import clock
from app.models import CheckRecord, Unit
from app.seed.upkeep import RETURN_REMARKS
from app.services.upkeep.self_checks import month_of, quarter_of

from .test_flows import _flash, demo_db, lab_of  # noqa: F401  (demo_db: the fixture)


def _state(engine, lab_id, period):
    with engine.connect() as conn:
        return conn.execute(sa.select(CheckRecord.state).where(
            CheckRecord.unit_id == lab_id, CheckRecord.kind == "monthly", CheckRecord.period == period)).scalar()


def test_the_lab_reworks_a_returned_self_check_and_the_college_approves_it(ui, demo_db):
    engine, page = demo_db, ui.page
    lab_id = lab_of(engine, "lab_admin")
    with engine.connect() as conn:
        college_id, lab_name = conn.execute(sa.select(Unit.parent_id, Unit.name).where(Unit.id == lab_id)).one()
    last = month_of(clock.today().replace(day=1) - timedelta(days=1))
    assert _state(engine, lab_id, last) == "returned"

    ui.login("lab_admin")
    check_page = f"/selfcheck/?lab={lab_id}&period={last}"
    ui.goto(check_page)
    assert RETURN_REMARKS in page.locator(".selfcheck-remarks").inner_text()
    ui.step("lab-admin-sees-the-returned-check")
    page.locator("table.selfcheck-records tbody tr").first.locator("a:has-text('更正信息')").click()
    page.wait_for_load_state("networkidle")
    page.fill("#location", "化学楼A区201室（自查更正）")
    ui.step("lab-admin-corrects-a-location")
    page.click("button[type=submit]:has-text('保存')")
    page.wait_for_load_state("networkidle")
    assert "danger" not in (page.locator(".alert").first.get_attribute("class") or ""), _flash(ui)

    ui.goto(check_page)
    rows = page.locator("table.selfcheck-records tbody tr")
    for i in range(rows.count()):
        rows.nth(i).locator("button.selfcheck-confirm").click()
        page.wait_for_load_state("networkidle")
    first = page.locator("table.selfcheck-records tbody tr").first.locator(".selfcheck-item").inner_text()
    assert "安放地址：已更正" in first and "运行状态：已确认" in first, first
    assert page.locator("table.selfcheck-records tbody tr").first.locator(".label-warning").count() == 1
    ui.step("lab-admin-went-through-every-record")
    page.fill(".selfcheck-sign textarea[name=findings]", "已更正一台仪器的安放地址，其余逐台核对无误。")
    page.click(".selfcheck-sign button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已签认" in _flash(ui) and page.locator(".selfcheck-state").inner_text() == "已签认", _flash(ui)
    ui.step("lab-admin-signed-the-check-off")
    ui.logout()

    ui.login("college_admin")
    ui.goto(f"/selfcheck/review?unit={college_id}&quarter={quarter_of(last)}")
    row = page.locator("table.review-checks tr", has_text=lab_name)
    ui.step("college-admin-reviews-the-quarter")
    row.locator("button.review-approve").click()
    page.wait_for_load_state("networkidle")
    assert _state(engine, lab_id, last) == "approved"
    assert "已通过" in page.locator("table.review-checks tr", has_text=lab_name).inner_text()
    ui.step("college-admin-approved-the-check")
    answer = page.request.get(f"/reports/download?name=annex1&year={last[:4]}&unit={lab_id}")  # the check's year
    assert answer.ok, answer.status
    sheet = openpyxl.load_workbook(io.BytesIO(answer.body())).worksheets[0]
    row5 = next(r for r in sheet.iter_rows(values_only=True) if r[0] == 5)
    assert "自查中更正：" in row5[4] and "安放地址 1 项" in row5[4], row5[4]
