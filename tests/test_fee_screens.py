"""Fee standards through the screens (issue 3): draft → college → school → public, and the refusals."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import FeeItem, FeePrice, FeeStandard, Instrument

from . import factories as f
from .conftest import csrf_token, session_csrf_token

NAME = "屏幕流程测试光谱仪"
LISTED = f">{NAME}</a>"  # the catalogue's link to the instrument (the search box echoes the name too)


@pytest.fixture(scope="module")
def instrument_id(app, uni):
    with app.app_context():
        inst = f.instrument(db.session.get(Instrument, uni.inst_l11).unit, name=NAME, asset_number="ZC-SCREEN-1")
        db.session.commit()
        pk = inst.id
        db.session.remove()
    return pk


def latest_standard(app, instrument_id):
    with app.app_context():
        s = db.session.execute(sa.select(FeeStandard).where(FeeStandard.instrument_id == instrument_id)
                               .order_by(FeeStandard.id.desc())).scalars().first()
        result = None if s is None else (s.id, s.state, s.version)
        db.session.remove()
        return result


def post(client, url, data):
    token = csrf_token(client, url) if url.endswith("add") or "/edit/" in url else session_csrf_token(client)
    return client.post(url, data={**data, "csrf_token": token})


def field_error(html, field_id):
    start = html.index(f'id="{field_id}"')
    m = re.search(r'alert-danger">(.*?)</div>', html[start: html.index("</td>", start)], re.S)
    return m.group(1).strip() if m else ""


def draft_with_prices(app, lab, instrument_id, justification="企业价格含报告编制人工"):
    assert post(lab, "/feestandardview/add", {"instrument": instrument_id, "effective_from": "2026-01-01",
                                              "pricing_method": "按样品计费", "justification": justification}).status_code == 302
    standard_id, state, _version = latest_standard(app, instrument_id)
    assert state == "draft"
    assert post(lab, "/feeitemview/add", {"standard": standard_id, "name": "常规测试", "billing_unit": "样品",
                                          "cost_basis": "100"}).status_code == 302
    with app.app_context():
        item_id = db.session.execute(sa.select(FeeItem.id).where(FeeItem.standard_id == standard_id)).scalar()
        db.session.remove()
    for category, price, reason in (("campus", "100", ""), ("enterprise", "130", "企业需出具正式报告")):
        resp = post(lab, "/feepriceview/add", {"item": item_id, "customer_category": category, "tier_min": "0",
                                               "tier_max": "", "unit_price": price, "difference_reason": reason})
        assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    return standard_id, item_id


def test_draft_review_approve_publish(app, uni, login_as, instrument_id):
    lab, college, school = login_as("lab_admin"), login_as("college_admin"), login_as("school_admin")
    anonymous = app.test_client()
    standard_id, _item = draft_with_prices(app, lab, instrument_id)
    assert LISTED not in anonymous.get(f"/public/fees?q={NAME}").get_data(as_text=True)  # a draft never shows
    page = lab.get(f"/feestandardview/show/{standard_id}").get_data(as_text=True)
    assert "30.00 元（30.0%）" in page  # the enterprise price's margin over cost
    for approver in (college, school):  # the justification is in front of whoever approves
        assert "企业价格含报告编制人工" in approver.get(f"/feestandardview/show/{standard_id}").get_data(as_text=True)
    steps = [(lab, "submit", "college_review"), (lab, "college_approve", "college_review"),   # lab cannot review
             (college, "college_approve", "school_review"), (college, "school_approve", "school_review"),
             (school, "school_approve", "published")]
    for client, step, expected in steps:
        resp = post(client, f"/feestandardview/step/{standard_id}/{step}", {"comment": "同意"})
        assert resp.status_code == 302
        assert latest_standard(app, instrument_id)[1] == expected, step
        listed = LISTED in anonymous.get(f"/public/fees?q={NAME}").get_data(as_text=True)
        assert listed is (expected == "published"), step


def test_published_prices_cannot_be_edited_through_the_screens(app, uni, login_as, instrument_id):
    lab = login_as("lab_admin")
    standard_id, state, _v = latest_standard(app, instrument_id)
    assert state == "published"
    with app.app_context():
        price = db.session.execute(sa.select(FeePrice).join(FeeItem).where(FeeItem.standard_id == standard_id)).scalars().first()
        price_id, item_id, before = price.id, price.item_id, price.unit_price
        db.session.remove()
    resp = post(lab, f"/feepriceview/edit/{price_id}", {"item": item_id, "customer_category": "campus", "tier_min": "0",
                                                         "tier_max": "", "unit_price": "1", "difference_reason": ""})
    with lab.session_transaction() as sess:
        flashes = " ".join(m for _c, m in sess.get("_flashes", []))
    assert "不能修改" in flashes or "不能修改" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(FeePrice, price_id).unit_price == before
        db.session.remove()


def test_new_version_from_the_screen(app, uni, login_as, instrument_id):
    lab = login_as("lab_admin")
    standard_id, _state, version = latest_standard(app, instrument_id)
    resp = post(lab, f"/feestandardview/step/{standard_id}/new_version", {"effective_from": "2027-01-01"})
    assert resp.status_code == 302
    new_id, state, new_version = latest_standard(app, instrument_id)
    assert new_id != standard_id and state == "draft" and new_version == version + 1


def test_bad_input_beside_the_field(app, uni, login_as, instrument_id):
    lab = login_as("lab_admin")
    standard_id, state, _v = latest_standard(app, instrument_id)
    assert state == "draft"
    resp = post(lab, "/feeitemview/add", {"standard": standard_id, "name": "制样", "billing_unit": "", "cost_basis": "10"})
    assert "计费单位" in field_error(resp.get_data(as_text=True), "billing_unit")
    with app.app_context():
        item_id = db.session.execute(sa.select(FeeItem.id).where(FeeItem.standard_id == standard_id)).scalar()
        db.session.remove()
    assert post(lab, "/feepriceview/add", {"item": item_id, "customer_category": "academic", "tier_min": "0",
                                           "tier_max": "10", "unit_price": "100", "difference_reason": ""}).status_code == 302
    resp = post(lab, "/feepriceview/add", {"item": item_id, "customer_category": "academic", "tier_min": "5",
                                           "tier_max": "20", "unit_price": "90", "difference_reason": ""})
    assert "重叠" in field_error(resp.get_data(as_text=True), "tier_min")


def test_service_user_has_no_fee_screens(login_as, instrument_id):
    client = login_as("service_user")
    assert client.get("/feestandardview/list/").status_code == 403
