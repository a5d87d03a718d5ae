"""Service contracts (Art. 16, issue 13 item 7): the lab keeps its contracts with outside organisations
and their scanned PDFs (checked by content, stored outside the web root, downloaded only in scope); a
lab cannot schedule an outside user's booking without a valid contract with it, its college or the
school — unless the standard terms apply and the user accepted them as it booked."""
import io
import re
from datetime import date, datetime
from pathlib import Path

import hypothesis
from hypothesis import strategies as st
import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, CustomerOrg, Instrument, PlatformUser, ServiceContract, ServiceUser, Unit
from app.security.roles import SERVICE_USER
from app.seed.bookings import demo_pdf

from . import factories as f
from .conftest import csrf_token
from .mqtt_broker import ROOT
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)
PDF = demo_pdf("Service contract HT-T (test)")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(scope="module")
def outsider(app, uni):
    """An enterprise's user with an account and no contract, authorised on an instrument of lab_admin's lab."""
    with app.app_context():
        account = f.user(app.appbuilder.sm, "outsider_user", SERVICE_USER, None)
        org = f.customer(name="无合同企业")
        user = f.service_user(org, name="无合同用户", account=account)
        instrument = f.bookable_instrument(db.session.get(Unit, uni.l11), name="合同测试仪器")
        f.authorisation(user, instrument, granted_on=date(2026, 11, 1))
        db.session.commit()
        ids = {"org": org.id, "user": user.id, "instrument": instrument.id, "account": account.id}
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id == ids["instrument"]))
        db.session.execute(sa.delete(ServiceContract).where(ServiceContract.org_id == ids["org"]))
        db.session.execute(sa.delete(Instrument).where(Instrument.id == ids["instrument"]))
        db.session.execute(sa.delete(ServiceUser).where(ServiceUser.id == ids["user"]))
        db.session.commit()
        app.appbuilder.sm.del_register_user(db.session.get(PlatformUser, ids["account"]))
        db.session.remove()


@pytest.fixture
def clean(app, outsider):
    yield
    with app.app_context():
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id == outsider["instrument"]))
        db.session.execute(sa.delete(ServiceContract).where(ServiceContract.org_id == outsider["org"]))
        db.session.commit()
        db.session.remove()


def add_contract(app, org_id, unit_id, **kw):
    with app.app_context():
        contract = f.contract(db.session.get(CustomerOrg, org_id), db.session.get(Unit, unit_id),
                              number=kw.pop("number", f"HT-{org_id}-{unit_id}"), **kw)
        db.session.add(contract)
        db.session.commit()
        pk = contract.id
        db.session.remove()
        return pk


def book_via_api(client, instrument_id, **extra):
    return client.post("/api/v1/booking/", headers=jwt_headers(client, "outsider_user"),
                       json={"instrument_id": instrument_id, "mode": "self_operated", "start": "2026-12-08T10:00",
                             "end": "2026-12-08T11:00", "purpose": "合同测试", **extra})


def schedule_via_api(client, booking_id):
    return client.post(f"/api/v1/booking/{booking_id}/schedule", headers=jwt_headers(client, "lab_admin"), json={})


def test_without_a_contract_or_the_terms_the_lab_cannot_schedule(app, client, uni, outsider, clean):
    booked = book_via_api(client, outsider["instrument"])
    assert booked.status_code == 201, booked.get_data(as_text=True)
    refused = schedule_via_api(client, booked.get_json()["id"])
    assert refused.status_code == 403 and "服务合同" in refused.get_json()["message"]
    # a contract with the lab's college covers the lab
    add_contract(app, outsider["org"], uni.c1)
    done = schedule_via_api(client, booked.get_json()["id"])
    assert done.status_code == 200 and done.get_json()["result"]["contract_id"]


def test_an_expired_or_foreign_contract_does_not_count(app, client, uni, outsider, clean):
    add_contract(app, outsider["org"], uni.l11, number="HT-OLD", valid_from=date(2024, 1, 1), valid_until=date(2025, 12, 31))
    add_contract(app, outsider["org"], uni.c2, number="HT-PHYS")  # another college's
    add_contract(app, outsider["org"], uni.l11, number="HT-UNSIGNED", signed_on=None)
    booked = book_via_api(client, outsider["instrument"])
    assert schedule_via_api(client, booked.get_json()["id"]).status_code == 403


def test_the_standard_terms_accepted_on_the_booking_form(app, login_as, outsider, clean):
    user = login_as("outsider_user")
    url = f"/bookings/book/{outsider['instrument']}"
    page = user.get(url).get_data(as_text=True)
    assert 'id="accept_terms"' in page and 'href="/bookings/terms"' in page
    token = csrf_token(user, url)
    slot = {"csrf_token": token, "mode": "self_operated", "start": "2026-12-08T14:00", "end": "2026-12-08T15:00",
            "purpose": "合同测试"}
    unticked = user.post(url, data=slot).get_data(as_text=True)
    box = unticked[unticked.index('id="accept_terms"'):]
    assert "booking-error" in box[:box.index("</div>")]
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Booking)
                                  .where(Booking.instrument_id == outsider["instrument"])).scalar() == 0
        db.session.remove()
    assert user.post(url, data={**slot, "accept_terms": "1"}).status_code == 302
    with app.app_context():
        booking = db.session.execute(sa.select(Booking).where(Booking.instrument_id == outsider["instrument"])).scalar_one()
        assert booking.terms_accepted_at is not None and booking.contract_id is None
        booking_id = booking.id
        db.session.remove()
    assert user.get("/bookings/terms").status_code == 200
    lab = login_as("lab_admin")
    shown = lab.get(f"/bookingrecordview/show/{booking_id}").get_data(as_text=True)
    assert "2026-12-07 09:" in shown  # when the terms were accepted, in Beijing time
    assert schedule_via_api(lab, booking_id).status_code == 200


def test_where_the_standard_terms_do_not_apply_a_contract_is_needed(app, client, login_as, outsider, clean):
    saved = dict(app.config["BOOKING"])
    app.config["BOOKING"] = {**saved, "standard_terms": 0}
    try:
        page = login_as("outsider_user").get(f"/bookings/book/{outsider['instrument']}").get_data(as_text=True)
        assert 'id="accept_terms"' not in page and "booking-contract" in page
        booked = book_via_api(client, outsider["instrument"], accept_standard_terms=True)
        assert schedule_via_api(client, booked.get_json()["id"]).status_code == 403
    finally:
        app.config["BOOKING"] = saved


def test_the_api_takes_the_acceptance(app, client, outsider, clean):
    assert book_via_api(client, outsider["instrument"], accept_standard_terms="yes").status_code == 422
    booked = book_via_api(client, outsider["instrument"], accept_standard_terms=True)
    assert booked.status_code == 201 and booked.get_json()["result"]["terms_accepted_at"].startswith("2026-12-07T09:")
    assert schedule_via_api(client, booked.get_json()["id"]).status_code == 200


# -- the contract screens and the scan -----------------------------------------------------------

def upload(client, data, name="合同.pdf", **fields):
    token = csrf_token(client, "/servicecontractview/add")
    form = {"csrf_token": token, "number": fields.pop("number", "HT-UP-001"), "org": str(fields.pop("org")),
            "unit": str(fields.pop("unit")), "service_content": "检测服务", "ip_ownership": "用户独立成果归用户",
            "confidentiality": "保密", "damages": "赔偿", "liability": "责任", "dispute_resolution": "诉讼",
            "signed_on": "2026-11-30", "valid_from": "2026-12-01", "valid_until": "2027-11-30",
            "scan": (io.BytesIO(data), name), **fields}
    return client.post("/servicecontractview/add", data=form, content_type="multipart/form-data")


def test_a_lab_uploads_a_contract_scan_and_it_is_kept_outside_the_web_root(app, uni, login_as, outsider, clean):
    lab = login_as("lab_admin")
    form = lab.get("/servicecontractview/add").get_data(as_text=True)
    assert "用户独立完成的成果归用户所有" in form  # Art. 16's default, prefilled
    assert upload(lab, PDF, org=outsider["org"], unit=uni.l11).status_code == 302
    with app.app_context():
        contract = db.session.execute(sa.select(ServiceContract).where(ServiceContract.number == "HT-UP-001")).scalar_one()
        stored = Path(app.config["CONTRACT_FOLDER"]) / contract.file_path
        assert stored.read_bytes() == PDF and contract.file_name == "合同.pdf" and contract.file_size == len(PDF)
        assert ROOT / "app" not in stored.parents and "static" not in stored.parts
        pk = contract.id
        db.session.remove()
    download = lab.get(f"/servicecontractview/file/{pk}")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()
    # the organisation's own user reads it; another organisation's user does not
    mine = login_as("outsider_user")
    assert mine.get("/mycontractview/list/").get_data(as_text=True).count("HT-UP-001") >= 1
    theirs = mine.get(f"/mycontractview/file/{pk}")
    assert theirs.data == PDF
    theirs.close()
    other = login_as("service_user")
    assert other.get(f"/mycontractview/file/{pk}").status_code == 404
    assert "HT-UP-001" not in other.get("/mycontractview/list/").get_data(as_text=True)
    assert other.get(f"/servicecontractview/file/{pk}").status_code == 403


@pytest.mark.parametrize("data, name, message", [
    (b"\x89PNG\r\n\x1a\n" + b"0" * 200, "合同.pdf", "不是 PDF"),
    (b"%PDF-1.4\n" + b"0" * 200, "合同.pdf", "不是 PDF"),  # no end-of-file marker: a truncated upload
    (b"", "合同.pdf", "文件为空"),
    (b"", "", None),
])
def test_a_scan_that_is_not_a_pdf_is_refused_beside_the_field(app, uni, login_as, outsider, clean, data, name, message):
    lab = login_as("lab_admin")
    resp = upload(lab, data, name=name, org=outsider["org"], unit=uni.l11, number="HT-BAD")
    with app.app_context():
        saved = db.session.execute(sa.select(ServiceContract).where(ServiceContract.number == "HT-BAD")).scalar_one_or_none()
        db.session.remove()
    if message is None:  # no file chosen: the contract is saved without a scan
        assert resp.status_code == 302 and saved is not None and saved.file_path is None
        return
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and saved is None
    field = html[html.index('id="scan"'):]
    assert message in field[:field.index("</tr>")]
    assert 'value="HT-BAD"' in html  # what was typed is kept


def test_a_scan_too_big_is_refused(app, uni, login_as, outsider, clean):
    saved_limit = app.config["CONTRACT_MAX_BYTES"]
    app.config["CONTRACT_MAX_BYTES"] = 1024
    try:
        resp = upload(login_as("lab_admin"), PDF + b"%" * 2048 + b"\n%%EOF\n", org=outsider["org"], unit=uni.l11,
                      number="HT-BIG")
    finally:
        app.config["CONTRACT_MAX_BYTES"] = saved_limit
    assert "大于" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.select(ServiceContract).where(ServiceContract.number == "HT-BIG")).first() is None
        db.session.remove()


def test_a_lab_cannot_sign_for_another_college_nor_an_on_campus_group(app, uni, login_as, outsider, clean):
    lab = login_as("lab_admin")
    upload(lab, PDF, org=outsider["org"], unit=uni.l21, number="HT-FOREIGN")
    with app.app_context():
        campus_org = db.session.get(ServiceUser, uni.customer_campus_user).org_id
        db.session.remove()
    html = upload(lab, PDF, org=campus_org, unit=uni.l11, number="HT-CAMPUS").get_data(as_text=True)
    with app.app_context():
        numbers = set(db.session.execute(sa.select(ServiceContract.number)).scalars())
        db.session.remove()
    assert "HT-FOREIGN" not in numbers and "HT-CAMPUS" not in numbers
    assert re.search(r"id=\"org\"", html)


NAMES = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)
UPLOADS = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda head, body, tail: head + body + tail, st.sampled_from([b"%PDF-1.4\n", b"%PDF-", b"", b"\x00%PDF-"]),
              st.binary(max_size=400), st.sampled_from([b"%%EOF", b"%%EOF\n", b"", b"%%EO"])))


@hypothesis.settings(max_examples=25, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(data=UPLOADS, name=NAMES)
def test_any_upload_is_refused_or_stored_never_a_server_error(app, uni, login_as, outsider, clean, data, name):
    """Hypothesis over the contract scan (issue 21, §2): any bytes under any file name are refused beside the
    field or stored by a random name with a printable one shown; never a 5xx."""
    lab = login_as("lab_admin")
    resp = upload(lab, data, name=name, org=outsider["org"], unit=uni.l11, number="HT-FZ")
    assert resp.status_code in (200, 302), resp.status_code
    with app.app_context():
        saved = db.session.execute(sa.select(ServiceContract).where(ServiceContract.number == "HT-FZ")).scalar_one_or_none()
        if saved is not None:
            assert saved.file_path is None or (Path(app.config["CONTRACT_FOLDER"]) / saved.file_path).read_bytes() == data
            assert saved.file_name is None or saved.file_name.isprintable()
            db.session.delete(saved)
            db.session.commit()
        db.session.remove()
