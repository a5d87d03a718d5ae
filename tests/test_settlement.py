"""The usage service and settlement (issue 14): a use registered per booking or as a walk-in, priced by
the standard in force, and the charge's life — confirm, invoice, credit note, new charge, settle,
waive — with every refusal leaving nothing changed."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Authorisation, Booking, Charge, ChargeLine, PlatformUser, Unit, UsageRecord
from app.services import booking as booking_service, settlement, usage
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f

D = Decimal
SETTINGS = booking_service.Settings()


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


NOW = bj(2026, 12, 7, 18, 0)


@pytest.fixture
def inst(session, uni):
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="结算测试仪器")
    f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[
        f.standard_item("机时", "小时", "100", basis="hours",
                        prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")]),
        f.standard_item("测试", "样品", "20", basis="samples", prices=[("campus", 0, None, "20", None)]),
    ])
    return inst


@pytest.fixture
def user(session):
    return f.service_user(name="结算用户")


def scheduled(session, inst, user, start=bj(2026, 12, 7, 9, 0), hours=3, mode="self_operated"):
    b = Booking(instrument_id=inst.id, user=user, mode=mode, state="scheduled", scheduled_start=start,
                scheduled_end=start + timedelta(hours=hours), submitted_at=start - timedelta(days=2),
                respond_by=date(2026, 12, 10))
    session.add(b)
    session.flush()
    return b


def register(session, actor, booking, start=bj(2026, 12, 7, 9, 0), end=bj(2026, 12, 7, 11, 30), **kw):
    return usage.register(session, actor, NOW, SETTINGS, booking=booking, start=start, end=end, **kw)


def test_a_use_of_a_booking_completes_it_and_is_priced_by_the_standard(session, lab_actor, inst, user):
    f.authorisation(user, inst, granted_on=date(2026, 6, 1))
    booking = scheduled(session, inst, user)
    done = register(session, lab_actor, booking, samples=3, samples_received=4, samples_returned=4, hours="2.5")
    assert booking.state == "completed"
    assert (done.usage.hours, done.usage.service_type, done.usage.registered_by_id) == (D("2.50"), "external", lab_actor.user_id)
    charge = done.charge
    assert (charge.state, charge.customer_category, charge.user_id) == ("pending", "enterprise", user.id)
    # enterprise: 3 started hours at 150, samples at the campus price (no differentiated one)
    assert [(line.quantity, line.unit_price, line.amount) for line in charge.lines] == [
        (D(3), D(150), D("450.00")), (D(3), D(20), D("60.00"))]
    assert charge.total == D("510.00")
    assert session.execute(sa.select(Authorisation.last_used_on).where(Authorisation.user_id == user.id)).scalar() == \
        date(2026, 12, 7)


def test_an_on_campus_user_is_internal_and_its_charge_goes_to_its_project_account(session, lab_actor, inst):
    campus = f.service_user(org=f.customer("本校", category="campus"), name="校内用户", project_account="KY-2026-017")
    done = register(session, lab_actor, scheduled(session, inst, campus), end=bj(2026, 12, 7, 10, 0))
    assert done.usage.service_type == "internal"
    assert (done.charge.total, done.charge.project_account) == (D("100.00"), "KY-2026-017")


def test_without_a_standard_in_force_the_use_is_registered_and_not_charged(session, lab_actor, uni, user):
    bare = f.bookable_instrument(session.get(Unit, uni.l11), name="无收费标准仪器")
    done = register(session, lab_actor, scheduled(session, bare, user))
    assert done.usage.id is not None and done.charge is None


def _unchanged(session, booking):
    session.refresh(booking)
    return booking.state, session.execute(sa.select(sa.func.count()).select_from(UsageRecord)
                                          .where(UsageRecord.booking_id == booking.id)).scalar()


@pytest.mark.parametrize("kw, field", [
    ({"end": bj(2026, 12, 7, 8, 0)}, "end"),
    ({"hours": "3"}, "hours"),
    ({"hours": "lots"}, "hours"),
    ({"end": bj(2026, 12, 8, 9, 0)}, "end"),  # tomorrow: not used yet
    ({"samples": "5", "samples_received": "3"}, "samples"),
    ({"samples_received": "3", "samples_returned": "4"}, "samples_returned"),
    ({"samples": "-1"}, "samples"),
    ({"samples": "2.5"}, "samples"),
    ({"direction": "fun"}, "direction"),
])
def test_bad_registrations_are_refused_with_nothing_changed(session, lab_actor, inst, user, kw, field):
    booking = scheduled(session, inst, user)
    with pytest.raises(RuleViolation) as refused:
        register(session, lab_actor, booking, **kw)
    assert field in refused.value.errors
    assert _unchanged(session, booking) == ("scheduled", 0)


@pytest.mark.parametrize("state", ["refused", "cancelled", "pending", "completed", "no_show"])
def test_a_booking_that_is_not_scheduled_takes_no_use(session, lab_actor, inst, user, state):
    booking = scheduled(session, inst, user)
    booking.state = state
    session.flush()
    with pytest.raises(PolicyDenied) as denied:
        register(session, lab_actor, booking)
    assert denied.value.code == "booking_state"
    assert _unchanged(session, booking) == (state, 0)


def test_another_labs_administrator_may_not_register(session, uni, inst, user):
    sm_user = session.execute(sa.select(PlatformUser).filter_by(username="lab_admin_l12")).scalar_one_or_none()
    outsider = Actor(sm_user.id if sm_user else 0, frozenset({"LabAdmin"}), "lab", session.get(Unit, uni.l12).path)
    booking = scheduled(session, inst, user)
    with pytest.raises(PolicyDenied) as denied:
        register(session, outsider, booking)
    assert denied.value.code == "out_of_chain" and _unchanged(session, booking) == ("scheduled", 0)


def test_a_walk_in_needs_a_valid_authorisation(session, lab_actor, inst, user):
    walk_in = dict(instrument_id=inst.id, user=user, start=bj(2026, 12, 7, 13, 0), end=bj(2026, 12, 7, 14, 0))
    with pytest.raises(PolicyDenied) as denied:
        usage.register(session, lab_actor, NOW, SETTINGS, **walk_in)
    assert denied.value.code == "not_authorised"
    f.authorisation(user, inst, granted_on=date(2026, 6, 1), state="suspended", reason="违规")
    with pytest.raises(PolicyDenied):
        usage.register(session, lab_actor, NOW, SETTINGS, **walk_in)
    session.execute(sa.update(Authorisation).where(Authorisation.user_id == user.id).values(state="active"))
    done = usage.register(session, lab_actor, NOW, SETTINGS, **walk_in)
    assert done.usage.booking_id is None and done.charge.total == D("150.00")


def test_one_open_session_per_instrument_and_no_overlapping_uses(session, lab_actor, inst, user):
    f.authorisation(user, inst, granted_on=date(2026, 6, 1))
    other = f.service_user(name="第二位用户")
    f.authorisation(other, inst, granted_on=date(2026, 6, 1))
    opened = usage.start(session, lab_actor, bj(2026, 12, 7, 14, 0), SETTINGS, instrument_id=inst.id, user=user)
    assert opened.is_open
    with pytest.raises(PolicyDenied) as denied:
        usage.start(session, lab_actor, bj(2026, 12, 7, 14, 5), SETTINGS, instrument_id=inst.id, user=other)
    assert denied.value.code == "session_open"
    # the database itself refuses a second open session, whatever skips the check
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.add(UsageRecord(instrument_id=inst.id, user_id=other.id, started_at=bj(2026, 12, 7, 14, 6),
                                source="manual", service_type="external", direction="research"))
        session.flush()
    done = usage.end(session, lab_actor, opened, bj(2026, 12, 7, 15, 20))
    assert (done.usage.hours, done.charge.total) == (D("1.33"), D("300.00"))  # 2 started hours at 150
    with pytest.raises(PolicyDenied) as denied:
        usage.end(session, lab_actor, opened, bj(2026, 12, 7, 16, 0))
    assert denied.value.code == "session_closed"
    with pytest.raises(PolicyDenied) as denied:  # a registration over that time
        usage.register(session, lab_actor, NOW, SETTINGS, instrument_id=inst.id, user=other,
                       start=bj(2026, 12, 7, 15, 0), end=bj(2026, 12, 7, 16, 0))
    assert denied.value.code == "usage_overlap"


def lines_of(session, charge_id):
    return session.execute(sa.select(ChargeLine.amount).where(ChargeLine.charge_id == charge_id)).scalars().all()


def test_the_whole_path_use_charge_confirm_invoice_credit_new_charge_settle(session, lab_actor, inst, user):
    charge = register(session, lab_actor, scheduled(session, inst, user)).charge  # 3 h × 150 = 450
    assert charge.total == D("450.00")
    with pytest.raises(PolicyDenied):  # not confirmed yet
        settlement.invoice(session, lab_actor, charge, NOW, "FP-001", date(2026, 12, 7))
    settlement.confirm(session, lab_actor, charge, NOW)
    assert (charge.state, charge.confirmed_by_id) == ("confirmed", lab_actor.user_id)
    for number, day, field in (("", date(2026, 12, 7), "invoice_number"), ("FP-001", date(2026, 12, 6), "invoice_date"),
                               ("FP-001", date(2026, 12, 8), "invoice_date")):
        with pytest.raises(RuleViolation) as refused:
            settlement.invoice(session, lab_actor, charge, NOW, number, day)
        assert field in refused.value.errors and charge.state == "confirmed"
    settlement.invoice(session, lab_actor, charge, NOW, "FP-001", date(2026, 12, 7))
    assert (charge.state, charge.invoice_number) == ("invoiced", "FP-001")

    # over what is left, not a cent value, no reason: refused
    for amount, reason, field in (("450.01", "多收", "amount"), ("0", "多收", "amount"), ("1.005", "多收", "amount"),
                                  ("abc", "多收", "amount"), ("100", " ", "reason")):
        with pytest.raises(RuleViolation) as refused:
            settlement.credit(session, lab_actor, charge, NOW, amount, reason)
        assert field in refused.value.errors
    assert charge.credit_notes == []
    note = settlement.credit(session, lab_actor, charge, NOW, "150", "实际只用了两小时")
    assert (note.total, note.credit_of_id, note.state, note.invoice_date) == (D("-150.00"), charge.id, "credited", date(2026, 12, 7))
    assert settlement.remaining(charge) == D("300.00") and charge.state == "invoiced"
    with pytest.raises(PolicyDenied) as denied:  # a new charge only once the old one is credited in full
        settlement.new_charge(session, lab_actor, charge.usage, NOW)
    assert denied.value.code == "charge_outstanding"
    settlement.credit(session, lab_actor, charge, NOW, "300", "按新标准重开")
    assert charge.state == "credited" and settlement.remaining(charge) == 0
    with pytest.raises(PolicyDenied):
        settlement.credit(session, lab_actor, charge, NOW, "1", "再冲")
    again = settlement.new_charge(session, lab_actor, charge.usage, NOW)
    assert (again.state, again.total) == ("pending", D("450.00"))
    settlement.confirm(session, lab_actor, again, NOW)
    with pytest.raises(RuleViolation) as refused:  # the number is the first invoice's
        settlement.invoice(session, lab_actor, again, NOW, "FP-001", date(2026, 12, 7))
    assert "invoice_number" in refused.value.errors
    settlement.invoice(session, lab_actor, again, NOW, "FP-002", date(2026, 12, 7))
    for paid_on, method, field in ((date(2026, 12, 6), "bank_transfer", "paid_on"), (date(2026, 12, 8), "bank_transfer", "paid_on"),
                                   (date(2026, 12, 7), "cash", "method")):
        with pytest.raises(RuleViolation) as refused:
            settlement.settle(session, lab_actor, again, NOW, paid_on, method)
        assert field in refused.value.errors and again.state == "invoiced"
    settlement.settle(session, lab_actor, again, NOW, date(2026, 12, 7), "bank_transfer")
    assert (again.state, again.paid_on, again.payment_method) == ("settled", date(2026, 12, 7), "bank_transfer")
    # what the use brought in, all told: 450 − 150 − 300 + 450
    totals = session.execute(sa.select(Charge.total).where(Charge.usage_id == charge.usage_id)).scalars().all()
    assert sum(totals) == D("450.00") and len(totals) == 4


def test_a_credit_note_before_the_invoice_takes_the_invoices_date(session, lab_actor, inst, user):
    charge = register(session, lab_actor, scheduled(session, inst, user)).charge
    settlement.confirm(session, lab_actor, charge, NOW)
    note = settlement.credit(session, lab_actor, charge, NOW, "50", "优惠")
    assert note.invoice_date is None
    settlement.invoice(session, lab_actor, charge, NOW + timedelta(days=1), "FP-101", date(2026, 12, 8))
    assert note.invoice_date == date(2026, 12, 8)


def test_a_confirmed_charge_is_never_edited(session, lab_actor, inst, user):
    charge = register(session, lab_actor, scheduled(session, inst, user)).charge
    charge.total = D("1.00")  # a pending one may still be corrected
    session.flush()
    settlement.confirm(session, lab_actor, charge, NOW)
    session.flush()
    with pytest.raises(PolicyDenied) as denied, session.begin_nested():  # only the edit is rolled back
        charge.total = D("2.00")
        session.flush()
    assert denied.value.code == "charge_frozen"
    stored = session.execute(sa.select(Charge.total, Charge.state).where(Charge.id == charge.id)).one()
    assert stored == (D("1.00"), "confirmed")  # the confirmed charge as it was


def test_a_confirmed_charges_lines_are_never_edited(session, lab_actor, inst, user):
    charge = register(session, lab_actor, scheduled(session, inst, user)).charge
    settlement.confirm(session, lab_actor, charge, NOW)
    charge.lines[0].amount = D("0.01")
    with pytest.raises(PolicyDenied):
        session.flush()


def test_a_waiver_needs_a_reason_and_brings_no_income(session, lab_actor, inst, user):
    charge = register(session, lab_actor, scheduled(session, inst, user)).charge
    with pytest.raises(RuleViolation):
        settlement.waive(session, lab_actor, charge, NOW, "  ")
    assert charge.state == "pending"
    settlement.waive(session, lab_actor, charge, NOW, "仪器故障导致测试失败")
    assert charge.state == "waived"
    with pytest.raises(PolicyDenied):
        settlement.confirm(session, lab_actor, charge, NOW)
    assert settlement.new_charge(session, lab_actor, charge.usage, NOW).state == "pending"


def test_a_month_of_uses_is_priced_in_one_batch_with_a_constant_number_of_statements(session, inst, user, count_queries):
    campus = f.service_user(org=f.customer("本校批量", category="campus"), name="校内批量", project_account="KY-9")

    def uses(n, day):
        made = []
        for i in range(n):
            start = bj(2026, 11, day, 8, 0) + timedelta(minutes=20 * i)
            made.append(UsageRecord(instrument_id=inst.id, user=campus if i % 2 else user, started_at=start,
                                    ended_at=start + timedelta(minutes=50), hours=D("0.83"), samples=i % 3,
                                    source="manual", service_type="external", direction="research"))
        session.add_all(made)
        session.flush()
        return [u.id for u in made]

    def batch(ids):
        with count_queries() as statements:
            written = settlement.charge_uses(session, sa.select(UsageRecord.id).where(UsageRecord.id.in_(ids)), NOW)
        return written, len(statements)

    few, many = uses(3, 2), uses(30, 3)
    orphan = UsageRecord(instrument_id=inst.id, started_at=bj(2026, 11, 4, 8), ended_at=bj(2026, 11, 4, 9), hours=1,
                         source="manual", service_type="internal", direction="research")  # no user: not charged
    session.add(orphan)
    session.flush()
    (written_few, statements_few), (written_many, statements_many) = batch(few), batch(many)
    assert (written_few, written_many) == (3, 30) and statements_few == statements_many
    written, _ = batch(many + [orphan.id])
    assert written == 0  # already charged, or no user: nothing twice
    first, second, third = session.execute(sa.select(Charge).where(Charge.usage_id.in_(few)).order_by(Charge.usage_id)).scalars()
    # enterprise: a started hour at 150, samples at 20 each; on campus: 100 an hour, to its project account
    assert (first.total, first.customer_category, third.total) == (D("150.00"), "enterprise", D("190.00"))
    assert (second.total, second.project_account) == (D("120.00"), "KY-9")
    assert [(line.quantity, line.amount) for line in second.lines] == [(D(1), D("100.00")), (D(1), D("20.00"))]


@pytest.mark.parametrize("value", ["2.1e37", 2.1e37, "1e12", "99999999999999.99", "NaN", "-5", "0.001", "", None, "十元"])
def test_an_amount_no_money_column_holds_is_refused(value):
    """A credit note's amount past the column's 12 whole digits could not even be rounded to the cent (the
    API answered 500 for 2.1e37; issue 21, §2); a fraction of a cent, a negative or a word is refused too."""
    assert settlement.parse_amount(value) is None


def test_an_amount_within_the_column_is_read_to_the_cent():
    assert settlement.parse_amount("999999999999.99") == Decimal("999999999999.99")
    assert settlement.parse_amount(12.5) == Decimal("12.50")
