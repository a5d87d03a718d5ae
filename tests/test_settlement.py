"""The usage service and settlement (issue 14): a use registered per booking or as a walk-in, priced by
the standard in force, and the charge's life — confirm, invoice, credit note, new charge, settle,
waive — with every refusal leaving nothing changed."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Authorisation, Booking, Charge, ChargeLine, PlatformUser, Unit, UsageRecord
from app.services.booking import bookings as booking_service, usage
from app.services.money import settlement
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import factories as f

D = Decimal
SETTINGS = booking_service.Settings()


def bj(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


NOW = bj(2026, 12, 7, 18, 0)
SLOT_START = bj(2026, 12, 7, 9, 0)  # the helpers' default slot, and the use registered in it
SLOT_USE_END = bj(2026, 12, 7, 11, 30)


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


def scheduled(session, inst, user, start=SLOT_START, hours=3, mode="self_operated"):
    b = Booking(instrument_id=inst.id, user=user, mode=mode, state="scheduled", scheduled_start=start,
                scheduled_end=start + timedelta(hours=hours), submitted_at=start - timedelta(days=2),
                respond_by=date(2026, 12, 10))
    session.add(b)
    session.flush()
    return b


def register(session, actor, booking, start=SLOT_START, end=SLOT_USE_END, **kw):
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


# --- each rule's exact record and refusal (what mutation testing showed unpinned) --------------------------

LATER = bj(2026, 12, 7, 18, 30)  # an explicit `now`, never the pinned clock's, so a defaulted column shows
OWN_STATE = "该费用单当前为“{}”，不能进行此操作。"
FROZEN = "已确认的费用单不能修改：请开具红冲单并重新生成费用单。"
CHARGE_COLUMNS = ("usage_id", "user_id", "customer_category", "project_account", "fee_standard_id", "total", "state",
                  "confirmed_at", "confirmed_by_id", "invoice_number", "invoice_date", "paid_on", "payment_method",
                  "credit_of_id", "reason", "created_by_id", "created_at")


@pytest.fixture
def rich(session, uni):
    """An instrument whose standard counts hours, samples, days and an entered quantity."""
    inst = f.bookable_instrument(session.get(Unit, uni.l11), name="逐列核对仪器")
    standard = f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1), items=[
        f.standard_item("机时", "小时", "100", basis="hours",
                        prices=[("campus", 0, None, "100", None), ("enterprise", 0, None, "150", "对外")]),
        f.standard_item("测试", "样品", "20", basis="samples", prices=[("campus", 0, None, "20", None)]),
        f.standard_item("占用", "天", "50", basis="days", prices=[("campus", 0, None, "50", None)]),
        f.standard_item("制样", "个", "30", basis="entered", prices=[("campus", 0, None, "30", None)]),
    ])
    return inst, standard


USE_START = bj(2026, 12, 5, 9, 0)  # a_use's default: a use over two days
USE_END = bj(2026, 12, 6, 11, 30)


def a_use(session, inst, user, start=USE_START, end=USE_END, hours="2.5", samples=2):
    use = UsageRecord(instrument_id=inst.id, user=user, started_at=start, ended_at=end,
                      hours=None if hours is None else D(hours), samples=samples, source="manual",
                      service_type="external", direction="research")
    session.add(use)
    session.flush()
    return use


def stored(session, charge_id):
    """The charge's row as the database holds it."""
    row = session.execute(sa.select(*(getattr(Charge, c) for c in CHARGE_COLUMNS)).where(Charge.id == charge_id)).one()
    return dict(zip(CHARGE_COLUMNS, row))


def stored_lines(session, charge_id):
    return [tuple(r) for r in session.execute(
        sa.select(ChargeLine.fee_item_id, ChargeLine.description, ChargeLine.quantity, ChargeLine.unit_price,
                  ChargeLine.amount).where(ChargeLine.charge_id == charge_id).order_by(ChargeLine.id))]


def item_ids(standard):
    """The rich standard's item ids in the order they were entered (a reloaded `items` has no order of its own)."""
    return sorted(item.id for item in standard.items)


def blank(**columns):
    """A charge row: every column empty but those given."""
    return {**dict.fromkeys(CHARGE_COLUMNS), **columns}


def outsider_of(session, uni):
    return Actor(0, frozenset({"LabAdmin"}), "lab", session.get(Unit, uni.l12).path)


def confirmed_charge(session, lab_actor, inst, user, **kw):
    charge = settlement.charge_use(session, a_use(session, inst, user, **kw), LATER, lab_actor.user_id)
    return settlement.confirm(session, lab_actor, charge, LATER)


def test_a_charge_records_its_use_user_category_standard_author_and_every_priced_line(session, lab_actor, rich):
    inst, standard = rich
    hours, samples, days, entered = item_ids(standard)
    user = f.service_user(name="企业计价用户", project_account="KY-不用")  # not on campus: no project account
    use = a_use(session, inst, user)
    charge = settlement.charge_use(session, use, LATER, lab_actor.user_id, {entered: D("1.2")})
    assert charge.id is not None  # flushed
    assert stored(session, charge.id) == blank(
        usage_id=use.id, user_id=user.id, customer_category="enterprise", fee_standard_id=standard.id,
        total=D("650.00"), state="pending", created_by_id=lab_actor.user_id, created_at=LATER)
    # 2.5 h started → 3 h at 150; 2 samples at 20; two Beijing days at 50; 1.2 entered → 2 at 30
    assert stored_lines(session, charge.id) == [
        (hours, "机时 (小时)", D("3.00"), D("150.00"), D("450.00")), (samples, "测试 (样品)", D("2.00"), D("20.00"), D("40.00")),
        (days, "占用 (天)", D("2.00"), D("50.00"), D("100.00")), (entered, "制样 (个)", D("2.00"), D("30.00"), D("60.00"))]


def test_an_on_campus_charge_keeps_the_users_project_account_and_campus_prices(session, lab_actor, rich):
    inst, standard = rich
    campus = f.service_user(org=f.customer("本校计价", category="campus"), name="校内计价", project_account="KY-2026-088")
    use = a_use(session, inst, campus, end=bj(2026, 12, 5, 10, 0), hours="1", samples=0)
    charge = settlement.charge_use(session, use, LATER)  # no entered quantity: that item gives no line
    assert stored(session, charge.id) == blank(
        usage_id=use.id, user_id=campus.id, customer_category="campus", project_account="KY-2026-088",
        fee_standard_id=standard.id, total=D("150.00"), state="pending", created_at=LATER)
    assert [line[1:] for line in stored_lines(session, charge.id)] == [
        ("机时 (小时)", D("1.00"), D("100.00"), D("100.00")), ("占用 (天)", D("1.00"), D("50.00"), D("50.00"))]


def test_a_use_without_a_user_or_before_its_standard_on_the_beijing_day_is_not_charged(session, lab_actor, rich, user):
    inst, _standard = rich
    nobody = a_use(session, inst, None)
    # 2025-12-31 23:30 in Beijing: the day before the standard took effect
    eve = a_use(session, inst, user, start=bj(2025, 12, 31, 23, 30), end=bj(2026, 1, 1, 0, 30), hours="1")
    # 2026-01-01 00:30 in Beijing is still 2025-12-31 in UTC: priced by the Beijing day
    dawn = a_use(session, inst, user, start=bj(2026, 1, 1, 0, 30), end=bj(2026, 1, 1, 1, 0), hours="0.5")
    assert settlement.charge_use(session, nobody, LATER) is None
    assert settlement.charge_use(session, eve, LATER) is None
    assert settlement.charge_use(session, dawn, LATER).total == D("240.00")  # 150 + 2 samples × 20 + 50
    counted = session.execute(sa.select(Charge.usage_id).where(Charge.usage_id.in_([nobody.id, eve.id, dawn.id])))
    assert counted.scalars().all() == [dawn.id]


def test_a_new_charge_waits_until_the_last_cent_is_credited_and_is_written_in_full(session, lab_actor, rich, user):
    inst, standard = rich
    entered = item_ids(standard)[3]
    charge = settlement.charge_use(session, a_use(session, inst, user), LATER, lab_actor.user_id)
    with pytest.raises(PolicyDenied) as denied:  # still pending
        settlement.new_charge(session, lab_actor, charge.usage, LATER)
    assert (denied.value.code, denied.value.message) == ("charge_outstanding", "该次使用还有未全额红冲或免收的费用单。")
    settlement.confirm(session, lab_actor, charge, LATER)
    settlement.credit(session, lab_actor, charge, LATER, "589", "多收")
    with pytest.raises(PolicyDenied) as denied:  # one yuan is left
        settlement.new_charge(session, lab_actor, charge.usage, LATER)
    assert denied.value.code == "charge_outstanding"
    settlement.credit(session, lab_actor, charge, LATER, "1", "多收")
    other = session.execute(sa.select(PlatformUser).filter_by(username="school_admin")).scalar_one()
    again = settlement.new_charge(session, Actor.of(other), charge.usage, LATER + timedelta(hours=1), {entered: 3})
    assert stored(session, again.id) == blank(
        usage_id=charge.usage_id, user_id=user.id, customer_category="enterprise", fee_standard_id=standard.id,
        total=D("680.00"), state="pending", created_by_id=other.id, created_at=LATER + timedelta(hours=1))
    assert stored_lines(session, again.id)[-1] == (entered, "制样 (个)", D("3.00"), D("30.00"), D("90.00"))


def test_a_new_charge_without_a_standard_in_force_is_refused_and_writes_nothing(session, lab_actor, uni, user):
    bare = f.bookable_instrument(session.get(Unit, uni.l11), name="无标准重开仪器")
    use = a_use(session, bare, user)
    with pytest.raises(PolicyDenied) as denied:
        settlement.new_charge(session, lab_actor, use, LATER)
    assert (denied.value.code, denied.value.message) == ("no_standard", "使用当日没有生效的已发布收费标准。")
    assert session.execute(sa.select(Charge.id).where(Charge.usage_id == use.id)).first() is None


def test_only_the_instruments_lab_side_may_raise_a_new_charge(session, lab_actor, uni, rich, user):
    charge = settlement.charge_use(session, a_use(session, rich[0], user), LATER)
    settlement.waive(session, lab_actor, charge, LATER, "免收")
    with pytest.raises(PolicyDenied) as denied:
        settlement.new_charge(session, outsider_of(session, uni), charge.usage, LATER)
    assert denied.value.code == "out_of_chain"
    assert len(session.execute(sa.select(Charge.id).where(Charge.usage_id == charge.usage_id)).all()) == 1


def test_confirming_records_who_and_when_and_applies_only_to_a_pending_charge(session, lab_actor, uni, rich, user):
    charge = settlement.charge_use(session, a_use(session, rich[0], user), LATER)
    with pytest.raises(PolicyDenied) as denied:
        settlement.confirm(session, outsider_of(session, uni), charge, LATER)
    assert denied.value.code == "out_of_chain" and charge.state == "pending"
    assert settlement.confirm(session, lab_actor, charge, LATER + timedelta(minutes=5)) is charge
    assert not sa.inspect(charge).modified  # flushed: the caller only commits
    row = stored(session, charge.id)
    assert (row["state"], row["confirmed_at"], row["confirmed_by_id"]) == (
        "confirmed", LATER + timedelta(minutes=5), lab_actor.user_id)
    assert charge.approval is None  # not on campus: no PI asked
    with pytest.raises(PolicyDenied) as denied:
        settlement.confirm(session, lab_actor, charge, LATER)
    assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("已确认"))
    note = settlement.credit(session, lab_actor, charge, LATER, "10", "优惠")
    with pytest.raises(PolicyDenied) as denied:  # a credit note is never confirmed on its own
        settlement.confirm(session, lab_actor, note, LATER)
    assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("已红冲"))


def test_a_confirmed_campus_charge_asks_its_pi_before_it_may_be_invoiced(session, lab_actor, rich):
    campus = f.service_user(org=f.customer("本校审批", category="campus"), name="校内审批", project_account="KY-7")
    charge = confirmed_charge(session, lab_actor, rich[0], campus)
    assert (charge.approval.state, charge.approval.requested_at, charge.approval.project_account) == (
        "awaiting", LATER, "KY-7")
    with pytest.raises(PolicyDenied) as denied:
        settlement.invoice(session, lab_actor, charge, LATER, "FP-PI-1", date(2026, 12, 6))
    assert denied.value.code == "pi_awaiting" and charge.state == "confirmed"


def test_a_waiver_records_the_trimmed_reason_who_and_when(session, lab_actor, rich, user):
    charge = settlement.charge_use(session, a_use(session, rich[0], user), LATER)
    for reason in (None, "", " \t "):
        with pytest.raises(RuleViolation) as refused:
            settlement.waive(session, lab_actor, charge, LATER, reason)
        assert refused.value.errors == {"reason": "请填写原因。"} and charge.state == "pending"
    assert settlement.waive(session, lab_actor, charge, LATER, "  仪器故障  ") is charge
    assert not sa.inspect(charge).modified
    assert stored(session, charge.id) == blank(
        usage_id=charge.usage_id, user_id=user.id, customer_category="enterprise", fee_standard_id=rich[1].id,
        total=D("590.00"), state="waived", reason="仪器故障", confirmed_at=LATER, confirmed_by_id=lab_actor.user_id,
        created_at=LATER)
    with pytest.raises(PolicyDenied) as denied:
        settlement.waive(session, lab_actor, charge, LATER, "再免")
    assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("已免收"))


def test_a_confirmed_charge_may_not_be_waived(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    with pytest.raises(PolicyDenied) as denied:
        settlement.waive(session, lab_actor, charge, LATER, "免收")
    assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("已确认"))
    assert stored(session, charge.id)["reason"] is None


def test_an_invoice_is_refused_with_each_fields_chinese_message(session, lab_actor, rich, user):
    # the use began 00:30 Beijing on 12-05 (still 12-04 in UTC): the invoice may not predate 12-05
    taken = confirmed_charge(session, lab_actor, rich[0], user)
    settlement.invoice(session, lab_actor, taken, LATER, "FP-TAKEN", date(2026, 12, 6))
    charge = confirmed_charge(session, lab_actor, rich[0], user, start=bj(2026, 12, 5, 0, 30), end=bj(2026, 12, 5, 1, 0))
    for number, day, errors in (
            (None, None, {"invoice_number": "请填写发票号码。", "invoice_date": "请填写日期。"}),
            ("  ", date(2026, 12, 6), {"invoice_number": "请填写发票号码。"}),
            (" FP-TAKEN ", date(2026, 12, 4), {"invoice_number": "该发票号码已被其他费用单使用。",
                                               "invoice_date": "开票日期不能早于使用日期（2026-12-05）。"}),
            ("FP-NEW", date(2026, 12, 8), {"invoice_date": "该日期尚未到来。"})):
        with pytest.raises(RuleViolation) as refused:
            settlement.invoice(session, lab_actor, charge, LATER, number, day)
        assert refused.value.errors == errors
        assert stored(session, charge.id)["state"] == "confirmed" and charge.invoice_number is None


def test_an_invoice_may_be_dated_the_day_of_the_use_and_keeps_its_trimmed_number(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user, start=bj(2026, 12, 5, 0, 30), end=bj(2026, 12, 5, 1, 0))
    before = settlement.credit(session, lab_actor, charge, LATER, "40", "优惠")
    number = "FP" + "0123456789" * 6 + "01"  # 64 characters, the column's length
    assert settlement.invoice(session, lab_actor, charge, LATER, f"  {number} ", date(2026, 12, 5)) is charge
    assert not sa.inspect(charge).modified
    row = stored(session, charge.id)
    assert (row["state"], row["invoice_number"], row["invoice_date"]) == ("invoiced", number, date(2026, 12, 5))
    assert stored(session, before.id)["invoice_date"] == date(2026, 12, 5)  # credited before: the invoice's day


def test_an_invoice_number_longer_than_its_column_is_refused_not_cut(session, lab_actor, rich, user):
    """Cut to 64 characters, two numbers sharing their head would both pass the "already used" check and the
    second would break the unique index (a 500)."""
    first, second = (confirmed_charge(session, lab_actor, rich[0], user) for _ in range(2))
    head = "FP" + "0123456789" * 6 + "01"
    settlement.invoice(session, lab_actor, first, LATER, head, date(2026, 12, 6))
    with pytest.raises(RuleViolation) as refused:
        settlement.invoice(session, lab_actor, second, LATER, head + "-2", date(2026, 12, 6))
    assert refused.value.errors == {"invoice_number": "最多 64 个字符。"}
    assert stored(session, second.id)["state"] == "confirmed"


def test_an_invoice_may_be_dated_today_in_beijing(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    just_after_midnight = bj(2026, 12, 8, 0, 30)  # still 12-07 in UTC
    settlement.invoice(session, lab_actor, charge, just_after_midnight, "FP-TODAY", date(2026, 12, 8))
    assert stored(session, charge.id)["invoice_date"] == date(2026, 12, 8)


def test_a_pending_charge_may_not_be_invoiced_nor_settled_nor_credited(session, lab_actor, rich, user):
    charge = settlement.charge_use(session, a_use(session, rich[0], user), LATER)
    for step in (lambda: settlement.invoice(session, lab_actor, charge, LATER, "FP-P", date(2026, 12, 6)),
                 lambda: settlement.settle(session, lab_actor, charge, LATER, date(2026, 12, 6), "other"),
                 lambda: settlement.credit(session, lab_actor, charge, LATER, "1", "多收")):
        with pytest.raises(PolicyDenied) as denied:
            step()
        assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("待确认"))
    assert stored(session, charge.id)["state"] == "pending" and charge.credit_notes == []


def test_a_settlement_is_refused_with_each_fields_chinese_message(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    settlement.invoice(session, lab_actor, charge, LATER, "FP-SETTLE", date(2026, 12, 6))
    for paid_on, method, errors in (
            (None, "cash", {"paid_on": "请填写日期。", "method": "请选择付款方式。"}),
            (date(2026, 12, 5), None, {"paid_on": "付款日期不能早于开票日期（2026-12-06）。", "method": "请选择付款方式。"}),
            (date(2026, 12, 8), "other", {"paid_on": "该日期尚未到来。"})):
        with pytest.raises(RuleViolation) as refused:
            settlement.settle(session, lab_actor, charge, LATER, paid_on, method)
        assert refused.value.errors == errors and stored(session, charge.id)["state"] == "invoiced"
    assert settlement.settle(session, lab_actor, charge, LATER, date(2026, 12, 6), "campus_transfer") is charge
    assert not sa.inspect(charge).modified
    row = stored(session, charge.id)
    assert (row["state"], row["paid_on"], row["payment_method"]) == ("settled", date(2026, 12, 6), "campus_transfer")
    with pytest.raises(PolicyDenied) as denied:
        settlement.settle(session, lab_actor, charge, LATER, date(2026, 12, 6), "other")
    assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("已结清"))


def test_a_settlement_may_be_dated_today_in_beijing(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    settlement.invoice(session, lab_actor, charge, LATER, "FP-PAID-TODAY", date(2026, 12, 7))
    settlement.settle(session, lab_actor, charge, bj(2026, 12, 8, 0, 30), date(2026, 12, 8), "other")
    assert stored(session, charge.id)["paid_on"] == date(2026, 12, 8)


def test_a_credit_note_copies_the_charge_and_records_its_negative_amount_reason_who_and_when(session, lab_actor, rich):
    campus = f.service_user(org=f.customer("本校红冲", category="campus"), name="校内红冲", project_account="KY-RED")
    charge = confirmed_charge(session, lab_actor, rich[0], campus)  # 300 + 40 + 100 = 440, not invoiced
    other = session.execute(sa.select(PlatformUser).filter_by(username="school_admin")).scalar_one()
    note = settlement.credit(session, Actor.of(other), charge, LATER + timedelta(hours=1), " 40.5 ", "  少测一个样品 ")
    assert stored(session, note.id) == blank(
        usage_id=charge.usage_id, user_id=campus.id, customer_category="campus", project_account="KY-RED",
        fee_standard_id=rich[1].id, total=D("-40.50"), state="credited", credit_of_id=charge.id, reason="少测一个样品",
        confirmed_at=LATER + timedelta(hours=1), confirmed_by_id=other.id, created_by_id=other.id,
        created_at=LATER + timedelta(hours=1))  # not invoiced yet: no date until the charge's invoice
    assert stored_lines(session, note.id) == [
        (None, f"费用单 {charge.id} 红冲：少测一个样品", D("1.00"), D("-40.50"), D("-40.50"))]
    assert stored(session, charge.id)["state"] == "confirmed" and str(settlement.remaining(charge)) == "399.50"


def test_a_credit_note_of_an_invoiced_charge_is_dated_its_beijing_day_and_cuts_its_line_at_200(session, lab_actor,
                                                                                               rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    settlement.invoice(session, lab_actor, charge, LATER, "FP-RED", date(2026, 12, 6))
    reason = "多收" * 150
    note = settlement.credit(session, lab_actor, charge, bj(2026, 12, 8, 0, 30), "590", reason)
    row = stored(session, note.id)
    assert (row["invoice_date"], row["project_account"], row["reason"]) == (date(2026, 12, 8), None, reason)
    description = stored_lines(session, note.id)[0][1]
    assert description == f"费用单 {charge.id} 红冲：{reason}"[:200] and len(description) == 200
    # credited in full: the original says so, in the database too
    assert stored(session, charge.id)["state"] == "credited" and str(settlement.remaining(charge)) == "0.00"
    with pytest.raises(PolicyDenied) as denied:
        settlement.credit(session, lab_actor, charge, LATER, "1", "再冲")
    assert (denied.value.code, denied.value.message) == ("charge_state", OWN_STATE.format("已红冲"))
    with pytest.raises(PolicyDenied) as denied:  # nor is a credit note credited
        settlement.credit(session, lab_actor, note, LATER, "1", "再冲")
    assert denied.value.code == "charge_state"


def test_a_credit_note_is_refused_with_each_fields_chinese_message(session, lab_actor, uni, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)  # 590
    for amount, reason, errors in (
            ("abc", None, {"amount": "请填写大于零的金额（元，精确到分）。", "reason": "请填写原因。"}),
            ("590.01", "多收", {"amount": "红冲金额不能超过该费用单的剩余金额（590.00 元）。"}),
            ("5", "  ", {"reason": "请填写原因。"})):
        with pytest.raises(RuleViolation) as refused:
            settlement.credit(session, lab_actor, charge, LATER, amount, reason)
        assert refused.value.errors == errors and charge.credit_notes == []
    settlement.credit(session, lab_actor, charge, LATER, "89.5", "多收")
    with pytest.raises(RuleViolation) as refused:
        settlement.credit(session, lab_actor, charge, LATER, "500.51", "多收")
    assert refused.value.errors == {"amount": "红冲金额不能超过该费用单的剩余金额（500.50 元）。"}
    with pytest.raises(PolicyDenied) as denied:
        settlement.credit(session, outsider_of(session, uni), charge, LATER, "1", "多收")
    assert denied.value.code == "out_of_chain" and len(charge.credit_notes) == 1


def test_what_is_left_of_a_charge_is_its_total_less_its_credit_notes_to_the_cent(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    assert str(settlement.remaining(charge)) == "590.00"
    settlement.credit(session, lab_actor, charge, LATER, "0.5", "多收")
    settlement.credit(session, lab_actor, charge, LATER, "89.5", "多收")
    assert str(settlement.remaining(charge)) == "500.00"


@pytest.mark.parametrize("value, read", [("0.01", "0.01"), ("1", "1.00"), (" 7.5\n", "7.50"), (D("3"), "3.00"),
                                         (2, "2.00")])
def test_an_amount_from_one_cent_up_is_read_to_the_cent(value, read):
    assert str(settlement.parse_amount(value)) == read


@pytest.mark.parametrize("column, value", [("usage_id", None), ("user_id", None), ("customer_category", "campus"),
                                           ("fee_standard_id", None), ("total", D("1.00")), ("credit_of_id", None)])
def test_each_priced_column_of_a_confirmed_charge_is_frozen(session, lab_actor, rich, user, column, value):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    if column == "usage_id":
        value = a_use(session, rich[0], user, start=bj(2026, 12, 6, 13, 0), end=bj(2026, 12, 6, 14, 0)).id
    elif column == "credit_of_id":
        value = confirmed_charge(session, lab_actor, rich[0], user, start=bj(2026, 12, 6, 15, 0),
                                 end=bj(2026, 12, 6, 16, 0)).id
    elif value is None:
        value = getattr(charge, column) + 1
    with pytest.raises(PolicyDenied) as denied, session.begin_nested():
        setattr(charge, column, value)
        session.flush()
    assert (denied.value.code, denied.value.message) == ("charge_frozen", FROZEN)


def test_a_confirmed_charge_and_its_lines_are_never_deleted_nor_added_to(session, lab_actor, rich, user):
    charge = confirmed_charge(session, lab_actor, rich[0], user)
    for change in (lambda: session.delete(charge), lambda: session.delete(charge.lines[0]),
                   lambda: charge.lines.append(ChargeLine(description="加收", quantity=1, unit_price=1, amount=1))):
        with pytest.raises(PolicyDenied) as denied, session.begin_nested():
            change()
            session.flush()
        assert (denied.value.code, denied.value.message) == ("charge_frozen", FROZEN)
    assert stored_lines(session, charge.id)[0][2:] == (D("3.00"), D("150.00"), D("450.00"))
    assert len(stored_lines(session, charge.id)) == 3


def test_a_pending_charge_may_be_corrected_in_the_same_flush_that_confirms_it(session, lab_actor, rich, user):
    charge = settlement.charge_use(session, a_use(session, rich[0], user), LATER)
    charge.lines[0].amount = D("400.00")  # a pending charge's lines are still open
    session.flush()
    charge.total = D("540.00")
    settlement.confirm(session, lab_actor, charge, LATER)  # the edit and the confirmation flush together
    assert (stored(session, charge.id)["total"], stored_lines(session, charge.id)[0][4]) == (D("540.00"), D("400.00"))
    extra = settlement.charge_use(session, a_use(session, rich[0], user, start=bj(2026, 12, 6, 13, 0),
                                                 end=bj(2026, 12, 6, 14, 0)), LATER)
    session.delete(extra.lines[1])  # a pending charge's line may still be dropped
    session.flush()
    assert [line[1] for line in stored_lines(session, extra.id)] == ["机时 (小时)", "占用 (天)"]


def test_a_batch_writes_each_uses_charge_and_lines_column_by_column(session, lab_actor, uni, rich, inst, user):
    bare = f.bookable_instrument(session.get(Unit, uni.l11), name="批量无标准仪器")
    campus = f.service_user(org=f.customer("本校逐列", category="campus"), name="校内逐列", project_account="KY-B")
    user.project_account = "KY-不用"  # not on campus: not its charge's
    unpriced = a_use(session, bare, user, start=bj(2026, 11, 2, 9, 0), end=bj(2026, 11, 2, 10, 0))  # first in order
    outside = a_use(session, rich[0], user, start=bj(2026, 11, 2, 9, 0), end=bj(2026, 11, 3, 9, 30), hours="2.5")
    inside = a_use(session, rich[0], campus, start=bj(2026, 11, 4, 9, 0), end=bj(2026, 11, 4, 10, 0), hours="1",
                   samples=0)
    nothing = a_use(session, inst, user, start=bj(2026, 11, 5, 9, 0), end=bj(2026, 11, 5, 9, 1), hours="0",
                    samples=0)  # no quantity: a charge of 0 with no lines
    opened = a_use(session, rich[0], user, start=bj(2026, 11, 6, 9, 0), end=None, hours=None)
    charged = a_use(session, rich[0], user, start=bj(2026, 11, 7, 9, 0), end=bj(2026, 11, 7, 10, 0))
    earlier = settlement.charge_use(session, charged, LATER)
    unselected = a_use(session, rich[0], user, start=bj(2026, 11, 8, 9, 0), end=bj(2026, 11, 8, 10, 0))
    assert outside.charges == []  # loaded before the batch writes behind the ORM's back
    ids = [unpriced.id, outside.id, inside.id, nothing.id, opened.id, charged.id]
    written = settlement.charge_uses(session, sa.select(UsageRecord.id).where(UsageRecord.id.in_(ids)), LATER,
                                     lab_actor.user_id)
    assert written == 3
    assert len(outside.charges) == 1  # the session reads them afresh
    of = dict(session.execute(sa.select(Charge.usage_id, Charge.id).where(
        Charge.usage_id.in_(ids + [unselected.id]))).all())
    assert sorted(of) == sorted([outside.id, inside.id, nothing.id, charged.id]) and of[charged.id] == earlier.id
    common = dict(state="pending", created_by_id=lab_actor.user_id, created_at=LATER)
    assert stored(session, of[outside.id]) == blank(usage_id=outside.id, user_id=user.id, customer_category="enterprise",
                                                    fee_standard_id=rich[1].id, total=D("590.00"), **common)
    assert stored(session, of[inside.id]) == blank(usage_id=inside.id, user_id=campus.id, customer_category="campus",
                                                   project_account="KY-B", fee_standard_id=rich[1].id,
                                                   total=D("150.00"), **common)
    assert stored(session, of[nothing.id]) == blank(usage_id=nothing.id, user_id=user.id, customer_category="enterprise",
                                                    fee_standard_id=inst.fee_standards[0].id, total=D("0.00"), **common)
    hours, samples, days, _entered = item_ids(rich[1])
    assert stored_lines(session, of[outside.id]) == [
        (hours, "机时 (小时)", D("3.00"), D("150.00"), D("450.00")), (samples, "测试 (样品)", D("2.00"), D("20.00"), D("40.00")),
        (days, "占用 (天)", D("2.00"), D("50.00"), D("100.00"))]
    assert [line[2:] for line in stored_lines(session, of[inside.id])] == [
        (D("1.00"), D("100.00"), D("100.00")), (D("1.00"), D("50.00"), D("50.00"))]
    assert stored_lines(session, of[nothing.id]) == []


def test_a_batch_with_nothing_to_price_writes_nothing(session, uni, user):
    bare = f.bookable_instrument(session.get(Unit, uni.l11), name="批量全无标准仪器")
    use = a_use(session, bare, user)
    assert settlement.charge_uses(session, sa.select(UsageRecord.id).where(UsageRecord.id == use.id), LATER) == 0
    assert session.execute(sa.select(Charge.id).where(Charge.usage_id == use.id)).first() is None
