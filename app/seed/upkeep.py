"""The demo university's upkeep of its records (issue 23, items 4–5 and 7), so each list has something to find:

- the demo lab has signed off every month's self-check since the duty began, approved by its college, except last
  month's, which the college returned with remarks; this month's is not started; every other lab has done none
  (overdue checks); the demo college signed every quarter's review off but the last complete one;
- the school's verification calls found two published phones of other labs dead (one call 3 days ago, one 12: the
  latter's correction overdue) and reached half the demo lab's records;
- a responsible person of a networked record has left the school.

Everything goes through the services as the demo accounts, at instants in the past.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.models import Instrument, Person, Unit
from app.services.actors import Actor
from app.services.upkeep import contacts, self_checks
from app.services.upkeep.self_checks import Terms

from .catalog import DEMO_LAB_CODE

RETURN_REMARKS = "请逐台核对存放地点与实物是否一致，更正后重新签认。"


def _at(day, hour=10):
    return clock.start_of(day) + timedelta(hours=hour)


def _checks(session, users, lab: Unit, terms: Terms, today):
    lab_side, college = Actor.of(users["lab_admin"]), Actor.of(users["college_admin"])
    months = self_checks.months_between(terms.since, self_checks.month_of(today))[:-1]  # this month's: not started
    records = [r.id for r in self_checks.checked_records(session, lab.id)]
    for month in months:
        day = self_checks.last_day(month)
        opened, signed = _at(day - timedelta(days=2)), _at(day, 16)
        check = self_checks.open_check(session, lab_side, lab.id, month, opened, terms.since)
        for pk in records:
            self_checks.confirm(session, lab_side, check.id, pk, None, opened)
        self_checks.sign(session, lab_side, check.id, "逐台核对，信息与实物一致。", signed)
        reviewed = _at(day + timedelta(days=3))
        self_checks.decide(session, college, check.id, month != months[-1],
                           None if month != months[-1] else RETURN_REMARKS, reviewed)
    quarters = sorted({self_checks.quarter_of(m) for m in months if self_checks.last_day(self_checks.quarter_of(m)) < today})
    for quarter in quarters[:-1]:
        self_checks.sign_review(session, college, lab.parent_id, quarter, None,
                                _at(self_checks.last_day(quarter) + timedelta(days=5)), terms.since)
    return len(months)


def _calls(session, users, lab: Unit, now):
    school = Actor.of(users["school_admin"])
    networked = session.execute(sa.select(Instrument.id, Instrument.unit_id).where(
        Instrument.networked.is_(True), sa.func.coalesce(Instrument.contact_phone, "") != "")
        .order_by(Instrument.asset_number)).all()
    others = [row.id for row in networked if row.unit_id != lab.id]
    own = [row.id for row in networked if row.unit_id == lab.id]
    for pk in own[: len(own) // 2]:  # the other half the lab is still to call
        contacts.record_call(session, school, pk, "reachable", None, now - timedelta(days=20))
    contacts.record_call(session, school, others[5], "vacant", "拨打提示空号", now - timedelta(days=3))
    contacts.record_call(session, school, others[7], "suspended", "拨打提示停机", now - timedelta(days=12))
    return 2


def _someone_left(session, lab: Unit, today):
    person_id = session.execute(sa.select(Instrument.responsible_person_id).where(
        Instrument.networked.is_(True), Instrument.unit_id != lab.id, Instrument.responsible_person_id.is_not(None))
        .order_by(Instrument.asset_number).limit(1)).scalar()
    if person_id is not None:
        session.get(Person, person_id).left_on = today - timedelta(days=40)


def seed_upkeep(session, users, terms: Terms, now) -> dict:
    lab = session.execute(sa.select(Unit).where(Unit.code == DEMO_LAB_CODE)).scalar_one()
    today = clock.local_date(now)
    counts = {"self_checks": _checks(session, users, lab, terms, today), "dead_contacts": _calls(session, users, lab, now)}
    _someone_left(session, lab, today)
    session.flush()
    return counts
