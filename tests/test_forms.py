"""Bad input (issue 2): each form refuses with a Chinese message beside the field and saves nothing."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ChangeLog, Instrument, Person, Unit

from .conftest import csrf_token
from .test_scope import count, instrument_form


def field_error(html, field_id):
    """The error text rendered beside one field (FAB puts it in the field's table cell)."""
    start = html.index(f'id="{field_id}"')
    cell = html[start: html.index("</td>", start)]
    m = re.search(r'alert-danger">(.*?)</div>', cell, re.S)
    return m.group(1).strip() if m else ""


BAD_INSTRUMENT = [
    ("original_value", {"original_value": "-5"}, "金额不能为负数"),
    ("acceptance_date", {"purchase_date": "2024-05-01", "acceptance_date": "2024-04-30"}, "验收日期不能早于购置日期"),
    ("class_code", {"class_code": "999999"}, "分类代码不存在"),
    ("contact_phone", {"contact_phone": "12345"}, "请输入手机号码或带区号的固定电话"),
    # the old pattern accepted any 1[3-9] prefix; no operator assigns 154
    ("contact_phone", {"contact_phone": "15412345678"}, "请输入手机号码或带区号的固定电话"),
    ("contact_email", {"contact_email": "not-an-email"}, "请输入有效的电子邮箱"),
    ("asset_number", {"asset_number": "ZC-DUPLICATE"}, "该资产编号已登记"),
]


@pytest.mark.parametrize("field,change,message", BAD_INSTRUMENT, ids=[b[0] for b in BAD_INSTRUMENT])
def test_instrument_form_refuses_bad_values(app, uni, login_as, field, change, message):
    with app.app_context():
        db.session.get(Instrument, uni.inst_l12).asset_number = "ZC-DUPLICATE"
        db.session.commit()
        db.session.remove()
    client = login_as("lab_admin")
    token = csrf_token(client, "/instrumentview/add")
    before = count(app, Instrument)
    data = {**instrument_form(uni.l11, asset_number="ZC-BAD-0001", name="坏数据仪器"), **change, "csrf_token": token}
    resp = client.post("/instrumentview/add", data=data)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert message in field_error(html, field), field_error(html, field)
    assert count(app, Instrument) == before
    # what the user typed is still in the form, not lost
    assert 'value="坏数据仪器"' in html


@pytest.mark.parametrize("phone", ["0731-88880000", "0731-88988715-123", "0731-88988715转123", "13800138000"])
def test_valid_instrument_is_saved(app, uni, login_as, phone):
    """Positive control for the bad-input cases above; a landline keeps its extension."""
    client = login_as("lab_admin")
    token = csrf_token(client, "/instrumentview/add")
    before = count(app, Instrument)
    form = instrument_form(uni.l11, asset_number="ZC-GOOD-0001", name="合格仪器", contact_phone=phone)
    resp = client.post("/instrumentview/add", data={**form, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    assert count(app, Instrument) == before + 1
    with app.app_context():
        item = db.session.execute(sa.select(Instrument).filter_by(asset_number="ZC-GOOD-0001")).scalar_one()
        assert item.unit_id == uni.l11 and str(item.original_value) == "400000.00"
        assert item.contact_phone == phone
        db.session.delete(item)
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("field,value,message", [
    ("mobile", "1380013800", "请输入11位大陆手机号码"),
    ("mobile", "23800138000", "请输入11位大陆手机号码"),
    # 154… and 140… pass the old 1[3-9] pattern; no operator assigns them
    ("mobile", "15412345678", "请输入11位大陆手机号码"),
    ("mobile", "14012345678", "请输入11位大陆手机号码"),
    ("mobile", "0731-88880000", "请输入11位大陆手机号码"),
    ("email", "zhang@", "请输入有效的电子邮箱"),
])
def test_person_form_refuses_bad_contacts(app, uni, login_as, field, value, message):
    client = login_as("lab_admin")
    token = csrf_token(client, "/personview/add")
    before = count(app, Person)
    data = {"csrf_token": token, "name": "新同事", "unit": uni.l11, "duty": "technician", "mobile": "13800138000",
            "email": "a@b.cn", field: value}
    resp = client.post("/personview/add", data=data)
    assert message in field_error(resp.get_data(as_text=True), field)
    assert count(app, Person) == before


def test_api_refuses_bad_values_with_chinese_messages(app, uni, client):
    from .test_scope import jwt_headers

    headers = jwt_headers(client, "lab_admin")
    before = count(app, Instrument)
    payload = {"asset_number": "ZC-API-BAD", "name": "接口坏数据", "original_value": -1, "unit": uni.l11, "kind": "instrument",
               "funding_source": "fiscal_full", "run_status": "normal", "sharing_status": "external",
               "purchase_date": "2024-05-01", "acceptance_date": "2024-01-01", "contact_email": "bad"}
    resp = client.post("/api/v1/instrument/", json=payload, headers=headers)
    assert resp.status_code == 422
    messages = resp.json["message"]
    assert "金额不能为负数" in messages["original_value"]
    assert "验收日期不能早于购置日期" in messages["acceptance_date"]
    assert "请输入有效的电子邮箱" in messages["contact_email"]
    assert count(app, Instrument) == before


@pytest.mark.parametrize("level,parent,message", [
    ("lab", "school", "实验室须隶属于学院"),
    ("college", "c1", "实验室须隶属于学院"),
])
def test_unit_placement_rules(app, uni, login_as, level, parent, message):
    client = login_as("school_admin")
    token = csrf_token(client, "/unitview/add")
    before = count(app, Unit)
    resp = client.post("/unitview/add", data={"csrf_token": token, "code": "NEW-1", "name": "新单位", "level": level,
                                              "parent": getattr(uni, parent)})
    assert message in field_error(resp.get_data(as_text=True), "parent")
    assert count(app, Unit) == before


def test_unit_cannot_move_under_its_own_descendant(app, uni, login_as):
    """The cycle rule, not the level rule, answers: a college under its own lab would break both,
    and the message must name the real mistake."""
    client = login_as("school_admin")
    token = csrf_token(client, f"/unitview/edit/{uni.c1}")
    resp = client.post(f"/unitview/edit/{uni.c1}", data={"csrf_token": token, "code": "C1", "name": "化学学院", "level": "college",
                                                         "parent": uni.l11})
    assert "单位不能隶属于自身或其下级单位" in field_error(resp.get_data(as_text=True), "parent")
    with app.app_context():
        assert db.session.get(Unit, uni.c1).parent_id == uni.school
        db.session.remove()


def test_moving_a_lab_moves_its_scope(app, uni, login_as):
    """The materialised path follows a move, so scope follows the tree."""
    client = login_as("school_admin")
    token = csrf_token(client, f"/unitview/edit/{uni.l12}")
    resp = client.post(f"/unitview/edit/{uni.l12}", data={"csrf_token": token, "code": "C1-L2", "name": "材料实验室", "level": "lab",
                                                          "parent": uni.c2})
    assert resp.status_code == 302
    try:
        college = login_as("college_admin")
        assert college.get(f"/instrumentview/show/{uni.inst_l12}").status_code == 404
    finally:
        with app.app_context():
            unit = db.session.get(Unit, uni.l12)
            unit.parent_id = uni.c1
            db.session.commit()
            assert db.session.get(Unit, uni.l12).path == db.session.get(Unit, uni.c1).path + f"{uni.l12}/"
            db.session.remove()


def test_change_log_records_who_when_what(app, uni, login_as):
    client = login_as("lab_admin")
    pk = uni.inst_l11
    page = client.get(f"/instrumentview/edit/{pk}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    with app.app_context():
        item = db.session.get(Instrument, pk)
        form = instrument_form(uni.l11, asset_number=item.asset_number, name=item.name, location="理科楼202室", original_value="860000")
        db.session.remove()
    resp = client.post(f"/instrumentview/edit/{pk}", data={**form, "csrf_token": token})
    assert resp.status_code == 302
    with app.app_context():
        rows = db.session.execute(
            sa.select(ChangeLog).filter_by(table_name="instrument", record_id=pk).order_by(ChangeLog.id)
        ).scalars().all()
        changes = {r.field: (r.old_value, r.new_value, r.changed_by.username) for r in rows}
        assert changes["location"] == ("理科楼101室", "理科楼202室", "lab_admin")
        assert changes["original_value"] == ("850000.00", "860000.00", "lab_admin")
        db.session.remove()
    show = client.get(f"/instrumentview/show/{pk}").get_data(as_text=True)
    assert "变更记录" in show and "理科楼202室" in show and "理科楼101室" in show


@pytest.mark.parametrize("body,field,message", [
    ({"name": "甲"}, "unit", "该字段为必填项"),
    ({"name": "甲", "unit": "U", "duty": "bogus"}, "duty", "取值必须是以下之一"),
    ({"name": "甲", "duty": "technician", "extra": 1}, "extra", "未知字段"),
])
def test_api_schema_errors_are_chinese(app, uni, client, body, field, message):
    from .test_scope import jwt_headers

    headers = jwt_headers(client, "lab_admin")
    body = {k: (uni.l11 if v == "U" else v) for k, v in body.items()}
    before = count(app, Person)
    resp = client.post("/api/v1/person/", json=body, headers=headers)
    assert resp.status_code == 422
    assert message in "".join(resp.json["message"][field])
    assert count(app, Person) == before


def test_api_non_json_and_missing_record_are_chinese(uni, client):
    from .test_scope import jwt_headers

    headers = jwt_headers(client, "lab_admin")
    resp = client.post("/api/v1/person/", data="不是JSON", headers=headers)
    assert resp.status_code == 400 and resp.json["message"] == "请求内容必须是 JSON。"
    resp = client.get("/api/v1/person/999999", headers=headers)
    assert resp.status_code == 404 and "不在您的管理范围内" in resp.json["message"]


def test_deleting_a_unit_that_holds_records_is_refused_with_a_reason(app, uni, login_as, client):
    from .conftest import session_csrf_token
    from .test_scope import jwt_headers

    browser = login_as("school_admin")
    resp = browser.post(f"/unitview/delete/{uni.c2}", data={"csrf_token": session_csrf_token(browser)}, follow_redirects=True)
    assert "仍被其他记录引用" in resp.get_data(as_text=True)
    resp = client.delete(f"/api/v1/unit/{uni.c2}", headers=jwt_headers(client, "school_admin"))
    assert resp.status_code == 422 and "仍被其他记录引用" in resp.json["message"]
    with app.app_context():
        assert db.session.get(Unit, uni.c2) is not None
        db.session.remove()


def test_duplicate_unit_code_is_refused_with_a_reason(app, uni, client):
    from .test_scope import jwt_headers

    resp = client.post("/api/v1/unit/", json={"code": "C1", "name": "重复代码", "level": "lab", "parent": uni.c1},
                       headers=jwt_headers(client, "school_admin"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "冲突" in str(resp.json["message"]) or "已存在" in str(resp.json["message"])
    assert count(app, Unit) == 6
