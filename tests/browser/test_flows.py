"""The real flows in Chromium, each as the account that does it (issue 11, item 3)."""
import json
import time
import uuid

import openpyxl
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa

from app import clock
from paho.mqtt.enums import CallbackAPIVersion

from app.models import FeeStandard, Instrument
from app.models.user import PlatformUser

# what each demo account's menu holds: category → entries, in the order shown ("" = a top-level entry)
_RESOURCES = ["科研设施和仪器", "不适合开放共享备案", "收费标准管理"]
_ORG = ["组织单位", "科技创新平台"]
_STAFF = ["人员", "培训"]
_IOT = ["物联网终端", "被拒收的终端消息", "插座指令"]
_REPORTS = ["报表下载", "年度成本登记", "典型案例"]
_BOOKING = ["待答复预约", "今日安排", "预约记录", "使用记录", "费用单", "对账单", "服务评价", "上机资格", "预约规则",
            "开放时间", "停用安排", "服务合同", "查找空闲仪器"]
_CUSTOMERS = ["服务用户", "注册审核", "用户单位"]
_COMPLIANCE = ["账实核对（资产台账）", "联系方式核实记录", "月度自查"]
MENUS = {
    "school_admin": {"系统安全": ["用户列表", "角色列表", "后台任务故障"], "仪器设施": _RESOURCES, "组织机构": _ORG,
                     "人员与培训": _STAFF, "物联网": _IOT, "报表": _REPORTS + ["年度考核"], "预约服务": _BOOKING,
                     "服务用户": _CUSTOMERS, "信息维护与合规": ["资产台账导入", "台账使用部门对应", "台账列对应关系", *_COMPLIANCE],
                     "": ["收费标准公示"]},
    "college_admin": {"仪器设施": _RESOURCES, "组织机构": _ORG, "人员与培训": _STAFF, "物联网": _IOT,
                      "报表": _REPORTS + ["年度考核"], "预约服务": _BOOKING, "服务用户": _CUSTOMERS,
                      "信息维护与合规": _COMPLIANCE, "": ["收费标准公示"]},
    "lab_admin": {"仪器设施": _RESOURCES, "组织机构": _ORG, "人员与培训": _STAFF, "物联网": _IOT, "报表": _REPORTS,
                  "预约服务": _BOOKING, "服务用户": ["服务用户", "用户单位"], "信息维护与合规": _COMPLIANCE,
                  "": ["收费标准公示"]},
    "service_user": {"我的服务": ["我的预约", "我的上机资格", "我的使用记录", "我的费用", "我的对账单", "我的评价", "我的合同",
                              "查找空闲仪器"], "": ["收费标准公示"]},
}
READ_MENU = """() => {
  const menu = {};
  for (const li of document.querySelectorAll('.navbar-nav:not(.navbar-right) > li')) {
    const toggle = li.querySelector(':scope > a.dropdown-toggle');
    if (toggle) {
      menu[toggle.textContent.trim()] = [...li.querySelectorAll('.dropdown-menu a')].map(a => a.textContent.trim());
    } else {
      (menu[''] = menu[''] || []).push(li.querySelector('a').textContent.trim());
    }
  }
  return menu;
}"""


@pytest.fixture(scope="module")
def demo_db(stack):
    """The demo database, read directly to pick the records a flow works on."""
    engine = sa.create_engine(stack.demo_url)
    yield engine
    engine.dispose()


def lab_of(engine, username):
    with engine.connect() as conn:
        return conn.execute(sa.select(PlatformUser.unit_id).where(PlatformUser.username == username)).scalar_one()


@pytest.mark.parametrize("account", list(MENUS))
def test_each_account_sees_exactly_its_menu(ui, account):
    ui.login(account)
    ui.page.wait_for_selector(".navbar")
    assert ui.page.evaluate(READ_MENU) == MENUS[account]
    toggles = ui.page.locator(".navbar-nav:not(.navbar-right) > li > a.dropdown-toggle")
    if toggles.count():
        toggles.first.click()  # one menu open in the picture
    ui.step(f"menu-{account}")


def test_anonymous_visitor_sees_only_the_public_menu(ui):
    ui.goto("/")
    assert ui.page.evaluate(READ_MENU) == {"": ["收费标准公示"]}
    assert ui.page.context.cookies() == []  # no session cookie before signing in
    ui.step("anonymous-home")


def _instrument_without_fees(engine, lab_id):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(Instrument.id, Instrument.name).where(
                Instrument.unit_id == lab_id, Instrument.sharing_status != "unsuitable", Instrument.run_status != "scrapped",
                ~sa.exists(sa.select(FeeStandard.id).where(FeeStandard.instrument_id == Instrument.id)))
            .order_by(Instrument.id).limit(1)).one()


def _flash(ui):
    return " ".join(ui.page.locator(".alert").all_inner_texts())


def test_a_fee_standard_from_draft_to_the_public_page(ui, demo_db):
    engine = demo_db
    instrument_id, name = _instrument_without_fees(engine, lab_of(engine, "lab_admin"))
    page = ui.page
    # the lab drafts it
    ui.login("lab_admin")
    ui.goto("/feestandardview/add")
    page.select_option("select#instrument", str(instrument_id), force=True)
    # typed key by key, as a person does: the date picker reads its field on each key (a pasted-in
    # value that no key event announced is cleared when the picker closes)
    page.locator("#effective_from").press_sequentially(clock.today().replace(month=1, day=1).isoformat())
    assert f"{clock.today().year}年01月" in page.locator(".datepicker").inner_text()  # Chinese, on the typed month
    ui.step("lab-types-the-date")
    page.keyboard.press("Escape")
    page.fill("#pricing_method", "按机时计费，成本补偿、非营利。")
    page.fill("#justification", "对外服务含出具检测报告与技术人员全程值守，成本高于校内服务。")
    ui.step("lab-drafts")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    with engine.connect() as conn:
        standard_id = conn.execute(sa.select(FeeStandard.id).where(FeeStandard.instrument_id == instrument_id)).scalar_one()
    # an item and its on-campus and enterprise prices
    ui.goto(f"/feeitemview/add?_flt_0_standard={standard_id}")  # the standard's "add item" (the standard is set)
    page.fill("#name", "机时")
    page.fill("#billing_unit", "小时")
    page.fill("#cost_basis", "180")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    with engine.connect() as conn:
        item_id = conn.execute(sa.text("SELECT id FROM fee_item WHERE standard_id = :s"), {"s": standard_id}).scalar_one()
    for category, price, reason in (("campus", "190", ""), ("enterprise", "260", "对外服务含报告出具")):
        ui.goto(f"/feepriceview/add?_flt_0_item={item_id}")  # the item's "add price"
        page.select_option("select#customer_category", category, force=True)
        page.fill("#tier_min", "0")
        page.fill("#unit_price", price)
        if reason:
            page.fill("#difference_reason", reason)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
    ui.goto(f"/feestandardview/show/{standard_id}")
    ui.step("lab-draft-with-prices")
    page.click("form.fee-step button:has-text('提交院级审核')")
    page.wait_for_load_state("networkidle")
    assert "已完成" in _flash(ui), _flash(ui)
    ui.step("lab-submitted")
    ui.logout()
    # the college approves, the school approves and publishes
    for account, button in (("college_admin", "院级审核通过"), ("school_admin", "校级审批并发布")):
        ui.login(account)
        ui.goto(f"/feestandardview/show/{standard_id}")
        page.click(f"form.fee-step button:has-text('{button}')")
        page.wait_for_load_state("networkidle")
        assert "已完成" in _flash(ui), (account, _flash(ui))
        ui.step(f"{account}-approved")
        ui.logout()
    # an anonymous visitor finds it in the catalogue and on the instrument's page
    page.context.clear_cookies()
    ui.goto(f"/public/fees?q={name}")
    link = page.locator(f"a[href$='/public/instruments/{instrument_id}']")
    assert link.inner_text() == name
    ui.step("public-catalogue")
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/public/instruments/{instrument_id}")
    table = page.locator("body").inner_text()
    assert "机时" in table and "190.00 元" in table and "260.00 元" in table and "对外服务含报告出具" in table
    ui.step("public-instrument-page")


def test_a_report_export_shows_its_progress_and_downloads(ui, tmp_path):
    page = ui.page
    ui.login("school_admin")
    ui.goto("/reports/")
    page.select_option("#report-name", "annual")
    page.select_option("#report-year", str(clock.today().year - 1))
    with page.expect_download(timeout=120_000) as download:
        page.click("#report-form button[type=submit]")
        page.wait_for_selector("#report-progress:not([hidden])")
        ui.step("export-started")
    page.wait_for_function("document.querySelector('.report-progress-text').textContent.startsWith('已生成并保存')")
    assert "progress-bar-success" in page.get_attribute("#report-progress .progress-bar", "class")
    # the bar has grown to the whole width (it slides there)
    page.wait_for_function("""() => { const bar = document.querySelector('#report-progress .progress-bar');
        return bar.getBoundingClientRect().width >= bar.parentElement.getBoundingClientRect().width - 1; }""")
    ui.step("export-done")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert download.value.suggested_filename == f"科研设施和仪器开放共享年度运行报告_湖南示范大学_{clock.today().year - 1}.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["分仪器", "单位合计"] and book.worksheets[0]["A1"].value == (
        f"{clock.today().year - 1}年度科研设施和仪器开放共享运行情况（分仪器）")


def _publish(url, topic, payload):
    host, port = url.removeprefix("mqtt://").split(":")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"browser-suite-pub-{uuid.uuid4().hex[:8]}")
    client.connect(host, int(port))
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_terminal_status_over_mqtt_changes_the_badge(ui, stack, demo_db):
    engine = demo_db
    with engine.connect() as conn:
        instrument_id, name, terminal = conn.execute(
            sa.select(Instrument.id, Instrument.name, Instrument.iot_terminal_id)
            .where(Instrument.unit_id == lab_of(engine, "lab_admin"), Instrument.iot_terminal_id.isnot(None))
            .order_by(Instrument.id).limit(1)).one()
    ui.login("lab_admin")
    row = ui.page.locator(f"tr:has(a[href*='/instrumentview/show/{instrument_id}'])")

    def badge():
        ui.goto("/instrumentview/list/?psize_InstrumentView=100")
        return row.locator(".label").all_inner_texts()

    before = badge()
    ui.step("badge-before")
    state, label = ("fault", "故障") if before != ["故障"] else ("idle", "空闲")
    _publish(stack.mqtt_url, f"instruments/{terminal}/status",
             json.dumps({"state": state, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
    deadline = time.monotonic() + 30
    while badge() != [label]:
        assert time.monotonic() < deadline, f"{name}: badge still {badge()}, bridge log: {stack.bridge.text()[-1500:]}"
        time.sleep(0.5)
    ui.step("badge-after")


def test_a_cross_scope_url_answers_the_chinese_404_page(ui, demo_db):
    engine = demo_db
    lab_id = lab_of(engine, "lab_admin")
    with engine.connect() as conn:
        foreign = conn.execute(sa.select(Instrument.id).where(Instrument.unit_id != lab_id).order_by(Instrument.id).limit(1)).scalar_one()
    ui.login("lab_admin")
    url = f"/instrumentview/show/{foreign}"
    ui.allow(url)  # this answer is meant to be a 404
    response = ui.goto(url)
    assert response.status == 404
    body = ui.page.locator("body").inner_text()
    assert "未找到" in body and "该页面或记录不存在，或不在您的管理范围内。" in body, body[:500]
    assert "Not Found" not in body
    ui.step("cross-scope-404")
