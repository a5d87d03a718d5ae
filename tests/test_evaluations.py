"""Evaluation (issue 14): the booking's own user rates a completed booking once, 1–5 overall and for
attitude, timeliness and quality, within the window; the lab replies once; averages reach the admin
and public instrument pages — through the service, the API (SPEC §5) and the screens."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Evaluation, PlatformUser, ServiceUser, Unit
from app.services.booking import bookings as booking_service, evaluations, usage
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f
from .conftest import csrf_token
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=clock.BEIJING)
SETTINGS = booking_service.Settings()


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


def completed(session, inst, user, actor, day=7):
    start = bj(2026, 12, day, 9, 0)
    booking = Booking(instrument_id=inst.id, user=user, mode="self_operated", state="scheduled", scheduled_start=start,
                      scheduled_end=start + timedelta(hours=2), submitted_at=start - timedelta(days=3),
                      respond_by=date(2026, 12, 9))
    session.add(booking)
    session.flush()
    usage.register(session, actor, NOW, SETTINGS, booking=booking, start=start, end=start + timedelta(hours=1))
    return booking


@pytest.fixture
def world(session, uni):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="评价仪器")
    user = f.service_user(name="评价用户")
    actor = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
    return inst, user, actor


def test_once_by_its_own_user_with_scores_from_one_to_five(session, world):
    inst, user, actor = world
    booking = completed(session, inst, user, actor)
    with pytest.raises(PolicyDenied) as denied:
        evaluations.evaluate(session, f.service_user(name="旁人"), booking, NOW, 30, score=5)
    assert denied.value.code == "not_yours"
    for bad in ({"score": 6}, {"score": 0}, {"score": "4.5"}, {"score": "good"}, {"attitude": 7}, {}):
        with pytest.raises(RuleViolation):
            evaluations.evaluate(session, user, booking, NOW, 30, **bad)
    assert session.execute(sa.select(sa.func.count()).select_from(Evaluation).where(Evaluation.booking_id == booking.id)).scalar() == 0
    e = evaluations.evaluate(session, user, booking, NOW, 30, attitude=5, timeliness=4, quality=4, comment=" 很好 ")
    assert (e.score, e.attitude, e.timeliness, e.quality, e.comment) == (4, 5, 4, 4, "很好")  # the mean 4.33 rounds to 4
    with pytest.raises(PolicyDenied) as denied:
        evaluations.evaluate(session, user, booking, NOW, 30, score=1)
    assert denied.value.code == "evaluated"
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():  # the database keeps it once too
        session.add(Evaluation(booking_id=booking.id, score=3, created_at=NOW))
        session.flush()


def test_only_a_completed_booking_within_the_window(session, world):
    inst, user, actor = world
    pending = Booking(instrument_id=inst.id, user=user, mode="sample", state="scheduled", submitted_at=NOW,
                      scheduled_date=date(2026, 12, 8))
    session.add(pending)
    session.flush()
    with pytest.raises(PolicyDenied) as denied:
        evaluations.evaluate(session, user, pending, NOW, 30, score=5)
    assert denied.value.code == "not_completed"
    booking = completed(session, inst, user, actor, day=1)  # used on 1 December, 09:00–10:00
    assert evaluations.deadline(session, booking, 5) == bj(2026, 12, 6, 10, 0)
    with pytest.raises(PolicyDenied) as denied:
        evaluations.evaluate(session, user, booking, NOW, 5, score=5)
    assert denied.value.code == "window_closed" and "2026-12-06" in denied.value.message
    assert evaluations.evaluate(session, user, booking, bj(2026, 12, 6, 9, 59), 5, score=2).attitude == 2


def test_the_lab_replies_once_and_averages_follow(session, world):
    inst, user, actor = world
    scores = [(5, 5, 4), (3, 4, 2)]
    rows = []
    for day, (a, t, q) in zip((2, 3), scores):
        rows.append(evaluations.evaluate(session, user, completed(session, inst, user, actor, day=day), NOW, 30,
                                         attitude=a, timeliness=t, quality=q))
    with pytest.raises(RuleViolation):
        evaluations.reply(session, actor, rows[0], NOW, "  ")
    evaluations.reply(session, actor, rows[0], NOW, "谢谢支持")
    with pytest.raises(PolicyDenied) as denied:
        evaluations.reply(session, actor, rows[0], NOW, "再回复")
    assert denied.value.code == "replied" and rows[0].reply == "谢谢支持"
    outsider = Actor(actor.user_id, frozenset({"LabAdmin"}), "lab",
                     session.get(Unit, session.get(Unit, inst.unit_id).parent_id).path + "999/")
    with pytest.raises(PolicyDenied):
        evaluations.reply(session, outsider, rows[1], NOW, "不是我的")
    avg = evaluations.averages(session, inst.id)
    assert (avg.count, avg.score, avg.attitude, avg.timeliness, avg.quality) == (
        2, Decimal("4.0"), Decimal("4.0"), Decimal("4.5"), Decimal("3.0"))  # overall: 5 (4.67) and 3


@pytest.fixture
def committed(app, uni):
    """service_user's completed booking on lab_admin's instrument, and campus_user's."""
    with app.app_context(), time_machine.travel(NOW, tick=False):
        inst = f.bookable_instrument(db.session.get(Unit, uni.l11), name="评价接口仪器")
        f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1),
                       items=[f.standard_item("机时", "小时", "100", basis="hours")])
        actor = Actor.of(db.session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
        ids = {"instrument": inst.id}
        for n, who in enumerate(("customer_service_user", "customer_campus_user")):
            ids[who] = completed(db.session, inst, db.session.get(ServiceUser, getattr(uni, who)), actor, day=1 + n).id
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        f.remove_instruments([ids["instrument"]])
        db.session.remove()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


def test_the_api_takes_one_evaluation_by_the_bookings_own_user(client, committed):
    service, campus = jwt_headers(client, "service_user"), jwt_headers(client, "campus_user")
    own, other = committed["customer_service_user"], committed["customer_campus_user"]
    post = lambda headers, **body: client.post("/api/v1/evaluation/", json=body, headers=headers)  # noqa: E731
    # someone else's booking is out of reach, as one that does not exist (a 403 told them apart: issue 21)
    assert post(service, booking_id=other, score=5).status_code == 404
    assert post(service, booking_id=10 ** 9, score=5).status_code == 404
    assert post(jwt_headers(client, "lab_admin"), booking_id=own, score=5).status_code == 403  # not a customer
    bad = post(service, booking_id=own, score=6)
    assert bad.status_code == 422 and "1（极差）至 5（非常满意）" in bad.get_json()["message"]["score"]
    assert post(service, score=5).status_code == 422
    made = post(service, booking_id=own, score=4, comment="及时")
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["result"]["attitude"] == 4
    assert post(service, booking_id=own, score=5).status_code == 409
    listed = client.get("/api/v1/evaluation/", headers=campus).get_json()["result"]
    assert made.get_json()["id"] not in {e["id"] for e in listed}
    lab = jwt_headers(client, "lab_admin")
    evaluation_id = made.get_json()["id"]
    assert client.post(f"/api/v1/evaluation/{evaluation_id}/reply", json={"reply": "谢谢"}, headers=service).status_code == 403
    assert client.post(f"/api/v1/evaluation/{evaluation_id}/reply", json={"reply": "谢谢"}, headers=lab).status_code == 200
    assert client.post(f"/api/v1/evaluation/{evaluation_id}/reply", json={"reply": "再谢"}, headers=lab).status_code == 409
    paths = client.get("/api/v1/_openapi", headers=lab).get_json()["paths"]
    assert "/api/v1/evaluation/" in paths and "/api/v1/evaluation/{pk}/reply" in paths


def test_the_user_evaluates_on_screen_and_the_average_reaches_the_pages(login_as, committed):
    service = login_as("service_user")
    own = committed["customer_service_user"]
    page_url = f"/mybookingview/show/{own}"
    page = service.get(page_url).get_data(as_text=True)
    assert "提交评价" in page and "非常满意" in page
    resp = service.post(f"/myevaluationview/evaluate/{own}", follow_redirects=True, data={
        "csrf_token": csrf_token(service, page_url), "score": "5", "attitude": "5", "timeliness": "4", "quality": "5",
        "comment": "数据很好"})
    html = resp.get_data(as_text=True)
    assert "感谢您的评价" in html and "提交评价" not in html and "数据很好" in html
    other = service.post(f"/myevaluationview/evaluate/{committed['customer_campus_user']}",
                         data={"csrf_token": csrf_token(service, page_url), "score": "1"})
    assert other.status_code == 404  # someone else's booking is out of reach
    public = login_as(None).get(f"/public/instruments/{committed['instrument']}")
    assert public.status_code == 200 and "5.0 分（满分 5 分，共 1 条评价）" in public.get_data(as_text=True)
    lab = login_as("lab_admin")
    shown = lab.get(f"/instrumentview/show/{committed['instrument']}").get_data(as_text=True)
    assert "5.0 分（满分 5 分，共 1 条评价）" in shown and "服务态度 5.0" in shown
    booking_page = lab.get(f"/bookingrecordview/show/{own}").get_data(as_text=True)
    assert "已评价" in booking_page and "数据很好" in booking_page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "https:evil.example", "/\\evil.example"])
def test_the_reply_never_redirects_off_the_site(app, uni, login_as, committed, target):
    """The reply's form took any `next` as its redirect: an open redirect (issue 21, defect 7)."""
    with app.app_context():
        user = db.session.get(ServiceUser, uni.customer_service_user)
        evaluation = evaluations.evaluate(db.session, user, db.session.get(Booking, committed["customer_service_user"]),
                                          NOW, 30, score=4)
        db.session.commit()
        evaluation_id = evaluation.id
        db.session.remove()
    lab = login_as("lab_admin")
    page = f"/evaluationview/show/{evaluation_id}"
    resp = lab.post(f"/evaluationview/reply/{evaluation_id}", data={"csrf_token": csrf_token(lab, page), "reply": "谢谢",
                                                                       "next": target})
    assert resp.status_code == 302 and resp.headers["Location"] == page


def test_two_evaluations_of_one_booking_at_once_make_one(app, uni, committed, just_before):
    """Two requests of the booking's user, each past the "evaluated already?" check: the database's unique rule
    takes one and the other is answered "evaluated" (issue 21, §3)."""
    from sqlalchemy.orm import Session

    with app.app_context():
        engine = db.engine
    booking_id = committed["customer_service_user"]
    first, second = Session(engine), Session(engine)

    def evaluate(session, score):
        return evaluations.evaluate(session, session.get(ServiceUser, uni.customer_service_user),
                                    session.get(Booking, booking_id), NOW, 30, score=score)

    def the_other_request():
        evaluate(second, 2)
        second.commit()

    try:
        with just_before("INSERT INTO evaluation", the_other_request), pytest.raises(PolicyDenied) as twice:
            evaluate(first, 5)
        assert twice.value.code == "evaluated"
        first.rollback()
        scores = first.execute(sa.select(Evaluation.score).where(Evaluation.booking_id == booking_id)).scalars().all()
        assert scores == [2]
    finally:
        first.close()
        second.close()
