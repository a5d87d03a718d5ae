"""The flow's steps in batch (issue 14, item 8: the demo's history goes through them; a ledger import
would too): bookings taken and scheduled, uses registered and priced, charges confirmed, approved,
invoiced and settled, evaluations given — each row checked as the one-at-a-time step checks it, a
refused row answered by its index with a Chinese message and nothing of it written."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Booking, Charge, ChargeApproval, Evaluation, PlatformUser, ServiceUser, Unit, UsageRecord
from app.services.booking import bookings as booking_service, batch as booking_batch, evaluations, usage
from app.services.money import settlement_batch
from app.services.actors import Actor
from app.services.workdays import load_calendar

from . import factories as f

SETTINGS = booking_service.Settings()


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


@pytest.fixture
def lab(lab_actor):
    return lab_actor


@pytest.fixture
def inst(session, uni):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="批量测试仪器")
    f.fee_standard(inst, state="published", effective_from=date(2025, 1, 1), items=[
        f.standard_item("机时", "小时", "100", basis="hours",
                        prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")])])
    return inst


def served(inst, user, day, submitted=None, answered=None, samples=2):
    submitted = submitted or bj(day.year, day.month, day.day, 10) - timedelta(days=3)
    return booking_batch.Served(inst.id, user.id, submitted, answered or submitted + timedelta(hours=5), day, samples)


def test_bookings_are_taken_with_their_respond_by_on_the_chinese_calendar(session, uni, lab, inst):
    user = session.get(ServiceUser, uni.customer_service_user)
    other_lab = f.bookable_instrument(session.get(Unit, uni.l21), name="他院批量仪器")
    closed = f.bookable_instrument(session.get(Unit, uni.l11), name="停用仪器", run_status="under_repair")
    # submitted Monday 2026-09-28: the National Day holiday (1–8 Oct) lies within its five working days
    monday = bj(2026, 9, 28, 10)
    entries = [served(inst, user, date(2026, 9, 30), submitted=monday),
               served(inst, user, date(2026, 10, 3), submitted=monday + timedelta(minutes=1)),  # a holiday: closed
               served(other_lab, user, date(2026, 9, 30), submitted=monday),                   # not the lab's
               served(closed, user, date(2026, 9, 30), submitted=monday),                      # not bookable
               served(inst, user, date(2026, 9, 29), submitted=monday + timedelta(minutes=4),
                      answered=monday + timedelta(minutes=3)),                                  # answered before it came
               served(inst, user, date(2026, 9, 25), submitted=monday + timedelta(minutes=2)),  # before the submission
               served(inst, user, date(2026, 9, 30), submitted=monday),                        # the first one again
               served(inst, user, date(2026, 9, 30), submitted=monday + timedelta(minutes=3), samples=0)]
    done = booking_batch.record_served(session, lab, entries, load_calendar(session))
    assert list(done.done) == [0] and set(done.refused) == {1, 2, 3, 4, 5, 6, 7}
    assert "不接受" in done.refused[1] and "实验室" in done.refused[2] and "无法预约" in done.refused[3]
    assert "样品" in done.refused[7]
    # each refused for its own reason, not for the first one met (issue 21, §3)
    from app.services.booking.batch import MSG_ANSWER_BEFORE, MSG_DAY_BEFORE, MSG_TWICE
    assert (done.refused[4], done.refused[5], done.refused[6]) == (str(MSG_ANSWER_BEFORE), str(MSG_DAY_BEFORE),
                                                                  str(MSG_TWICE))
    booking = session.get(Booking, done.done[0])
    # the one rule of notice §(四)2, as a booking submitted on screen gets it: past the National Day holiday
    expected = booking_service.respond_by(load_calendar(session), monday).day
    assert (booking.mode, booking.state, booking.scheduled_date, booking.respond_by) == (
        "sample", "scheduled", date(2026, 9, 30), expected) and expected > date(2026, 10, 8)
    assert session.execute(sa.select(sa.func.count()).select_from(Booking).where(Booking.instrument_id.in_(
        [inst.id, other_lab.id, closed.id]))).scalar() == 1


def _booked(session, lab, inst, user, days):
    done = booking_batch.record_served(session, lab, [served(inst, user, d) for d in days], load_calendar(session))
    return [done.done[n] for n in range(len(days))]


def test_uses_are_registered_and_priced_as_one_registration_is(session, uni, lab, inst):
    user = session.get(ServiceUser, uni.customer_service_user)
    b1, b2, b3, b4 = _booked(session, lab, inst, user, [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 4)])
    now = bj(2026, 6, 5, 18)
    entries = [usage.Registration(b1, bj(2026, 6, 1, 9), bj(2026, 6, 1, 11, 30), samples=2),
               usage.Registration(b2, bj(2026, 6, 1, 11), bj(2026, 6, 1, 12)),      # overlaps the first
               usage.Registration(b3, bj(2026, 6, 3, 9), bj(2026, 6, 3, 8)),         # ends before it starts
               usage.Registration(b4, bj(2026, 6, 9, 9), bj(2026, 6, 9, 10)),        # in the future
               usage.Registration(b1, bj(2026, 6, 2, 9), bj(2026, 6, 2, 10)),        # the same booking again
               usage.Registration(b3, bj(2026, 6, 3, 9), bj(2026, 6, 3, 10), direction="war")]
    done = usage.register_batch(session, lab, now, entries)
    assert list(done.done) == [0] and set(done.refused) == {1, 2, 3, 4, 5}
    assert "重叠" in done.refused[1] and "结束" in done.refused[2] and "不能晚于当前" in done.refused[3]
    use = session.get(UsageRecord, done.done[0])
    assert (use.hours, use.service_type, use.registered_by_id, session.get(Booking, b1).state) == (
        Decimal("2.50"), "external", lab.user_id, "completed")
    [charge] = session.execute(sa.select(Charge).where(Charge.usage_id == use.id)).scalars().all()
    # the same price as the one-at-a-time registration gives: 3 started hours at the enterprise price
    single = usage.register(session, lab, now, SETTINGS, booking=session.get(Booking, b2), start=bj(2026, 6, 2, 9),
                            end=bj(2026, 6, 2, 11, 30)).charge
    assert [(line.quantity, line.unit_price, line.amount) for line in charge.lines] == \
        [(line.quantity, line.unit_price, line.amount) for line in single.lines] == [(Decimal(3), Decimal(150), Decimal("450.00"))]
    assert session.get(Booking, b3).state == "scheduled"  # refused rows changed nothing
    # a use already registered in the database is an overlap too
    again = usage.register_batch(session, lab, now, [usage.Registration(b4, bj(2026, 6, 1, 10), bj(2026, 6, 1, 10, 30))])
    assert again.done == {} and "重叠" in again.refused[0]


def _charges(session, lab, inst, user, days):
    bookings = _booked(session, lab, inst, user, days)
    done = usage.register_batch(session, lab, bj(2026, 6, 30, 18), [usage.Registration(
        b, bj(d.year, d.month, d.day, 9), bj(d.year, d.month, d.day, 10)) for b, d in zip(bookings, days)])
    return [session.execute(sa.select(Charge.id).where(Charge.usage_id == done.done[n])).scalar() for n in range(len(days))]


def test_charges_advance_as_far_as_their_entry_goes_and_campus_ones_only_once_approved(session, uni, lab, inst):
    campus = session.get(ServiceUser, uni.customer_campus_user)
    campus.pi = f.person(session.get(Unit, uni.l21), name="批量课题负责人", email="pi.batch@example.edu.cn")
    org = session.get(ServiceUser, uni.customer_campus_user).org
    paper = f.service_user(org, name="纸质审批用户", unit_id=uni.l21, project_account="2026001002",
                           pi=f.person(session.get(Unit, uni.l21), name="无邮箱课题负责人", email=None))
    outside = session.get(ServiceUser, uni.customer_service_user)
    c1, c2, c3, c4 = _charges(session, lab, inst, campus, [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3),
                                                           date(2026, 6, 4)])
    (p1,) = _charges(session, lab, inst, paper, [date(2026, 6, 5)])
    o1, o2, o3 = _charges(session, lab, inst, outside, [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)])
    at, now = bj(2026, 6, 12, 10), bj(2026, 7, 1, 10)
    A = settlement_batch.Advance
    # the lab that earns a campus charge never records its PI's approval, not even as an import
    by_the_lab = settlement_batch.advance_batch(session, lab, now, [A(c1, at, pi_decided_at=at + timedelta(hours=3))])
    assert by_the_lab.done == {} and "学校" in by_the_lab.refused[0]
    school = Actor.of(session.execute(sa.select(PlatformUser).filter_by(username="school_admin")).scalar_one())
    done = settlement_batch.advance_batch(session, school, now, [
        A(c1, at, pi_decided_at=at + timedelta(hours=3), invoice_number="PL-1", invoice_date=date(2026, 6, 15),
          paid_on=date(2026, 6, 22), method="campus_transfer"),
        A(c2, at, invoice_number="PL-2", invoice_date=date(2026, 6, 15)),            # campus, its PI not asked
        A(c3, at),                                                                   # campus, confirmed only
        A(o1, at, invoice_number="PL-1", invoice_date=date(2026, 6, 15)),            # the number is taken
        A(o2, at, invoice_number="PL-3", invoice_date=date(2026, 6, 1)),             # before the use
        A(o3, at, invoice_number="PL-4", invoice_date=date(2026, 6, 15), paid_on=date(2026, 6, 14), method="other"),
        A(c1, at),                                                                   # twice
        # a PI without e-mail decides on paper, recorded one at a time with its scan (issue 21, defect 5)
        A(p1, at, pi_decided_at=at, invoice_number="PL-5", invoice_date=date(2026, 6, 15)),
        A(c4, at, pi_decided_at=at - timedelta(hours=1)),                             # decided before asked
    ])
    assert sorted(done.done) == [0, 2] and set(done.refused) == {1, 3, 4, 5, 6, 7, 8}
    assert "课题负责人" in done.refused[1] and "已被" in done.refused[3] and "早于" in done.refused[4]
    assert "纸质" in done.refused[7] and "确认" in done.refused[8]
    state = dict(session.execute(sa.select(Charge.id, Charge.state).where(Charge.id.in_([c1, c2, c3, c4, p1, o1, o2, o3]))).all())
    assert state == {c1: "settled", c2: "pending", c3: "confirmed", c4: "pending", p1: "pending", o1: "pending",
                     o2: "pending", o3: "pending"}
    approvals = {r.charge_id: (r.state, r.decided_via, r.recorded_by_id) for r in session.execute(
        sa.select(ChargeApproval.charge_id, ChargeApproval.state, ChargeApproval.decided_via, ChargeApproval.recorded_by_id))}
    # c1 approved through its PI's link (the school imported it); c3 waits for its PI like any confirmed campus charge
    assert approvals == {c1: ("approved", "link", school.user_id), c3: ("awaiting", None, None)}
    assert session.execute(sa.select(Charge.paid_on, Charge.payment_method).where(Charge.id == c1)).one() == (
        date(2026, 6, 22), "campus_transfer")


def test_evaluations_are_given_once_by_the_bookings_own_user_within_the_window(session, uni, lab, inst):
    user = session.get(ServiceUser, uni.customer_service_user)
    other = session.get(ServiceUser, uni.customer_student_user)
    bookings = _booked(session, lab, inst, user, [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)])
    usage.register_batch(session, lab, bj(2026, 6, 30), [usage.Registration(b, bj(2026, 6, 1 + n, 9), bj(2026, 6, 1 + n, 10))
                                                         for n, b in enumerate(bookings[:2])])
    G = evaluations.Given
    done = evaluations.evaluate_batch(session, [
        G(bookings[0], user.id, bj(2026, 6, 2), score=5, comment="很好"),
        G(bookings[1], other.id, bj(2026, 6, 3), score=5),         # not its booking
        G(bookings[2], user.id, bj(2026, 6, 4), score=5),          # not completed
        G(bookings[0], user.id, bj(2026, 6, 4), score=4),          # twice
        G(bookings[1], user.id, bj(2026, 7, 30), score=4),         # the window closed
        G(bookings[1], user.id, bj(2026, 6, 3), score=7)], 30)     # out of 1–5
    assert list(done.done) == [0] and set(done.refused) == {1, 2, 3, 4, 5}
    assert "评价" in done.refused[4] and "1" in done.refused[5]
    e = session.get(Evaluation, done.done[0])
    assert (e.score, e.attitude, e.timeliness, e.quality, e.comment) == (5, 5, 5, 5, "很好")
