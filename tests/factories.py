"""Small factories for test data (SPEC §6: factories, not giant fixtures)."""
import itertools
from datetime import date
from decimal import Decimal

from app.extensions import db
from app.models import InnovationPlatform, Instrument, Person, TrainingSession, Unit, UnsuitableFiling

_seq = itertools.count(1)


def continue_sequence_from(start):
    """The next number of the sequence, after making `start` (unless None) the next one."""
    global _seq
    if start is not None:
        _seq = itertools.count(start)
    n = next(_seq)
    _seq = itertools.count(n)
    return n


def unit(name, level, parent=None, code=None):
    u = Unit(code=code or f"U{next(_seq):04d}", name=name, level=level, parent=parent)
    db.session.add(u)
    db.session.flush()
    return u


def person(unit, name="张老师", **kw):
    p = Person(name=name, unit=unit, duty=kw.pop("duty", "instrument_owner"), mobile=kw.pop("mobile", "13800138000"),
               email=kw.pop("email", "zhang@example.edu.cn"), **kw)
    db.session.add(p)
    db.session.flush()
    return p


def instrument(unit, name="扫描电子显微镜", **kw):
    n = next(_seq)
    values = dict(
        asset_number=f"ZC-{n:06d}", name=name, model="型号甲", unit=unit, original_value=Decimal("850000.00"),
        funding_source="fiscal_full", purchase_date=date(2020, 3, 1), acceptance_date=date(2020, 4, 1),
        class_code="010102", location="理科楼101室", contact_phone="0731-88880000", contact_email="lab@example.edu.cn",
        run_status="normal", sharing_status="external", kind="instrument",
    )
    values.update(kw)
    i = Instrument(**values)
    db.session.add(i)
    db.session.flush()
    return i


def platform(unit, name="省重点实验室", **kw):
    p = InnovationPlatform(name=name, unit=unit, kind=kw.pop("kind", "key_lab"), level=kw.pop("level", "provincial"), **kw)
    db.session.add(p)
    db.session.flush()
    return p


def training(unit, topic="仪器安全培训", level="lab", **kw):
    t = TrainingSession(unit=unit, topic=topic, level=level, held_on=kw.pop("held_on", date(2026, 6, 1)), **kw)
    db.session.add(t)
    db.session.flush()
    return t


def filing(instrument, **kw):
    f = UnsuitableFiling(instrument=instrument, category=kw.pop("category", "teaching"), reason=kw.pop("reason", "教学专用"), **kw)
    db.session.add(f)
    db.session.flush()
    return f


def user(sm, username, role_name, unit=None, password="test-1234"):
    role = sm.find_role(role_name)
    u = sm.add_user(username, "测试", "用户", f"{username}@example.edu.cn", role, password=password)
    u.unit_id = unit.id if unit is not None else None
    db.session.commit()
    return u


def fee_standard(instrument, state="draft", version=1, effective_from=None, items=None, **kw):
    """A fee standard with items; `items` is a list of dicts:
    {"name", "billing_unit", "cost_basis", "basis" (how a use's quantity is counted, default "entered"),
    "prices": [(category, tier_min, tier_max, price, reason)]}."""
    from app.models import FeeItem, FeePrice, FeeStandard

    standard = FeeStandard(instrument_id=instrument.id if hasattr(instrument, "id") else instrument, state=state,
                           version=version, effective_from=effective_from or date(2026, 1, 1), **kw)
    for spec in items if items is not None else [standard_item()]:
        item = FeeItem(name=spec["name"], billing_unit=spec["billing_unit"], cost_basis=Decimal(spec["cost_basis"]),
                       quantity_basis=spec.get("basis", "entered"))
        for category, low, high, price, reason in spec["prices"]:
            item.prices.append(FeePrice(customer_category=category, tier_min=Decimal(low),
                                        tier_max=None if high is None else Decimal(high),
                                        unit_price=Decimal(price), difference_reason=reason))
        standard.items.append(item)
    db.session.add(standard)
    db.session.flush()
    return standard


def standard_item(name="常规测试", unit="样品", cost="100", prices=None, basis="entered"):
    return {"name": name, "billing_unit": unit, "cost_basis": cost, "basis": basis,
            "prices": prices if prices is not None else [("campus", 0, None, cost, None)]}


def customer(name="测试企业", category="enterprise", affiliated=False):
    from app.models import CustomerOrg

    org = CustomerOrg(name=f"{name}{next(_seq)}", category=category, affiliated=affiliated)
    db.session.add(org)
    db.session.flush()
    return org


def service_user(org=None, name="预约用户", account=None, **kw):
    from app.models import ServiceUser

    u = ServiceUser(name=name, org=org or customer(), account_id=account.id if account is not None else None,
                    status=kw.pop("status", "active"), **kw)
    db.session.add(u)
    db.session.flush()
    return u


def authorisation(user, instrument, granted_on=date(2026, 6, 1), **kw):
    from app.models import Authorisation

    a = Authorisation(user_id=user.id, instrument_id=instrument.id, granted_on=granted_on,
                      state=kw.pop("state", "active"), trainer=kw.pop("trainer", "张老师"), **kw)
    db.session.add(a)
    db.session.flush()
    return a


def bookable_instrument(unit, name="可预约仪器", **kw):
    return instrument(unit, name=name, bookable=True, **kw)


def contract(org, unit, number="HT-2026-001", signed_on=date(2026, 1, 5), valid_from=date(2026, 1, 1),
             valid_until=date(2027, 12, 31), **kw):
    """A signed service contract (Art. 16) of an outside organisation with a unit of the school."""
    from app.models import ServiceContract

    return ServiceContract(org=org, unit_id=unit.id, number=number, service_content="检测与技术服务",
                           ip_ownership="用户独立完成的成果归用户所有；合作成果按事先约定", confidentiality="双方对对方的技术资料保密",
                           damages="因仪器操作不当造成损坏的，按实际损失赔偿", liability="因不可抗力造成的延误不承担责任",
                           dispute_resolution="协商不成的，提交学校所在地人民法院诉讼解决", signed_on=signed_on,
                           valid_from=valid_from, valid_until=valid_until, **kw)


def remove_instruments(ids):
    """Delete committed instruments with everything a flow gave them: plug commands, evaluations, credit
    notes and charges, uses, bookings, fee standards (their items and prices cascade), authorisations,
    booking rules, and their terminals with what those reported."""
    import sqlalchemy as sa

    from app.models import (Authorisation, Booking, BookingRule, Charge, DeviceEvent, DeviceStatus, Evaluation,
                            FeeStandard, Instrument, InterlockCommand, IotTerminal, UsageRecord)

    terminals = sa.select(Instrument.iot_terminal_id).where(Instrument.id.in_(ids), Instrument.iot_terminal_id.is_not(None))
    for model in (DeviceEvent, DeviceStatus, IotTerminal):
        db.session.execute(sa.delete(model).where(model.terminal_id.in_(terminals)))
    db.session.execute(sa.delete(InterlockCommand).where(InterlockCommand.instrument_id.in_(ids)))
    bookings = sa.select(Booking.id).where(Booking.instrument_id.in_(ids))
    uses = sa.select(UsageRecord.id).where(UsageRecord.instrument_id.in_(ids))
    db.session.execute(sa.delete(Evaluation).where(Evaluation.booking_id.in_(bookings)))
    db.session.execute(sa.delete(Charge).where(Charge.usage_id.in_(uses), Charge.credit_of_id.is_not(None)))
    db.session.execute(sa.delete(Charge).where(Charge.usage_id.in_(uses)))
    for model in (UsageRecord, Booking, FeeStandard, Authorisation, BookingRule):
        db.session.execute(sa.delete(model).where(model.instrument_id.in_(ids)))
    db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids)))
    db.session.commit()
