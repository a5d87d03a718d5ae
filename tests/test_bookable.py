"""'Can this instrument be booked' said once (issue 22, item 1): Instrument.can_be_booked, in Python and in
SQL, and every path that offers an instrument for booking agrees with it — the booking service (a
submission, a refusal's alternative), the batch of bookings taken, the calendar's free-instrument search,
the calendar screens, the availability API, the public page and catalogue, and a refusal's comparable
instruments. One instrument per reason it cannot be booked, beside a normal one that every path offers."""
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import Booking, Instrument, ServiceUser, Unit
from app.models.instrument import NOT_BOOKABLE_MESSAGES, NOT_BOOKABLE_STATUSES, NOT_OPEN
from app.models.choices import RUN_STATUS, SHARING_STATUS
from app.services.booking import bookings as svc, batch as booking_batch, calendar
from app.services.errors import RuleViolation
from app.services.workdays import load_calendar

from . import factories as f
from .test_scope import jwt_headers

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=clock.BEIJING)  # a Monday morning
CLASS = "020501"  # a class no other test's instruments use: the searches' limits never cut ours off
# how each instrument differs from a normal, bookable one
CASES = {"normal": {}, "under_repair": {"run_status": "under_repair"}, "to_scrap": {"run_status": "to_scrap"},
         "unsuitable": {"sharing_status": "unsuitable"}, "not_open": {"bookable": False}}
REASONS = [c for c in CASES if c != "normal"]
MESSAGES = {"under_repair": "该仪器故障维修中，暂不接受预约。", "to_scrap": "该仪器待报废，不再接受预约。",
            "unsuitable": "该仪器不适合开放共享，不接受预约。", "not_open": "该仪器暂未开放预约。"}
NOT_BOOKABLE = "该仪器无法预约：未开放预约、不对外共享或不在服役状态。"  # the service's refusal, unchanged


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(scope="module")
def world(app, uni):
    """One instrument per case, each with a published fee standard (in the catalogue while it is listable),
    and a pending booking of another instrument of the class, for the lab to refuse."""
    with app.app_context():
        lab = db.session.get(Unit, uni.l11)
        ids = {}
        for case, changes in CASES.items():
            instrument = f.instrument(lab, name=f"可否预约仪器-{case}", class_code=CLASS, **{"bookable": True, **changes})
            f.fee_standard(instrument, state="published", effective_from=date(2026, 1, 1))
            ids[case] = instrument.id
        origin = f.bookable_instrument(lab, name="可否预约-被拒绝的仪器", class_code=CLASS)
        booking = Booking(instrument_id=origin.id, user_id=uni.customer_service_user, mode="sample", state="pending",
                          sample_count=1, submitted_at=NOW, respond_by=date(2026, 12, 14), respond_by_official=True)
        db.session.add(booking)
        db.session.commit()
        ids.update(origin=origin.id, booking=booking.id)
        db.session.remove()
    yield ids
    with app.app_context():
        f.remove_instruments([ids[c] for c in CASES] + [ids["origin"]])
        db.session.remove()


def offered(case):
    return case == "normal"


# -- the predicate itself --------------------------------------------------------------------------

def test_python_and_sql_agree_on_every_combination(session, uni):
    lab = session.get(Unit, uni.l11)
    made = {}
    for bookable in (True, False):
        for run in RUN_STATUS.codes:
            for sharing in SHARING_STATUS.codes:
                made[(bookable, run, sharing)] = f.instrument(lab, name="组合", class_code=CLASS, bookable=bookable,
                                                              run_status=run, sharing_status=sharing)
    in_sql = set(session.scalars(sa.select(Instrument.id).where(
        Instrument.id.in_([i.id for i in made.values()]), Instrument.can_be_booked)))
    for (bookable, run, sharing), instrument in made.items():
        expected = bookable and run in ("normal", "occasional_fault") and sharing != "unsuitable"
        assert instrument.can_be_booked is expected, (bookable, run, sharing)
        assert (instrument.id in in_sql) is expected, (bookable, run, sharing)
        reason = instrument.not_bookable_reason
        # the run status is told first, then the sharing status, then the lab's switch
        assert reason == (None if expected else run if run in ("under_repair", "to_scrap", "scrapped")
                          else "unsuitable" if sharing == "unsuitable" else NOT_OPEN), (bookable, run, sharing)
    # the catalogue's and the records' own predicates, said as once
    ids = [i.id for i in made.values()]
    in_service = set(session.scalars(sa.select(Instrument.id).where(Instrument.id.in_(ids), Instrument.in_service)))
    listable = set(session.scalars(sa.select(Instrument.id).where(Instrument.id.in_(ids), Instrument.listable)))
    for (_bookable, run, sharing), instrument in made.items():
        assert instrument.in_service is (run != "scrapped") is (instrument.id in in_service), (run, sharing)
        assert instrument.listable is (run != "scrapped" and sharing != "unsuitable") is (instrument.id in listable)


def test_each_reason_is_told_in_chinese(app):
    assert set(NOT_BOOKABLE_MESSAGES) == {value for _column, value in NOT_BOOKABLE_STATUSES} | {NOT_OPEN}
    with app.test_request_context():
        for reason, text in MESSAGES.items():
            assert str(NOT_BOOKABLE_MESSAGES[reason]) == text
        assert str(NOT_BOOKABLE_MESSAGES["scrapped"]) == "该仪器已报废，不再接受预约。"


# -- the services ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_the_booking_service_takes_a_submission_only_when_bookable(session, uni, world, case):
    user = session.get(ServiceUser, uni.customer_service_user)
    submit = lambda: svc.submit(session, user, world[case], "sample", NOW, svc.Settings(),  # noqa: E731
                                sample_count=1, day=date(2026, 12, 9), accept_terms=True)
    if offered(case):
        assert submit().state == "pending"
    else:
        with pytest.raises(RuleViolation) as refused:
            submit()
        assert refused.value.errors == {"instrument_id": NOT_BOOKABLE}


@pytest.mark.parametrize("case", CASES)
def test_a_refusal_offers_only_a_bookable_instrument(session, lab_actor, world, case):
    booking = session.get(Booking, world["booking"])
    refuse = lambda: svc.refuse(session, lab_actor, booking, NOW, "排期已满",  # noqa: E731
                                alternative_instrument_id=world[case])
    if offered(case):
        assert refuse().alternative_instrument_id == world[case]
    else:
        with pytest.raises(RuleViolation) as refused:
            refuse()
        assert refused.value.errors == {"alternative_instrument_id": NOT_BOOKABLE}


@pytest.mark.parametrize("case", CASES)
def test_the_batch_takes_a_booking_only_when_bookable(session, uni, lab_actor, world, case):
    submitted = datetime(2026, 12, 1, 10, 0, tzinfo=clock.BEIJING)
    entry = booking_batch.Served(world[case], uni.customer_service_user, submitted, submitted + timedelta(hours=2),
                                 date(2026, 12, 9), 1)
    done = booking_batch.record_served(session, lab_actor, [entry], load_calendar(session))
    if offered(case):
        assert list(done.done) == [0] and not done.refused
    else:
        assert done.refused == {0: NOT_BOOKABLE} and not done.done


def test_the_calendar_search_finds_only_the_bookable(session, world):
    start = datetime(2026, 12, 8, 10, 0, tzinfo=clock.BEIJING)
    found = {i.id for i in calendar.available(session, CLASS, start, start + timedelta(hours=1), NOW,
                                              load_calendar(session))}
    assert {case for case in CASES if world[case] in found} == {"normal"}


# -- the screens and the API -----------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_the_calendar_screens_answer_404_unless_bookable(login_as, world, case):
    """To a service user; the instrument's own lab still opens its calendar (with the reason), to move or refuse
    what was booked before it broke down."""
    expected = 200 if offered(case) else 404
    span = "start=2026-12-07T00:00:00Z&end=2026-12-14T00:00:00Z"
    lab, user = login_as("lab_admin"), login_as("service_user")
    assert user.get(f"/bookings/calendar/{world[case]}").status_code == expected
    assert user.get(f"/bookings/calendar/{world[case]}/events?{span}").status_code == expected
    assert user.get(f"/bookings/book/{world[case]}").status_code == expected
    page = lab.get(f"/bookings/calendar/{world[case]}")
    assert page.status_code == 200 and lab.get(f"/bookings/calendar/{world[case]}/events?{span}").status_code == 200
    if not offered(case):
        assert MESSAGES[case] in page.get_data(as_text=True)


@pytest.mark.parametrize("case", CASES)
def test_the_availability_api_answers_404_unless_bookable(client, world, case):
    resp = client.get(f"/api/v1/availability/{world[case]}?start=2026-12-07T00:00&end=2026-12-14T00:00",
                      headers=jwt_headers(client, "service_user"))
    assert resp.status_code == (200 if offered(case) else 404)


@pytest.mark.parametrize("case", CASES)
def test_the_public_page_offers_free_times_only_when_bookable_and_says_why_not(client, world, case):
    resp = client.get(f"/public/instruments/{world[case]}")
    if case == "unsuitable":  # not shared: not in the catalogue at all
        assert resp.status_code == 404
        return
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    bookable_row = re.search(r"<th>可预约</th><td>(.*?)</td>", html).group(1)
    if offered(case):
        assert "free-slots" in html and 'href="/bookings/book/' in html and bookable_row == "是"
        assert "public-not-bookable" not in html
    else:
        assert "free-slots" not in html and "/bookings/book/" not in html and bookable_row == "否"
        assert MESSAGES[case] in html


def test_the_catalogue_says_bookable_only_of_the_bookable(client, world):
    html = client.get("/public/fees?q=可否预约仪器").get_data(as_text=True)
    told = {}
    for case in CASES:
        name = f"可否预约仪器-{case}"
        if name in html:
            row = html[html.index(name):]
            told[case] = re.findall(r"<td>([是否])</td>", row[:row.index("</tr>")])
    # the unsuitable one is not listed (not shared)
    assert told == {"normal": ["是"], "under_repair": ["否"], "to_scrap": ["否"], "not_open": ["否"]}


def test_a_refusals_comparable_instruments_are_bookable_ones(login_as, world):
    html = login_as("lab_admin").get(f"/bookingrecordview/show/{world['booking']}").get_data(as_text=True)
    select = html[html.index('name="alternative_instrument_id"'):]
    select = select[:select.index("</select>")]
    listed = {case for case in CASES if f'value="{world[case]}"' in select}
    assert listed == {"normal"}


@pytest.mark.parametrize("case", CASES)
def test_the_lab_schedules_only_on_a_bookable_instrument_and_may_still_delay(session, uni, lab_actor, world, case):
    """A booking asked before the instrument broke down: the lab cannot schedule it, it delays or refuses."""
    booking = Booking(instrument_id=world[case], user_id=uni.customer_service_user, mode="sample", state="pending",
                      sample_count=1, submitted_at=NOW, respond_by=date(2026, 12, 14), respond_by_official=True)
    session.add(booking)
    session.flush()
    schedule = lambda: svc.schedule(session, lab_actor, booking, NOW, day=date(2026, 12, 9),  # noqa: E731
                                    settings=svc.Settings())
    if offered(case):
        assert schedule().state == "scheduled"
        return
    with pytest.raises(RuleViolation) as refused:
        schedule()
    assert refused.value.errors == {"instrument_id": MESSAGES[case] + "请延期或拒绝该预约，并说明原因。"}
    assert booking.state == "pending"
    delayed = svc.delay(session, lab_actor, booking, NOW, "故障维修，待修复后安排", day=date(2026, 12, 10),
                        settings=svc.Settings())
    assert delayed.delayed and delayed.response_reason == "故障维修，待修复后安排"
