"""Booking rules and the response clock (issue 13), on the service: three modes, authorisation,
opening hours and closures, the database's own overlap rule, answers, cancellations, no-shows, and
the 5-working-day respond-by across 国庆, 春节, a 调休 Saturday and a year without official data."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from app import clock
from app.models import (Authorisation, Booking, BookingRule, Closure, DeviceEvent, DeviceStatus, Message, OpeningHours, PlatformUser, Unit,
                        UsageRecord, WorkdayOverride)
from app.services.booking import authorisations, bookings as svc
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.workdays import WorkCalendar, load_calendar

from . import factories as f

UTC = timezone.utc
SETTINGS = svc.Settings()


def bj(*args):
    """An instant given in Beijing time."""
    return datetime(*args, tzinfo=clock.BEIJING)


NOW = bj(2026, 12, 7, 9, 0)  # a Monday morning, a working day


@pytest.fixture
def lab(session, uni):
    return session.get(Unit, uni.l11)


@pytest.fixture
def inst(session, lab):
    return f.bookable_instrument(lab, name="预约测试仪器")


@pytest.fixture
def user(session):
    return f.service_user(name="自主上机用户")


@pytest.fixture
def authorised(session, user, inst):
    f.authorisation(user, inst, granted_on=date(2026, 11, 1))
    return user


def submit(session, user, inst, mode="self_operated", now=NOW, **kw):
    if mode == "self_operated":
        kw.setdefault("start", bj(2026, 12, 8, 10, 0))
        kw.setdefault("end", bj(2026, 12, 8, 12, 0))
    kw.setdefault("accept_terms", True)  # an enterprise without a contract, under the standard terms
    return svc.submit(session, user, inst.id, mode, now, SETTINGS, **kw)


def test_a_self_operated_booking_holds_its_slot_and_waits_for_the_lab(session, authorised, inst):
    booking = submit(session, authorised, inst)
    assert booking.state == "pending" and booking.respond_by == date(2026, 12, 14) and booking.respond_by_official
    assert booking.slot_start == bj(2026, 12, 8, 10, 0)
    with pytest.raises(svc.SlotTaken):  # the same slot, or one overlapping it
        submit(session, authorised, inst, start=bj(2026, 12, 8, 11, 30), end=bj(2026, 12, 8, 13, 0))
    touching = submit(session, authorised, inst, start=bj(2026, 12, 8, 12, 0), end=bj(2026, 12, 8, 13, 0))
    assert touching.state == "pending"  # [10, 12) and [12, 13) do not overlap


def test_auto_confirm_answers_at_submission(session, authorised, inst):
    session.add(BookingRule(instrument_id=inst.id, auto_confirm=True, accepts_self_operated=True, accepts_sample=True,
                            accepts_service=True, min_slot_minutes=30, max_slot_minutes=480, max_days_ahead=30,
                            min_hours_ahead=2, cancel_hours_before=24, open_on_holidays=False))
    session.flush()
    booking = submit(session, authorised, inst)
    assert booking.state == "scheduled" and booking.responded_at == NOW and booking.scheduled_end == bj(2026, 12, 8, 12, 0)


def test_self_operation_needs_a_valid_authorisation(session, user, inst):
    with pytest.raises(PolicyDenied) as refused:
        submit(session, user, inst)
    assert refused.value.code == "not_authorised" and "未获得该仪器的自主上机资格" in refused.value.message
    f.authorisation(user, inst, granted_on=date(2025, 1, 1))  # not used since: lapsed after 12 months
    with pytest.raises(PolicyDenied):
        submit(session, user, inst)
    # sample testing and technical service need none
    assert submit(session, user, inst, "sample", sample_count=3, samples="粉末 3 份").state == "pending"
    assert submit(session, user, inst, "service", purpose="XRD 物相分析及报告").state == "pending"


@pytest.mark.parametrize("state", ["suspended", "revoked"])
def test_a_suspended_or_revoked_authorisation_does_not_count(session, user, inst, state):
    f.authorisation(user, inst, granted_on=date(2026, 11, 1), state=state, reason="违规操作")
    with pytest.raises(PolicyDenied):
        submit(session, user, inst)


@pytest.mark.parametrize("kw,field,message", [
    (dict(start=bj(2026, 12, 8, 12), end=bj(2026, 12, 8, 10)), "end", "结束时间须晚于开始时间"),
    (dict(start=bj(2026, 12, 4, 10), end=bj(2026, 12, 4, 11)), "start", "该时间已过"),
    (dict(start=bj(2026, 12, 7, 10), end=bj(2026, 12, 7, 11)), "start", "请至少提前 2 小时预约"),
    (dict(start=bj(2027, 1, 20, 10), end=bj(2027, 1, 20, 11)), "start", "最多提前 30 天预约"),
    (dict(start=bj(2026, 12, 8, 10), end=bj(2026, 12, 8, 10, 15)), "end", "每次至少 30 分钟"),
    (dict(start=bj(2026, 12, 8, 8, 30), end=bj(2026, 12, 8, 17, 30, 1)), "end", "每次最多 480 分钟"),
    (dict(start=bj(2026, 12, 8, 7), end=bj(2026, 12, 8, 9)), "start", "不在开放时间内"),
    (dict(start=bj(2026, 12, 12, 10), end=bj(2026, 12, 12, 11)), "start", "不在开放时间内"),  # a Saturday
])
def test_bad_slots_are_refused_beside_the_field(app, session, authorised, inst, kw, field, message):
    with app.test_request_context():
        with pytest.raises(RuleViolation) as refused:
            submit(session, authorised, inst, **kw)
        assert message in refused.value.errors[field], refused.value.errors
    assert session.execute(sa.select(sa.func.count()).select_from(Booking).where(Booking.instrument_id == inst.id)).scalar() == 0


def test_closures_and_opening_hours_of_the_lab(app, session, authorised, inst):
    session.add(Closure(instrument_id=inst.id, kind="calibration", starts_at=bj(2026, 12, 9, 0), ends_at=bj(2026, 12, 10, 0),
                        reason="年度计量校准"))
    session.add_all([OpeningHours(instrument_id=inst.id, weekday=d, opens=time(9), closes=time(21)) for d in range(5)])
    session.flush()
    with app.test_request_context():
        with pytest.raises(RuleViolation) as closed:
            submit(session, authorised, inst, start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 11))
        assert "年度计量校准" in closed.value.errors["start"]
    assert submit(session, authorised, inst, start=bj(2026, 12, 8, 19), end=bj(2026, 12, 8, 21)).state == "pending"


def test_holidays_close_and_a_make_up_saturday_opens(session, authorised, inst):
    calendar = load_calendar(session)
    on_holiday = dict(start=bj(2026, 10, 2, 10), end=bj(2026, 10, 2, 11))  # 国庆, a Friday
    with pytest.raises(RuleViolation):
        submit(session, authorised, inst, now=bj(2026, 9, 28, 9), calendar=calendar, **on_holiday)
    make_up = submit(session, authorised, inst, now=bj(2026, 10, 8, 9), calendar=calendar,
                     start=bj(2026, 10, 10, 10), end=bj(2026, 10, 10, 11))  # 调休: Saturday 10 October is worked
    assert make_up.state == "pending"


@pytest.mark.parametrize("kw,field", [(dict(sample_count=0), "sample_count"), (dict(sample_count=-2), "sample_count"),
                                      (dict(sample_count=None), "sample_count"), (dict(sample_count=True), "sample_count")])
def test_sample_counts_must_be_positive(session, user, inst, kw, field):
    with pytest.raises(RuleViolation) as refused:
        submit(session, user, inst, "sample", **kw)
    assert field in refused.value.errors


@pytest.mark.parametrize("change", [dict(bookable=False), dict(run_status="scrapped"), dict(sharing_status="unsuitable"),
                                    dict(run_status="under_repair")])
def test_instruments_that_cannot_be_booked(session, authorised, inst, change):
    for key, value in change.items():
        setattr(inst, key, value)
    session.flush()
    with pytest.raises(RuleViolation) as refused:
        submit(session, authorised, inst)
    assert "instrument_id" in refused.value.errors


def test_an_account_awaiting_approval_and_a_suspended_user(session, authorised, inst):
    authorised.status = "pending"
    with pytest.raises(PolicyDenied) as waiting:
        submit(session, authorised, inst)
    assert waiting.value.code == "account_inactive"
    authorised.status, authorised.suspended_until, authorised.suspension_reason = "active", date(2026, 12, 31), "爽约 3 次"
    with pytest.raises(PolicyDenied) as suspended:
        submit(session, authorised, inst)
    assert suspended.value.code == "suspended" and "2026-12-31" in suspended.value.message


def test_the_database_itself_refuses_overlapping_holding_slots(session, authorised, inst):
    """Past every check of the service: two holding rows of one instrument never overlap."""
    session.add(Booking(instrument_id=inst.id, user_id=authorised.id, mode="self_operated", state="scheduled",
                        scheduled_start=bj(2026, 12, 8, 10), scheduled_end=bj(2026, 12, 8, 12), submitted_at=NOW))
    session.flush()
    session.add(Booking(instrument_id=inst.id, user_id=authorised.id, mode="self_operated", state="pending",
                        requested_start=bj(2026, 12, 8, 11), requested_end=bj(2026, 12, 8, 13), submitted_at=NOW))
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize("change", [
    {"scheduled_start": bj(2026, 12, 8, 11), "scheduled_end": bj(2026, 12, 8, 13)},   # moved into the held slot
    {"scheduled_start": None, "scheduled_end": None, "requested_start": bj(2026, 12, 8, 9),
     "requested_end": bj(2026, 12, 8, 11)},                                           # its request, overlapping
    {"state": "scheduled"},                                                           # a cancelled one revived
    {"mode": "self_operated"},                                                        # a sample booking made a slot
    {"instrument_id": "held"},                                                        # moved to the held instrument
])
def test_the_database_refuses_an_update_into_a_held_slot(session, authorised, inst, lab, change):
    """Past every check of the service, an UPDATE that makes a row overlap a holding one is refused, whichever
    column it changes (the SQLite trigger listed them; PostgreSQL's exclusion constraint; issue 21, §3)."""
    other = f.bookable_instrument(lab, name="另一台仪器")
    held = Booking(instrument_id=inst.id, user_id=authorised.id, mode="self_operated", state="scheduled",
                   scheduled_start=bj(2026, 12, 8, 10), scheduled_end=bj(2026, 12, 8, 12), submitted_at=NOW)
    moving = Booking(instrument_id=other.id if "instrument_id" in change else inst.id, user_id=authorised.id,
                     mode="sample" if "mode" in change else "self_operated",
                     state="cancelled" if "state" in change else "scheduled",
                     scheduled_start=bj(2026, 12, 8, 10, 30) if set(change) & {"state", "mode", "instrument_id"}
                     else bj(2026, 12, 8, 14),
                     scheduled_end=bj(2026, 12, 8, 11, 30) if set(change) & {"state", "mode", "instrument_id"}
                     else bj(2026, 12, 8, 15), submitted_at=NOW)
    session.add_all([held, moving])
    session.flush()
    values = {k: (inst.id if v == "held" else v) for k, v in change.items()}
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(sa.update(Booking).where(Booking.id == moving.id).values(**values))
    session.rollback()


def test_a_refused_or_cancelled_booking_frees_its_slot(session, authorised, inst, lab_actor):
    first = submit(session, authorised, inst)
    svc.refuse(session, lab_actor, first, NOW, "设备维护", alternative="12 月 10 日同一时段")
    assert submit(session, authorised, inst).state == "pending"


def test_the_lab_schedules_delays_and_refuses(app, session, authorised, inst, lab_actor):
    booking = submit(session, authorised, inst)
    svc.schedule(session, lab_actor, booking, NOW + timedelta(hours=1))
    assert booking.state == "scheduled" and booking.scheduled_start == bj(2026, 12, 8, 10) and booking.responded_at
    with pytest.raises(PolicyDenied):
        svc.schedule(session, lab_actor, booking, NOW)  # already answered
    with app.test_request_context():
        with pytest.raises(RuleViolation) as no_reason:
            svc.delay(session, lab_actor, booking, NOW, " ", start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 12))
        assert "reason" in no_reason.value.errors
    svc.delay(session, lab_actor, booking, NOW, "技术员出差", start=bj(2026, 12, 9, 14), end=bj(2026, 12, 9, 16))
    assert booking.delayed and booking.scheduled_start == bj(2026, 12, 9, 14) and booking.response_reason == "技术员出差"
    other = submit(session, authorised, inst, start=bj(2026, 12, 10, 10), end=bj(2026, 12, 10, 11))
    with pytest.raises(RuleViolation) as bare:
        svc.refuse(session, lab_actor, other, NOW, "排期已满")
    assert "alternative" in bare.value.errors
    svc.refuse(session, lab_actor, other, NOW, "排期已满", alternative_instrument_id=f.bookable_instrument(inst.unit, name="同类仪器").id)
    assert other.state == "refused" and other.alternative_instrument_id


def test_another_labs_administrator_cannot_answer(session, authorised, inst, uni):
    other_lab = f.bookable_instrument(session.get(Unit, uni.l21), name="他院仪器")
    f.authorisation(authorised, other_lab, granted_on=date(2026, 11, 1))
    booking = submit(session, authorised, other_lab)
    lab = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="lab_admin")).scalar_one())
    with pytest.raises(PolicyDenied) as refused:
        svc.schedule(session, lab, booking, NOW)
    assert refused.value.code == "out_of_chain"


def test_cancelling_before_and_after_the_deadline(session, authorised, inst, lab_actor):
    early = submit(session, authorised, inst)
    svc.schedule(session, lab_actor, early, NOW)
    svc.cancel(session, early, NOW, user=authorised)
    assert early.state == "cancelled" and not early.late_cancellation
    late = submit(session, authorised, inst)
    svc.schedule(session, lab_actor, late, NOW)
    svc.cancel(session, late, bj(2026, 12, 8, 9), user=authorised)  # an hour before, deadline 24 h
    assert late.late_cancellation
    stranger = f.service_user(name="他人")
    third = submit(session, authorised, inst)
    with pytest.raises(PolicyDenied) as not_yours:
        svc.cancel(session, third, NOW, user=stranger)
    assert not_yours.value.code == "not_yours"


def _scheduled(session, user, inst, lab_actor, start, end):
    booking = submit(session, user, inst, start=start, end=end)
    svc.schedule(session, lab_actor, booking, NOW)
    return booking


def test_no_show_without_use_and_the_suspension_rule(session, authorised, inst, lab_actor):
    slots = [(bj(2026, 12, 8, 9), bj(2026, 12, 8, 10)), (bj(2026, 12, 9, 9), bj(2026, 12, 9, 10)),
             (bj(2026, 12, 10, 9), bj(2026, 12, 10, 10))]
    bookings = [_scheduled(session, authorised, inst, lab_actor, *s) for s in slots]
    used, *missed = bookings
    session.add(UsageRecord(instrument_id=inst.id, booking_id=used.id, user_id=authorised.id, started_at=bj(2026, 12, 8, 9, 5),
                            ended_at=bj(2026, 12, 8, 10), source="manual"))
    session.flush()
    assert svc.mark_no_shows(session, bj(2026, 12, 8, 9, 20), SETTINGS) == []  # within the grace
    marked = svc.mark_no_shows(session, bj(2026, 12, 11, 9), SETTINGS)
    assert marked == missed and used.state == "scheduled" and all(b.state == "no_show" for b in missed)
    assert authorised.suspended_until is None  # two, the limit is three
    third = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 11, 14), bj(2026, 12, 11, 15))
    svc.mark_no_shows(session, bj(2026, 12, 11, 16), SETTINGS)
    assert third.state == "no_show" and authorised.suspended_until == date(2027, 1, 10)
    with pytest.raises(PolicyDenied) as suspended:
        submit(session, authorised, inst, now=bj(2026, 12, 12, 9), start=bj(2026, 12, 14, 10), end=bj(2026, 12, 14, 11))
    assert suspended.value.code == "suspended"


def test_a_user_within_the_grace_is_not_a_no_show(session, authorised, inst, lab_actor):
    """The grace counts from the slot's start: ten minutes late, nothing is marked; past it, the slot is a
    no-show (a rule that forgot the grace marked a user who was only late; issue 21, §3)."""
    slot = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 9, 9), bj(2026, 12, 9, 10))
    assert svc.mark_no_shows(session, bj(2026, 12, 9, 9, 10), SETTINGS) == [] and slot.state == "scheduled"
    assert svc.mark_no_shows(session, bj(2026, 12, 9, 9, 29), SETTINGS) == [] and slot.state == "scheduled"
    assert svc.mark_no_shows(session, bj(2026, 12, 9, 9, 30), SETTINGS) == [slot] and slot.state == "no_show"


def test_terminal_data_decides_a_no_show(session, authorised, lab, lab_actor):
    inst = f.bookable_instrument(lab, name="带终端仪器", iot_terminal_id=f"ns-{id(lab)}")
    f.authorisation(authorised, inst, granted_on=date(2026, 11, 1))
    ran = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 9), bj(2026, 12, 8, 10))
    broken = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 9, 9), bj(2026, 12, 9, 10))
    absent = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 10, 9), bj(2026, 12, 10, 10))
    # the terminal measured a run in the first slot (no use registered), and a fault before the second
    session.add(UsageRecord(instrument_id=inst.id, started_at=bj(2026, 12, 8, 9, 10), ended_at=bj(2026, 12, 8, 9, 50),
                            source="iot"))
    session.add(DeviceEvent(terminal_id=inst.iot_terminal_id, from_state="idle", to_state="fault", at=bj(2026, 12, 9, 8, 40)))
    session.add(DeviceEvent(terminal_id=inst.iot_terminal_id, from_state="fault", to_state="idle", at=bj(2026, 12, 9, 11)))
    session.flush()
    assert svc.mark_no_shows(session, bj(2026, 12, 10, 12), SETTINGS) == [absent]
    assert ran.state == broken.state == "scheduled"


@pytest.mark.parametrize("submitted,expected,official", [
    (bj(2025, 9, 30, 16), date(2025, 10, 14), True),   # 国庆: 1–8 October off, Saturday 11 October worked
    (bj(2026, 2, 13, 10), date(2026, 2, 27), True),    # 春节: the make-up Saturday 14 February counts, 15–23 off
    (bj(2026, 2, 13, 23, 30), date(2026, 2, 27), True),  # 15:30 UTC: still 13 February in Beijing
    (datetime(2026, 2, 13, 16, 30, tzinfo=UTC), date(2026, 2, 28), True),  # 00:30 on 14 February in Beijing; 28th worked
    (bj(2027, 3, 1, 10), date(2027, 3, 8), False),     # no official data for 2027
])
def test_respond_by_on_the_chinese_calendar(submitted, expected, official):
    deadline = svc.respond_by(WorkCalendar(), submitted)
    assert (deadline.day, deadline.official) == (expected, official)


def test_an_override_makes_a_year_without_data_official(session):
    days = [date(2027, 3, 1) + timedelta(days=i) for i in range(1, 8)]
    session.add_all([WorkdayOverride(day=d, is_workday=d.weekday() < 5, note="2027 年安排（管理员录入）") for d in days])
    session.flush()
    deadline = svc.respond_by(load_calendar(session), bj(2027, 3, 1, 10))
    assert (deadline.day, deadline.official) == (date(2027, 3, 8), True)


def test_overdue_is_a_pending_booking_past_its_respond_by(session, authorised, inst):
    booking = submit(session, authorised, inst)
    assert not svc.is_overdue(booking, date(2026, 12, 14)) and svc.is_overdue(booking, date(2026, 12, 15))
    found = session.execute(sa.select(Booking.id).where(svc.overdue_clause(date(2026, 12, 15)), Booking.id == booking.id)).all()
    assert found



# -- the lab's answers refused (issue 21, §3: untested refusals that matter) -------------------------------

@pytest.mark.parametrize("mode", ["sample", "service"])
def test_the_lab_schedules_a_sample_or_service_day_by_the_day_rules(session, user, inst, lab_actor, mode):
    kw = {"sample_count": 2} if mode == "sample" else {"purpose": "物相分析"}
    booking = submit(session, user, inst, mode, **kw)
    with pytest.raises(RuleViolation) as no_day:  # none asked for, none given
        svc.schedule(session, lab_actor, booking, NOW)
    assert set(no_day.value.errors) == {"date"}
    for day in (date(2026, 12, 5), date(2026, 12, 12), date(2026, 12, 6)):  # past, a Saturday, a Sunday
        with pytest.raises(RuleViolation) as closed:
            svc.schedule(session, lab_actor, booking, NOW, day=day)
        assert set(closed.value.errors) == {"date"}, day
    session.add(Closure(instrument_id=inst.id, kind="maintenance", reason="年度校准",
                        starts_at=bj(2026, 12, 9, 0), ends_at=bj(2026, 12, 10, 0)))
    session.flush()
    with pytest.raises(RuleViolation) as closure:  # the whole day closed for calibration
        svc.schedule(session, lab_actor, booking, NOW, day=date(2026, 12, 9))
    assert set(closure.value.errors) == {"date"} and booking.state == "pending"
    svc.schedule(session, lab_actor, booking, NOW, day=date(2026, 12, 10))  # positive control
    assert (booking.state, booking.scheduled_date) == ("scheduled", date(2026, 12, 10))


def test_the_lab_cannot_schedule_an_outside_users_day_without_its_contract_cover(session, user, inst, lab_actor):
    """An API client that never accepted the standard terms, and no contract: the lab may not schedule it."""
    booking = submit(session, user, inst, "sample", sample_count=1, accept_terms=None)
    assert booking.terms_accepted_at is None and booking.contract_id is None
    with pytest.raises(PolicyDenied) as uncovered:
        svc.schedule(session, lab_actor, booking, NOW, day=date(2026, 12, 10))
    assert uncovered.value.code == "no_contract" and booking.state == "pending" and booking.scheduled_date is None


def test_a_delay_needs_its_reason_and_its_new_time_and_a_refusal_its_alternative(session, user, authorised, inst,
                                                                                 lab_actor, lab):
    slot = submit(session, authorised, inst)
    day = submit(session, user, inst, "sample", sample_count=1, start=None, end=None)
    cases = [
        (lambda: svc.delay(session, lab_actor, slot, NOW, "  ", start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 12)),
         {"reason"}),
        (lambda: svc.delay(session, lab_actor, slot, NOW, "设备维护"), {"start"}),
        (lambda: svc.delay(session, lab_actor, day, NOW, "设备维护"), {"date"}),
        (lambda: svc.refuse(session, lab_actor, slot, NOW, "", alternative=""), {"reason", "alternative"}),
        (lambda: svc.refuse(session, lab_actor, slot, NOW, "设备维护", alternative=" "), {"alternative"}),
        (lambda: svc.refuse(session, lab_actor, slot, NOW, "设备维护",
                            alternative_instrument_id=f.bookable_instrument(lab, name="报废仪器", run_status="scrapped").id),
         {"alternative_instrument_id"}),
    ]
    for call, fields in cases:
        with pytest.raises(RuleViolation) as refused:
            call()
        assert set(refused.value.errors) == fields
    assert (slot.state, day.state, slot.response_reason, slot.alternative) == ("pending", "pending", None, None)
    svc.refuse(session, lab_actor, slot, NOW, "设备维护", alternative="12 月 10 日同一时段")  # positive control
    assert slot.state == "refused"


# -- exact refusals, fields written, boundaries (mutation testing of app/services/booking/bookings.py) ----------

def _rule(session, inst, **kw):
    values = dict(auto_confirm=False, accepts_self_operated=True, accepts_sample=True, accepts_service=True,
                  min_slot_minutes=30, max_slot_minutes=480, max_days_ahead=30, min_hours_ahead=2,
                  cancel_hours_before=24, open_on_holidays=False)
    values.update(kw)
    session.add(BookingRule(instrument_id=inst.id, **values))
    session.flush()


@pytest.fixture
def reachable(session, user):
    """The user with an active account, so that the steps' messages reach it (rolled back with the test)."""
    user.account = PlatformUser(username=f"booking-user-{user.id}", first_name="用户", last_name="预约",
                                email=f"booking-user-{user.id}@example.com", active=True)
    session.flush()
    return user


def _message(session, booking, kind):
    return session.execute(sa.select(Message).where(Message.booking_id == booking.id, Message.kind == kind)).scalar_one()


@pytest.mark.parametrize("reason,expected", [("爽约 3 次", "您的自主上机预约已暂停至 2026-12-31：爽约 3 次"),
                                             (None, "您的自主上机预约已暂停至 2026-12-31：")])
def test_a_suspended_user_is_told_the_day_and_the_reason(session, authorised, inst, reason, expected):
    authorised.suspended_until, authorised.suspension_reason = date(2026, 12, 31), reason
    with pytest.raises(PolicyDenied) as suspended:
        submit(session, authorised, inst)
    assert suspended.value.message == expected


@pytest.mark.parametrize("ends", [dict(start=bj(2026, 12, 9, 10)), dict(end=bj(2026, 12, 9, 12))])
def test_a_delayed_slot_needs_both_its_start_and_its_end(session, authorised, inst, lab_actor, ends):
    booking = submit(session, authorised, inst)
    with pytest.raises(RuleViolation) as refused:
        svc.delay(session, lab_actor, booking, NOW, "设备维护", **ends)
    assert refused.value.errors == {"start": "请填写预约时段的开始和结束时间。"} and booking.state == "pending"


def test_a_delayed_day_booking_gets_the_day_given_and_keeps_its_first_answer_time(session, user, inst, lab_actor):
    booking = submit(session, user, inst, "sample", sample_count=2, day=date(2026, 12, 9))
    first = NOW + timedelta(hours=1)
    svc.delay(session, lab_actor, booking, first, " 样品排队 ", day=date(2026, 12, 10))
    assert (booking.state, booking.scheduled_date, booking.delayed, booking.response_reason, booking.responded_at) == (
        "scheduled", date(2026, 12, 10), True, "样品排队", first)
    svc.delay(session, lab_actor, booking, first + timedelta(hours=1), "再次顺延", day=date(2026, 12, 11))
    assert (booking.scheduled_date, booking.responded_at) == (date(2026, 12, 11), first)  # answered at the first
    with pytest.raises(RuleViolation) as no_day:  # the wished-for day is not a new one
        svc.delay(session, lab_actor, booking, first, "再次顺延")
    assert no_day.value.errors == {"date": "请填写日期。"}


def test_a_delay_applies_the_configured_standard_terms_rule(session, authorised, inst, lab_actor):
    """An outside user under the standard terms, no contract: where the school turned the terms off, the
    lab cannot move its booking (the settings given, not the defaults, decide)."""
    booking = submit(session, authorised, inst)
    assert booking.terms_accepted_at is not None and booking.contract_id is None
    with pytest.raises(PolicyDenied) as uncovered:
        svc.delay(session, lab_actor, booking, NOW, "设备维护", start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 12),
                  settings=svc.Settings(standard_terms=0))
    assert uncovered.value.code == "no_contract" and booking.state == "pending"
    svc.delay(session, lab_actor, booking, NOW, "设备维护", start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 12),
              settings=svc.Settings(standard_terms=1))
    assert booking.scheduled_start == bj(2026, 12, 9, 10)


def test_a_refusal_names_each_missing_part_with_its_message(session, authorised, inst, lab_actor, lab):
    booking = submit(session, authorised, inst)
    with pytest.raises(RuleViolation) as bare:
        svc.refuse(session, lab_actor, booking, NOW, " ", alternative=None)
    assert bare.value.errors == {"reason": "请填写原因。", "alternative": "请提供替代方案：其他时间或同类仪器。"}
    scrapped = f.bookable_instrument(lab, name="报废仪器", run_status="scrapped")
    with pytest.raises(RuleViolation) as unusable:
        svc.refuse(session, lab_actor, booking, NOW, "设备维护", alternative_instrument_id=scrapped.id)
    assert unusable.value.errors == {"alternative_instrument_id": "该仪器无法预约：未开放预约、不对外共享或不在服役状态。"}


def test_a_refusal_records_its_reason_its_offer_and_the_first_answer_time(session, authorised, inst, lab_actor, lab):
    other = f.bookable_instrument(lab, name="同类仪器")
    answered = submit(session, authorised, inst)
    svc.schedule(session, lab_actor, answered, NOW)
    svc.refuse(session, lab_actor, answered, NOW + timedelta(hours=1), " 设备故障 ", alternative_instrument_id=other.id)
    assert (answered.state, answered.response_reason, answered.alternative, answered.alternative_instrument_id,
            answered.responded_at) == ("refused", "设备故障", None, other.id, NOW)  # no text offer: none stored
    fresh = submit(session, authorised, inst, start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 11))
    svc.refuse(session, lab_actor, fresh, NOW + timedelta(hours=2), "排期已满", alternative=" 12 月 10 日 ")
    assert (fresh.alternative, fresh.responded_at) == ("12 月 10 日", NOW + timedelta(hours=2))


def test_the_users_messages_are_dated_at_the_lab_answer(session, reachable, inst, lab_actor):
    moved = submit(session, reachable, inst, "sample", sample_count=1)
    refused = submit(session, reachable, inst, "service", purpose="物相分析")
    at = NOW + timedelta(minutes=17)
    svc.delay(session, lab_actor, moved, at, "样品排队", day=date(2026, 12, 10))
    svc.refuse(session, lab_actor, refused, at, "排期已满", alternative="下周")
    assert _message(session, moved, "delayed").created_at == at
    assert _message(session, refused, "refused").created_at == at


def test_a_day_booking_cancelled_by_its_user_is_late_within_the_deadline_before_its_day(session, user, inst, lab_actor):
    """A sample or service booking starts when its day begins in Beijing; one still waiting for its day is not late."""
    tomorrow = submit(session, user, inst, "sample", sample_count=1)
    svc.schedule(session, lab_actor, tomorrow, NOW, day=date(2026, 12, 8))  # starts 12-08 00:00, deadline 12-07 00:00
    svc.cancel(session, tomorrow, NOW, user=user)
    later = submit(session, user, inst, "sample", sample_count=1)
    svc.schedule(session, lab_actor, later, NOW, day=date(2026, 12, 10))
    svc.cancel(session, later, NOW, user=user)
    undated = submit(session, user, inst, "service", purpose="物相分析")
    svc.cancel(session, undated, NOW, user=user)
    assert [(b.state, b.late_cancellation) for b in (tomorrow, later, undated)] == [
        ("cancelled", True), ("cancelled", False), ("cancelled", False)]


def test_the_instruments_own_cancellation_deadline_and_its_boundary(session, authorised, inst, lab_actor):
    _rule(session, inst, cancel_hours_before=48)
    at_deadline = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 9, 10), bj(2026, 12, 9, 11))
    past_deadline = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 9, 14), bj(2026, 12, 9, 15))
    svc.cancel(session, at_deadline, bj(2026, 12, 7, 10), user=authorised)  # exactly 48 h before: still in time
    svc.cancel(session, past_deadline, bj(2026, 12, 7, 14, 1), user=authorised)  # 47 h 59 min before
    assert (at_deadline.late_cancellation, past_deadline.late_cancellation) == (False, True)


def test_a_cancellation_by_its_user_tells_the_lab_at_that_time(session, authorised, inst, lab_actor):
    booking = submit(session, authorised, inst)
    at = NOW + timedelta(minutes=23)
    svc.cancel(session, booking, at, user=authorised)
    assert _message(session, booking, "cancelled").created_at == at and booking.cancelled_at == at


def test_cancelling_another_users_booking_is_refused_with_its_message(session, authorised, inst):
    booking = submit(session, authorised, inst)
    with pytest.raises(PolicyDenied) as refused:
        svc.cancel(session, booking, NOW, user=f.service_user(name="他人"))
    assert (refused.value.code, refused.value.message) == ("not_yours", "这不是您的预约。")


def test_only_an_open_manual_use_of_the_booking_itself_stops_its_cancellation(session, authorised, inst, lab_actor):
    in_use = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 9), bj(2026, 12, 8, 10))
    other = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 14), bj(2026, 12, 8, 15))
    session.add_all([
        UsageRecord(instrument_id=inst.id, booking_id=in_use.id, user_id=authorised.id, started_at=bj(2026, 12, 8, 9),
                    source="manual"),                                              # open, of the first booking
        UsageRecord(instrument_id=inst.id, booking_id=other.id, user_id=authorised.id, started_at=bj(2026, 12, 8, 8),
                    ended_at=bj(2026, 12, 8, 8, 30), source="manual"),             # ended
        UsageRecord(instrument_id=inst.id, booking_id=other.id, started_at=bj(2026, 12, 8, 8, 40), source="iot"),  # a run
    ])
    session.flush()
    with pytest.raises(PolicyDenied) as refused:
        svc.cancel(session, in_use, bj(2026, 12, 8, 9, 30), user=authorised)
    assert (refused.value.code, refused.value.message) == ("in_use", "该预约正在使用中，请结束使用，不能取消。")
    svc.cancel(session, other, bj(2026, 12, 8, 9, 30), user=authorised)
    assert (in_use.state, other.state) == ("scheduled", "cancelled")


SLOT = (bj(2026, 12, 8, 10), bj(2026, 12, 8, 11))
AFTER_SLOT = bj(2026, 12, 8, 12)


def _at(minutes):
    """An instant `minutes` after SLOT's start (the grace is 30 minutes)."""
    return SLOT[0] + timedelta(minutes=minutes)


@pytest.mark.parametrize("events,no_show", [
    ([("own", "off", -20)], False),      # off when the slot began
    ([("own", "fault", 0)], False),      # a fault reported at the very start
    ([("other", "fault", -20)], True),   # another terminal's fault
    ([("own", "fault", 10)], False),     # a fault within the grace
    ([("own", "off", 30)], False),       # switched off as the grace ends
    ([("own", "fault", 31)], True),      # a fault after the grace
    ([("own", "idle", 10)], True),       # idle is no excuse
    ([("other", "fault", 10)], True),    # another terminal's fault within the grace
])
def test_an_off_or_fault_state_of_the_own_terminal_at_the_start_or_within_the_grace_excuses(
        session, authorised, lab, lab_actor, events, no_show):
    inst = f.bookable_instrument(lab, name="带终端仪器", iot_terminal_id="excuse-terminal")
    f.authorisation(authorised, inst, granted_on=date(2026, 11, 1))
    booking = _scheduled(session, authorised, inst, lab_actor, *SLOT)
    for terminal, state, minutes in events:
        session.add(DeviceEvent(terminal_id=inst.iot_terminal_id if terminal == "own" else "another-terminal",
                                from_state="idle", to_state=state, at=_at(minutes)))
    session.flush()
    assert svc.mark_no_shows(session, AFTER_SLOT, SETTINGS) == ([booking] if no_show else [])


@pytest.mark.parametrize("use,no_show", [
    (dict(instrument="other", source="iot", started=5, ended=40), True),   # another instrument's run
    (dict(instrument="own", source="manual", started=5, ended=40), True),  # a use registered for no booking
    (dict(instrument="own", source="iot", started=31, ended=50), True),    # a run begun after the grace
    (dict(instrument="own", source="iot", started=30, ended=50), False),   # a run begun as the grace ends
    (dict(instrument="own", source="iot", started=5, ended=None), False),  # a run still going
    (dict(instrument="own", source="iot", started=-60, ended=0), False),   # a run that ended as the slot began
])
def test_only_a_run_of_the_own_terminal_begun_within_the_grace_counts_as_use(session, authorised, lab, lab_actor, use,
                                                                            no_show):
    inst = f.bookable_instrument(lab, name="带终端仪器", iot_terminal_id="use-terminal")
    other = f.bookable_instrument(lab, name="另一台仪器")
    f.authorisation(authorised, inst, granted_on=date(2026, 11, 1))
    booking = _scheduled(session, authorised, inst, lab_actor, *SLOT)
    session.add(UsageRecord(instrument_id=(inst if use["instrument"] == "own" else other).id, source=use["source"],
                            started_at=_at(use["started"]),
                            ended_at=None if use["ended"] is None else _at(use["ended"])))
    session.flush()
    assert svc.mark_no_shows(session, AFTER_SLOT, SETTINGS) == ([booking] if no_show else [])


@pytest.mark.parametrize("running_since,no_show", [(10, False), (30, False), (31, True)])
def test_a_terminal_running_since_within_the_grace_counts_as_use(session, authorised, lab, lab_actor, running_since,
                                                                 no_show):
    inst = f.bookable_instrument(lab, name="带终端仪器", iot_terminal_id="running-terminal")
    f.authorisation(authorised, inst, granted_on=date(2026, 11, 1))
    booking = _scheduled(session, authorised, inst, lab_actor, *SLOT)
    session.add(DeviceStatus(terminal_id=inst.iot_terminal_id, state="running", reported_at=_at(running_since),
                             running_since=_at(running_since)))
    session.flush()
    assert svc.mark_no_shows(session, AFTER_SLOT, SETTINGS) == ([booking] if no_show else [])


def test_no_shows_are_returned_in_slot_order_and_answered_slots_never_become_one(session, authorised, inst, lab_actor):
    later = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 14), bj(2026, 12, 8, 15))
    earlier = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 9), bj(2026, 12, 8, 10))
    cancelled = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 10), bj(2026, 12, 8, 11))
    svc.cancel(session, cancelled, NOW, actor=lab_actor)
    refused = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 8, 11), bj(2026, 12, 8, 12))
    svc.refuse(session, lab_actor, refused, NOW, "设备故障", alternative="下周同一时段")
    assert svc.mark_no_shows(session, bj(2026, 12, 8, 16), SETTINGS) == [earlier, later]
    assert (cancelled.state, refused.state, cancelled.no_show_at, refused.no_show_at) == ("cancelled", "refused", None, None)


def _past_no_show(session, user, inst, at, hours_before=1):
    """A self-operated booking marked a no-show at `at`, its hour-long slot beginning `hours_before` earlier."""
    start = at - timedelta(hours=hours_before)
    session.add(Booking(instrument_id=inst.id, user_id=user.id, mode="self_operated", state="no_show",
                        scheduled_start=start, scheduled_end=start + timedelta(hours=1),
                        submitted_at=start - timedelta(days=3), no_show_at=at))
    session.flush()


MARKED_AT = bj(2026, 12, 8, 12)  # when the fresh no-show of SLOT is marked


@pytest.mark.parametrize("earlier,suspended", [
    (MARKED_AT - timedelta(days=90), True),              # the window's first instant counts
    (MARKED_AT - timedelta(days=90, seconds=1), False),  # just outside it
])
def test_no_shows_count_within_the_window_from_its_first_instant(session, authorised, inst, lab_actor, earlier,
                                                                 suspended):
    _past_no_show(session, authorised, inst, earlier, hours_before=1)
    _past_no_show(session, authorised, inst, earlier, hours_before=3)
    booking = _scheduled(session, authorised, inst, lab_actor, *SLOT)
    assert svc.mark_no_shows(session, MARKED_AT, SETTINGS) == [booking]
    assert authorised.suspended_until == (date(2027, 1, 7) if suspended else None)


def test_only_the_users_own_no_shows_count(session, authorised, inst, lab_actor):
    neighbour = f.service_user(name="他人")
    _past_no_show(session, neighbour, inst, bj(2026, 12, 1, 10))
    _past_no_show(session, neighbour, inst, bj(2026, 12, 2, 10))
    booking = _scheduled(session, authorised, inst, lab_actor, *SLOT)
    assert svc.mark_no_shows(session, MARKED_AT, SETTINGS) == [booking]
    assert (authorised.suspended_until, neighbour.suspended_until) == (None, None)


def test_a_suspension_in_force_today_is_not_extended(session, authorised, inst, lab_actor):
    _past_no_show(session, authorised, inst, bj(2026, 12, 1, 10))
    _past_no_show(session, authorised, inst, bj(2026, 12, 2, 10))
    booking = _scheduled(session, authorised, inst, lab_actor, *SLOT)
    authorised.suspended_until, authorised.suspension_reason = date(2026, 12, 8), "此前爽约"  # its last day
    assert svc.mark_no_shows(session, MARKED_AT, SETTINGS) == [booking]
    assert (authorised.suspended_until, authorised.suspension_reason) == (date(2026, 12, 8), "此前爽约")


def test_a_suspension_states_its_reason_and_tells_the_user_when_marked(session, reachable, inst, lab_actor):
    f.authorisation(reachable, inst, granted_on=date(2026, 11, 1))
    _past_no_show(session, reachable, inst, bj(2026, 12, 1, 10))
    _past_no_show(session, reachable, inst, bj(2026, 12, 2, 10))
    booking = _scheduled(session, reachable, inst, lab_actor, *SLOT)
    assert svc.mark_no_shows(session, MARKED_AT, SETTINGS) == [booking]
    assert (booking.no_show_at, reachable.suspended_until, reachable.suspension_reason) == (
        MARKED_AT, date(2027, 1, 7), "90 天内爽约 3 次")
    assert _message(session, booking, "no_show").created_at == MARKED_AT
    told = session.execute(sa.select(Message).where(Message.recipient_id == reachable.account_id,
                                                    Message.kind == "suspended")).scalar_one()
    assert told.created_at == MARKED_AT and "2027-01-07" in told.subject


def test_settings_take_the_known_booking_keys_as_whole_numbers():
    assert svc.Settings.of({}) == svc.Settings()
    assert svc.Settings.of({"BOOKING": {"no_show_limit": "5", "standard_terms": 0, "unknown": 9}}) == svc.Settings(
        no_show_limit=5, standard_terms=0)


@pytest.mark.parametrize("months,last_used,today,state", [
    (12, date(2025, 12, 7), date(2026, 12, 7), "active"),   # exactly 12 months: still valid
    (12, date(2025, 12, 6), date(2026, 12, 7), "lapsed"),
    (12, date(2023, 2, 28), date(2024, 2, 29), "active"),   # from a leap day: back to 28 February
    (12, date(2023, 2, 27), date(2024, 2, 29), "lapsed"),
    (1, date(2024, 2, 29), date(2024, 3, 31), "active"),    # into a leap February: its 29th
    (1, date(2024, 2, 28), date(2024, 3, 31), "lapsed"),
    (1, date(2100, 2, 28), date(2100, 3, 31), "active"),    # 2100 is no leap year
    (1, date(2100, 2, 27), date(2100, 3, 31), "lapsed"),
    (1, date(2000, 2, 28), date(2000, 3, 31), "lapsed"),    # 2000 is one
])
def test_an_authorisation_lapses_after_the_configured_months_without_use(months, last_used, today, state):
    settings = svc.Settings(authorisation_lapse_months=months)
    authorisation = Authorisation(state="active", granted_on=date(1999, 1, 1), last_used_on=last_used)
    assert authorisations.effective_state(authorisation, today, settings) == state
    assert authorisations.effective_state(Authorisation(state="suspended", granted_on=today), today, settings) == "suspended"


@pytest.mark.parametrize("until,denied", [(date(2026, 12, 7), True), (date(2026, 12, 6), False)])
def test_a_suspension_holds_through_its_last_day(session, authorised, inst, until, denied):
    authorised.suspended_until, authorised.suspension_reason = until, "爽约 3 次"
    if denied:
        with pytest.raises(PolicyDenied) as suspended:
            submit(session, authorised, inst)
        assert suspended.value.code == "suspended"
    else:
        assert submit(session, authorised, inst).state == "pending"


def test_only_a_pending_booking_past_its_respond_by_is_overdue(session, authorised, inst, lab_actor):
    pending = submit(session, authorised, inst)
    answered = _scheduled(session, authorised, inst, lab_actor, bj(2026, 12, 9, 10), bj(2026, 12, 9, 11))
    assert answered.respond_by == pending.respond_by == date(2026, 12, 14)

    def overdue(day):
        return session.execute(sa.select(Booking.id).where(svc.overdue_clause(day), Booking.instrument_id == inst.id)
                               ).scalars().all()

    assert (overdue(date(2026, 12, 14)), overdue(date(2026, 12, 15))) == ([], [pending.id])
    assert not svc.is_overdue(answered, date(2026, 12, 15))
    pending.respond_by = None
    assert not svc.is_overdue(pending, date(2026, 12, 15))


# -- what mutation testing of app/services/booking/bookings.py left unpinned (second round) --------------------------

SLOT_NEEDED = "请填写预约时段的开始和结束时间。"
TAKEN = "该时段已被预约，请选择其他时间。"


@pytest.mark.parametrize("months,last_used,today,state", [
    (1, date(2026, 4, 30), date(2026, 5, 31), "active"),    # back into a 30-day month: its 30th
    (1, date(2026, 4, 29), date(2026, 5, 31), "lapsed"),
    (1, date(2026, 6, 30), date(2026, 7, 31), "active"),
    (1, date(2026, 9, 30), date(2026, 10, 31), "active"),
    (1, date(2026, 11, 30), date(2026, 12, 31), "active"),
    (13, date(2025, 12, 7), date(2027, 1, 7), "active"),    # over a year back: two year ends crossed
    (13, date(2025, 12, 6), date(2027, 1, 7), "lapsed"),
])
def test_the_lapse_counts_whole_months_back_to_the_last_day_of_a_short_month(months, last_used, today, state):
    authorisation = Authorisation(state="active", granted_on=date(1999, 1, 1), last_used_on=last_used)
    assert authorisations.effective_state(authorisation, today, svc.Settings(authorisation_lapse_months=months)) == state


@pytest.mark.parametrize("instrument", ["to_scrap", "none"])
def test_an_instrument_to_be_scrapped_or_none_at_all_cannot_be_booked(session, authorised, inst, instrument):
    if instrument == "to_scrap":
        inst.run_status = "to_scrap"
        session.flush()
    with pytest.raises(RuleViolation) as refused:  # no instrument: refused beside the field, nothing looked up
        svc.submit(session, authorised, inst.id if instrument == "to_scrap" else None, "self_operated", NOW, SETTINGS,
                   start=bj(2026, 12, 8, 10), end=bj(2026, 12, 8, 12), accept_terms=True)
    assert refused.value.errors == {"instrument_id": "该仪器无法预约：未开放预约、不对外共享或不在服役状态。"}


def test_an_account_awaiting_approval_is_told_so(session, authorised, inst):
    authorised.status = "pending"
    with pytest.raises(PolicyDenied) as waiting:
        submit(session, authorised, inst)
    assert (waiting.value.code, waiting.value.message) == ("account_inactive", "您的账号尚未生效：正在等待管理员审核。")


@pytest.mark.parametrize("mode,kw,errors", [
    ("bogus", {}, {"mode": "取值必须是以下之一：self_operated, sample, service。"}),
    ("sample", dict(sample_count=1, setup="no_samples"), {"mode": "该仪器不接受此类预约。"}),  # the instrument's rule
    ("self_operated", dict(start=None), {"start": SLOT_NEEDED}),  # either end missing
    ("self_operated", dict(end=None), {"start": SLOT_NEEDED}),
    ("service", dict(purpose=None), {"purpose": "请说明所需的技术服务内容。"}),
    ("service", dict(purpose="  "), {"purpose": "请说明所需的技术服务内容。"}),
    ("sample", dict(sample_count=0), {"sample_count": "请填写样品数量（不少于 1 的整数）。"}),
    ("sample", dict(sample_count=1, day=date(2026, 12, 4)), {"date": "该时间已过，请选择以后的时间。"}),
    ("sample", dict(sample_count=1, day=date(2026, 12, 9), setup="closed_day"), {"date": "该仪器当天不接受服务。"}),
])
def test_a_refused_submission_names_its_field_with_its_message_and_stores_nothing(session, authorised, inst, mode, kw,
                                                                                   errors):
    kw = dict(kw)
    setup = kw.pop("setup", None)
    if setup == "no_samples":
        _rule(session, inst, accepts_sample=False)
    elif setup == "closed_day":  # the instrument's own closure, the whole day
        session.add(Closure(instrument_id=inst.id, kind="calibration", reason="年度计量校准",
                            starts_at=bj(2026, 12, 9, 0), ends_at=bj(2026, 12, 10, 0)))
        session.flush()
    with pytest.raises(RuleViolation) as refused:
        submit(session, authorised, inst, mode, **kw)
    assert refused.value.errors == errors
    assert session.execute(sa.select(sa.func.count()).select_from(Booking).where(Booking.instrument_id == inst.id)).scalar() == 0


def test_a_submission_stores_what_was_asked_and_tells_both_sides_at_its_time(session, reachable, inst):
    at = NOW + timedelta(minutes=7)
    booking = submit(session, reachable, inst, "sample", now=at, sample_count=3, day=date(2026, 12, 9), samples="粉末 3 份",
                     hazards="无", disposal="退回用户")
    assert (booking.state, booking.submitted_at, booking.sample_count, booking.requested_date, booking.purpose,
            booking.samples, booking.sample_hazards, booking.sample_disposal) == (
        "pending", at, 3, date(2026, 12, 9), None, "粉末 3 份", "无", "退回用户")  # no description given: none stored
    told = session.execute(sa.select(Message.recipient_id, Message.created_at).where(
        Message.booking_id == booking.id, Message.kind == "submitted")).all()
    assert reachable.account_id in {r for r, _ in told} and {t for _, t in told} == {at}


def test_the_contract_recorded_is_the_one_covering_the_day_of_the_slot(session, authorised, inst):
    """Submitted on 7 December for 8 December: a contract in force from the 8th covers it, and is recorded."""
    from_tomorrow = f.contract(authorised.org, inst.unit, number=f"预约合同-{authorised.id}", valid_from=date(2026, 12, 8))
    session.add(from_tomorrow)
    session.flush()
    booking = submit(session, authorised, inst)
    assert (booking.contract_id, booking.terms_accepted_at) == (from_tomorrow.id, None)


@pytest.mark.parametrize("who,cover,state", [
    ("outside", None, "pending"),          # neither a contract nor the terms: the lab arranges cover first
    ("outside", "terms", "scheduled"),
    ("outside", "contract", "scheduled"),
    ("campus", None, "scheduled"),         # an inside user needs no cover
])
def test_auto_confirm_needs_an_outside_users_cover_and_none_of_a_campus_user(session, inst, who, cover, state):
    _rule(session, inst, auto_confirm=True)
    org = f.customer(category="campus", affiliated=True) if who == "campus" else f.customer()
    customer = f.service_user(org, name="自动确认用户")
    f.authorisation(customer, inst, granted_on=date(2026, 11, 1))
    if cover == "contract":
        session.add(f.contract(org, inst.unit, number=f"自动确认-{customer.id}"))
        session.flush()
    booking = submit(session, customer, inst, accept_terms=True if cover == "terms" else None)
    assert (booking.state, booking.responded_at, booking.scheduled_start) == (
        (state, NOW, bj(2026, 12, 8, 10)) if state == "scheduled" else (state, None, None))


def test_only_an_overlapping_holding_slot_of_the_same_instrument_clashes(session, authorised, inst, lab):
    submit(session, authorised, inst, start=bj(2026, 12, 8, 12), end=bj(2026, 12, 8, 13))
    before = submit(session, authorised, inst, start=bj(2026, 12, 8, 10), end=bj(2026, 12, 8, 12))  # ends as it begins
    other = f.bookable_instrument(lab, name="同型号另一台")
    f.authorisation(authorised, other, granted_on=date(2026, 11, 1))
    same_time = submit(session, authorised, other, start=bj(2026, 12, 8, 12), end=bj(2026, 12, 8, 13))
    assert (before.state, same_time.state) == ("pending", "pending")
    with pytest.raises(svc.SlotTaken) as taken:
        submit(session, authorised, inst, start=bj(2026, 12, 8, 12, 30), end=bj(2026, 12, 8, 13, 30))
    assert (taken.value.code, taken.value.message) == ("slot_taken", TAKEN)


def test_an_overlap_only_the_database_caught_is_answered_as_a_taken_slot(session, authorised, inst, monkeypatch):
    """Another process's booking, committed after this one's check: the database's own rule refuses (SQLite's trigger
    names booking_slot_taken, PostgreSQL's exclusion constraint answers 23P01), and the user gets the same refusal."""
    submit(session, authorised, inst)
    monkeypatch.setattr(svc, "clashes", lambda *args, **kw: [])  # the check saw nothing
    with pytest.raises(svc.SlotTaken) as taken:
        submit(session, authorised, inst, start=bj(2026, 12, 8, 11), end=bj(2026, 12, 8, 13))
    assert (taken.value.code, taken.value.message) == ("slot_taken", TAKEN)


def test_another_refusal_of_the_database_is_not_taken_for_a_taken_slot(session, authorised, inst, monkeypatch):
    monkeypatch.setattr(svc.booking_rules, "slot_problems", lambda *args, **kw: {})  # past every check of the service
    with pytest.raises(sa.exc.IntegrityError) as refused:  # the slot's order (booking_request_ordered), no overlap
        submit(session, authorised, inst, start=bj(2026, 12, 8, 12), end=bj(2026, 12, 8, 10))
    assert not isinstance(refused.value, svc.SlotTaken)


def test_a_move_into_a_held_slot_is_refused_before_anything_changes(session, authorised, inst, lab_actor):
    """The service's own check refuses it (not only the database at the flush): the booking is untouched and the
    transaction carries on."""
    held = submit(session, authorised, inst)  # 8 December 10–12
    moving = submit(session, authorised, inst, start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 11))
    with pytest.raises(svc.SlotTaken):
        svc.delay(session, lab_actor, moving, NOW, "设备维护", start=bj(2026, 12, 8, 11), end=bj(2026, 12, 8, 12))
    assert (moving.state, moving.scheduled_start, moving.delayed, moving.response_reason) == ("pending", None, False, None)
    svc.delay(session, lab_actor, moving, NOW, "设备维护", start=bj(2026, 12, 8, 13), end=bj(2026, 12, 8, 14))
    assert (moving.state, moving.scheduled_start, held.state) == ("scheduled", bj(2026, 12, 8, 13), "pending")


def test_the_lab_places_a_slot_by_the_instruments_own_rules_not_the_users_horizons(session, authorised, inst, lab_actor):
    _rule(session, inst, min_slot_minutes=60)
    session.add(Closure(instrument_id=inst.id, kind="calibration", reason="年度计量校准",
                        starts_at=bj(2026, 12, 9, 0), ends_at=bj(2026, 12, 10, 0)))
    session.flush()
    booking = submit(session, authorised, inst)  # 8 December 10–12
    cases = [
        (None, dict(start=bj(2026, 12, 8, 14), end=bj(2026, 12, 8, 15)), {"reason": "请填写原因。"}),
        ("设备维护", dict(start=bj(2026, 12, 8, 14), end=bj(2026, 12, 8, 14, 45)), {"end": "每次至少 60 分钟。"}),
        ("设备维护", dict(start=bj(2026, 12, 9, 10), end=bj(2026, 12, 9, 11)), {"start": "该时间仪器停用（计量校准：年度计量校准）。"}),
        ("设备维护", dict(start=bj(2026, 12, 12, 10), end=bj(2026, 12, 12, 11)),  # a Saturday
         {"start": "所选时间不在开放时间内，请在仪器开放时间内选择。"}),
    ]
    for reason, times, errors in cases:
        with pytest.raises(RuleViolation) as refused:
            svc.delay(session, lab_actor, booking, NOW, reason, **times)
        assert refused.value.errors == errors, times
    assert (booking.state, booking.scheduled_start) == ("pending", None)
    # an hour from now: too soon for the user (2 hours ahead), not for the lab
    svc.delay(session, lab_actor, booking, NOW, "设备维护", start=bj(2026, 12, 7, 10), end=bj(2026, 12, 7, 11))
    assert (booking.state, booking.scheduled_start, booking.scheduled_end) == (
        "scheduled", bj(2026, 12, 7, 10), bj(2026, 12, 7, 11))


def test_the_lab_schedules_the_slot_it_gives_under_the_settings_given_and_tells_the_user_then(
        session, reachable, inst, lab_actor):
    f.authorisation(reachable, inst, granted_on=date(2026, 11, 1))
    booking = submit(session, reachable, inst)  # asks 8 December 10–12, under the standard terms
    given = dict(start=bj(2026, 12, 9, 14), end=bj(2026, 12, 9, 16))
    with pytest.raises(PolicyDenied) as uncovered:  # where the school turned the terms off
        svc.schedule(session, lab_actor, booking, NOW, settings=svc.Settings(standard_terms=0), **given)
    assert uncovered.value.code == "no_contract" and booking.state == "pending"
    at = NOW + timedelta(minutes=11)
    svc.schedule(session, lab_actor, booking, at, settings=svc.Settings(standard_terms=1), **given)
    assert (booking.state, booking.scheduled_start, booking.scheduled_end, booking.responded_at) == (
        "scheduled", given["start"], given["end"], at)
    assert _message(session, booking, "scheduled").created_at == at
    with pytest.raises(PolicyDenied) as again:
        svc.schedule(session, lab_actor, booking, NOW)
    assert (again.value.code, again.value.message) == ("wrong_state", "该预约在当前状态下无法变更。")


def test_the_lab_schedules_a_day_beyond_the_users_horizon_but_a_holiday_only_where_the_instrument_opens(
        session, user, inst, lab_actor):
    far = submit(session, user, inst, "sample", sample_count=1)
    svc.schedule(session, lab_actor, far, NOW, day=date(2027, 1, 18))  # a Monday 42 days ahead; the user may ask 30
    assert (far.state, far.scheduled_date) == ("scheduled", date(2027, 1, 18))
    autumn = bj(2026, 9, 28, 9)
    holiday = submit(session, user, inst, "sample", sample_count=1, now=autumn)
    with pytest.raises(RuleViolation) as closed:  # 国庆, a Friday
        svc.schedule(session, lab_actor, holiday, autumn, day=date(2026, 10, 2))
    assert closed.value.errors == {"date": "该仪器当天不接受服务。"} and holiday.state == "pending"
    _rule(session, inst, open_on_holidays=True)
    svc.schedule(session, lab_actor, holiday, autumn, day=date(2026, 10, 2))
    assert (holiday.state, holiday.scheduled_date) == ("scheduled", date(2026, 10, 2))
