"""Every role's home page shows what needs it now (issue 13, item 9): the lab side its bookings to
answer, the overdue ones and those due today, today's schedule, the fee standards at its step and —
for a college and the school — the counts per lab or college; a service user its pending and coming
bookings and a suspension. Counted through the one scope filter."""
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Instrument, ServiceUser, Unit

from . import factories as f

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=clock.BEIJING)  # Wednesday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def bookings(app, uni):
    """On lab_admin's lab: one overdue, one due today, one with time; on l12 (same college): one; on
    l21 (another college): one overdue; and service_user's slot scheduled this afternoon."""
    with app.app_context():
        units = {k: db.session.get(Unit, getattr(uni, k)) for k in ("l11", "l12", "l21")}
        instruments = {k: f.bookable_instrument(u, name=f"首页{u.name}仪器") for k, u in units.items()}
        user = db.session.get(ServiceUser, uni.customer_service_user)
        rows = [("l11", "pending", date(2026, 12, 7)), ("l11", "pending", date(2026, 12, 9)),
                ("l11", "pending", date(2026, 12, 14)), ("l12", "pending", date(2026, 12, 14)),
                ("l21", "pending", date(2026, 12, 1))]
        for key, state, respond_by in rows:
            db.session.add(Booking(instrument_id=instruments[key].id, user_id=user.id, mode="sample", sample_count=1,
                                   state=state, respond_by=respond_by, respond_by_official=True, submitted_at=NOW))
        start = clock.aware(datetime(2026, 12, 9, 15, 0))
        db.session.add(Booking(instrument_id=instruments["l11"].id, user_id=user.id, mode="self_operated",
                               state="scheduled", requested_start=start, requested_end=start + timedelta(hours=1),
                               scheduled_start=start, scheduled_end=start + timedelta(hours=1), respond_by=date(2026, 12, 14),
                               respond_by_official=True, submitted_at=NOW))
        db.session.commit()
        ids = [i.id for i in instruments.values()]
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Booking).where(Booking.instrument_id.in_(ids)))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids)))
        db.session.commit()
        db.session.remove()


def cards(html):
    """{label: count} of the home page's cards."""
    return {label.strip(): int(count) for count, label in re.findall(
        r'dashboard-count">(\d+)</span>\s*<span class="dashboard-label">([^<]+)</span>', html)}


def per_unit(html):
    table = html[html.index("dashboard-per-unit"):]
    table = table[:table.index("</table>")]
    return {name: (int(p), int(o)) for name, p, o in re.findall(
        r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(?:<span class=\"label label-danger\">)?(\d+)", table)}


def test_the_lab_sees_its_own_bookings_to_answer(login_as, bookings):
    html = login_as("lab_admin").get("/").get_data(as_text=True)
    counts = cards(html)
    assert counts["待答复预约"] == 3 and counts["已超过答复期限"] == 1 and counts["今日到期须答复"] == 1
    assert counts["今日安排"] == 1
    assert "dashboard-per-unit" not in html  # a lab has no labs below it


def test_a_college_sees_its_labs_and_the_school_its_colleges(uni, login_as, bookings):
    college = login_as("college_admin").get("/").get_data(as_text=True)
    assert cards(college)["待答复预约"] == 4 and cards(college)["已超过答复期限"] == 1
    assert per_unit(college) == {"分析测试实验室": (3, 1), "材料实验室": (1, 0)}
    school = login_as("school_admin").get("/").get_data(as_text=True)
    assert cards(school)["已超过答复期限"] == 2
    assert per_unit(school) == {"化学学院": (4, 1), "物理学院": (1, 1)}


def test_a_service_user_sees_its_bookings_and_its_suspension(app, uni, login_as, bookings):
    html = login_as("service_user").get("/").get_data(as_text=True)
    assert cards(html)["等待实验室答复的预约"] == 5 and cards(html)["即将到来的预约"] == 1
    assert "2026-12-09 15:00–16:00" in html and "dashboard-suspended" not in html
    with app.app_context():
        user = db.session.get(ServiceUser, uni.customer_service_user)
        user.suspended_until, user.suspension_reason = date(2026, 12, 30), "90 天内爽约 3 次"
        db.session.commit()
        db.session.remove()
    try:
        html = login_as("service_user").get("/").get_data(as_text=True)
        assert "2026-12-30" in html and "90 天内爽约 3 次" in html
    finally:
        with app.app_context():
            user = db.session.get(ServiceUser, uni.customer_service_user)
            user.suspended_until = user.suspension_reason = None
            db.session.commit()
            db.session.remove()


def test_a_visitor_sees_the_way_in(client):
    html = client.get("/").get_data(as_text=True)
    assert "dashboard-count" not in html and 'href="/register/"' in html
