"""The self-check screens (issue 23, item 4) as each role reaches them: lab_admin starts this month's check, goes
through its networked record and signs it off; college_admin returns it with remarks, the lab sees them and signs
again, the college approves and signs the quarter off; the deadlines API lists the check until it is signed; another
lab's administrator, a service user and an anonymous visitor reach none of it; no form without its CSRF token."""
import re

import pytest
import sqlalchemy as sa

from app import clock
from app.models import CheckRecord, Instrument, Message, PlatformUser, Unit
from app.services.upkeep import self_checks

from . import factories as f
from .conftest import csrf_token


@pytest.fixture
def record(database, uni):
    """A networked record of lab l11; the lab's checks are removed afterwards with it."""
    with database() as session:
        pk = f.instrument(session.get(Unit, uni.l11), name="自查界面仪器", asset_number="SC-0001", networked=True).id
        session.commit()
    yield pk
    with database() as session:
        session.execute(sa.delete(CheckRecord).where(CheckRecord.unit_id.in_((uni.l11, uni.c1))))
        session.execute(sa.delete(Message).where(Message.kind == "check_returned"))
        session.execute(sa.delete(Instrument).where(Instrument.id == pk))
        session.commit()


def _state(database, lab_id, period):
    with database() as session:
        return session.execute(sa.select(CheckRecord.state).where(
            CheckRecord.unit_id == lab_id, CheckRecord.kind == "monthly", CheckRecord.period == period)).scalar()


def _check_id(database, lab_id, period):
    with database() as session:
        return session.execute(sa.select(CheckRecord.id).where(
            CheckRecord.unit_id == lab_id, CheckRecord.kind == "monthly", CheckRecord.period == period)).scalar()


def _due_months(client, lab_id):
    due = client.get("/api/v1/compliance/deadlines/", query_string={"kind": "self_check", "page_size": 1000}).json
    return {_period(d["label"]) for d in due["result"] if d["record"] == lab_id}


def _period(label):
    return re.search(r"\d{4}-(\d{2}|Q\d)", label).group(0)


def test_the_lab_checks_the_college_returns_and_approves_and_signs_the_quarter(app, database, login_as, record, uni):
    period, quarter = self_checks.month_of(clock.today()), self_checks.quarter_of(clock.today())
    lab = login_as("lab_admin")
    assert period in _due_months(lab, uni.l11)
    page = lab.get(f"/selfcheck/?lab={uni.l11}&period={period}").get_data(as_text=True)
    assert "SC-0001" in page and "selfcheck-open" in page
    token = csrf_token(lab, "/selfcheck/")
    assert lab.post("/selfcheck/open", data={"csrf_token": token, "lab": uni.l11, "period": period}).status_code == 302
    check_id = _check_id(database, uni.l11, period)
    assert _state(database, uni.l11, period) == "open"
    refused = lab.post("/selfcheck/sign", data={"csrf_token": token, "check_id": check_id}, follow_redirects=True)
    assert "尚未逐台核对" in refused.get_data(as_text=True) and _state(database, uni.l11, period) == "open"
    with database() as session:  # every networked record of the lab, the shared ones other tests made too
        records = [r.id for r in self_checks.checked_records(session, uni.l11)]
    for pk in records:
        assert lab.post("/selfcheck/confirm", data={"csrf_token": token, "check_id": check_id, "instrument_id": pk,
                                                    "note": "已核对"}).status_code == 302
    assert lab.post("/selfcheck/sign", data={"csrf_token": token, "check_id": check_id, "findings": "无"}).status_code == 302
    assert _state(database, uni.l11, period) == "signed" and period not in _due_months(lab, uni.l11)

    assert lab.get("/selfcheck/review").status_code in (302, 403)  # a lab reviews nothing
    college = login_as("college_admin")
    review = college.get(f"/selfcheck/review?unit={uni.c1}&quarter={quarter}").get_data(as_text=True)
    assert "分析测试实验室" in review and "review-return" in review
    ctoken = csrf_token(college, "/selfcheck/review")
    college.post("/selfcheck/decide", data={"csrf_token": ctoken, "check_id": check_id, "decision": "return",
                                            "remarks": "请核对存放地点"})
    assert _state(database, uni.l11, period) == "returned"
    with database() as session:
        told = session.execute(sa.select(Message.body, Message.link).join(PlatformUser, PlatformUser.id == Message.recipient_id)
                               .where(PlatformUser.username == "lab_admin", Message.kind == "check_returned")).all()
    assert [(b.endswith("请核对存放地点"), link) for b, link in told] == [(True, f"/selfcheck/?lab={uni.l11}&period={period}")]
    assert "请核对存放地点" in lab.get(f"/selfcheck/?lab={uni.l11}&period={period}").get_data(as_text=True)
    assert period in _due_months(lab, uni.l11)
    lab.post("/selfcheck/sign", data={"csrf_token": token, "check_id": check_id})
    college.post("/selfcheck/decide", data={"csrf_token": ctoken, "check_id": check_id, "decision": "approve"})
    assert _state(database, uni.l11, period) == "approved"
    page = college.get(f"/selfcheck/review?unit={uni.c1}&quarter={quarter}").get_data(as_text=True)
    assert "review-not-ended" in page and "review-sign" not in page  # this quarter has not ended
    refused = college.post("/selfcheck/sign_review", data={"csrf_token": ctoken, "unit_id": uni.c1, "quarter": quarter},
                           follow_redirects=True).get_data(as_text=True)
    assert "已结束的季度" in refused
    reviews = college.get("/api/v1/compliance/deadlines/", query_string={"kind": "review", "page_size": 1000}).json
    assert quarter in {d["period"] for d in reviews["result"] if d["record"] == uni.c1}


def test_another_lab_reaches_nothing_and_no_form_without_its_token(database, login_as, record, uni):
    period = self_checks.month_of(clock.today())
    other = login_as("lab2_admin")
    assert "SC-0001" not in other.get(f"/selfcheck/?lab={uni.l11}&period={period}").get_data(as_text=True)
    answer = other.post("/selfcheck/open", data={"csrf_token": csrf_token(other, "/selfcheck/"), "lab": uni.l11,
                                                 "period": period})
    assert answer.status_code == 404 and _state(database, uni.l11, period) is None
    lab = login_as("lab_admin")
    assert lab.post("/selfcheck/open", data={"lab": uni.l11, "period": period}).status_code == 400
    assert _state(database, uni.l11, period) is None
    lab.post("/selfcheck/open", data={"csrf_token": csrf_token(lab, "/selfcheck/"), "lab": uni.l11, "period": period})
    check_id = _check_id(database, uni.l11, period)
    for url, data in (("/selfcheck/confirm", {"check_id": check_id, "instrument_id": record}),
                      ("/selfcheck/sign", {"check_id": check_id})):
        assert other.post(url, data={"csrf_token": csrf_token(other, "/selfcheck/"), **data}).status_code == 404
    assert _state(database, uni.l11, period) == "open"


@pytest.mark.parametrize("who", ["service_user", None])
def test_neither_a_service_user_nor_a_visitor_reaches_the_checks(database, login_as, record, uni, who):
    client = login_as(who)
    period = self_checks.month_of(clock.today())
    for method, url in (("get", "/selfcheck/"), ("get", "/selfcheck/review"), ("post", "/selfcheck/open"),
                        ("post", "/selfcheck/decide"), ("post", "/selfcheck/sign_review")):
        data = {"csrf_token": csrf_token(client, "/login/" if who is None else "/"), "lab": uni.l11, "period": period}
        answer = client.get(url) if method == "get" else client.post(url, data=data)
        assert answer.status_code in (302, 403), (url, answer.status_code)
    assert _state(database, uni.l11, period) is None


@pytest.mark.parametrize("value", ["²", "-1", "0", "99999999999999999999", "1e3", ""])
def test_malformed_ids_are_answered_not_crashed(database, login_as, record, uni, value):
    lab = login_as("lab_admin")
    assert lab.get(f"/selfcheck/?lab={value}&period=x").status_code == 200
    token = csrf_token(lab, "/selfcheck/")
    for url, data in (("/selfcheck/confirm", {"check_id": value, "instrument_id": value}),
                      ("/selfcheck/sign", {"check_id": value}), ("/selfcheck/open", {"lab": value, "period": value})):
        assert lab.post(url, data={"csrf_token": token, **data}).status_code in (302, 404), url
    college = login_as("college_admin")
    assert college.get(f"/selfcheck/review?unit={value}&quarter={value}").status_code == 200
    ctoken = csrf_token(college, "/selfcheck/review")
    for url, data in (("/selfcheck/decide", {"check_id": value, "decision": "approve"}),
                      ("/selfcheck/sign_review", {"unit_id": value, "quarter": value})):
        assert college.post(url, data={"csrf_token": ctoken, **data}).status_code in (302, 404), url
    assert lab.post("/reconciliation/call", data={"csrf_token": token, "instrument_id": value,
                                                  "result": "vacant"}).status_code == 404
    assert lab.post("/reconciliation/draft", data={"csrf_token": token, "entry_id": value, "unit_id": value}).status_code == 302


def test_a_note_the_database_cannot_store_is_refused_with_a_message(database, login_as, record, uni):
    period = self_checks.month_of(clock.today())
    lab = login_as("lab_admin")
    token = csrf_token(lab, "/selfcheck/")
    lab.post("/selfcheck/open", data={"csrf_token": token, "lab": uni.l11, "period": period})
    answer = lab.post("/selfcheck/confirm", data={"csrf_token": token, "check_id": _check_id(database, uni.l11, period),
                                                  "instrument_id": record, "note": "核对\x00"}, follow_redirects=True)
    assert answer.status_code == 200 and "无法保存的字符" in answer.get_data(as_text=True)
