"""What needs each account now, for its home page (issue 13, item 9): the bookings its side has to
answer (overdue, due today), today's schedule, the fee standards at its step, the registrations to
decide, and — for a college or the school — the overdue counts per lab or per college; a service
user's pending and coming bookings and any suspension. The caller passes the scope clauses of the
one scope filter (app/security/scope.py), so the counts are exactly what the screens list."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from app import clock
from app.models import Booking, FeeStandard, Instrument, ServiceUser, Unit
from app.models.user import COLLEGE_ADMIN, LAB_ADMIN, SCHOOL_ADMIN

from app.services.booking.bookings import SLOT_START, overdue_clause


def _where(query, clause):
    return query if clause is None else query.where(clause)


@dataclass
class LabSide:
    pending: int = 0
    overdue: int = 0
    due_today: int = 0
    today: int = 0
    fee_standards: int = 0
    fee_state: str = ""
    registrations: int | None = None  # None: not this role's to decide
    per_unit: list = field(default_factory=list)  # (unit name, pending, overdue), most overdue first
    per_unit_level: str = ""


@dataclass
class Customer:
    pending: int = 0
    coming: list = field(default_factory=list)  # the next scheduled bookings
    suspended_until: date | None = None
    suspension_reason: str | None = None


FEE_STEP = {LAB_ADMIN: "draft", COLLEGE_ADMIN: "college_review", SCHOOL_ADMIN: "school_review"}


def lab_side(session, today: date, now: datetime, roles, booking_scope, fee_scope, registration_scope) -> LabSide:
    """Counts over the bookings, fee standards and registrations in the caller's scope — five statements."""
    result = LabSide()
    start, end = clock.day_bounds(today)
    pending = sa.and_(Booking.state == "pending")
    row = session.execute(_where(sa.select(
        sa.func.count().filter(pending),
        sa.func.count().filter(sa.and_(pending, overdue_clause(today))),
        sa.func.count().filter(sa.and_(pending, Booking.respond_by == today)),
        sa.func.count().filter(sa.and_(Booking.state == "scheduled", sa.or_(
            sa.and_(Booking.scheduled_start >= start, Booking.scheduled_start < end), Booking.scheduled_date == today))),
    ).select_from(Booking), booking_scope)).one()
    result.pending, result.overdue, result.due_today, result.today = (int(v or 0) for v in row)
    step = next((FEE_STEP[r] for r in (SCHOOL_ADMIN, COLLEGE_ADMIN, LAB_ADMIN) if r in roles), None)
    if step:
        result.fee_state = step
        result.fee_standards = session.execute(_where(sa.select(sa.func.count()).select_from(FeeStandard)
                                                      .where(FeeStandard.state == step), fee_scope)).scalar()
    if roles & {SCHOOL_ADMIN, COLLEGE_ADMIN}:
        result.registrations = session.execute(_where(sa.select(sa.func.count()).select_from(ServiceUser)
                                                      .where(ServiceUser.status == "pending"), registration_scope)).scalar()
        result.per_unit_level = "college" if SCHOOL_ADMIN in roles else "lab"
        result.per_unit = _per_unit(session, today, booking_scope, result.per_unit_level)
    return result


def _per_unit(session, today, booking_scope, level):
    """Pending and overdue bookings per lab (for a college) or per college (for the school)."""
    lab = sa.orm.aliased(Unit)
    group = lab if level == "lab" else sa.orm.aliased(Unit)
    query = (sa.select(group.name, sa.func.count(), sa.func.count().filter(overdue_clause(today)))
             .select_from(Booking).join(Instrument, Instrument.id == Booking.instrument_id)
             .join(lab, lab.id == Instrument.unit_id).where(Booking.state == "pending"))
    if level != "lab":  # the college is the ancestor at college level on the lab's path
        query = query.join(group, sa.and_(group.level == "college", lab.is_under(group.path)))
    query = _where(query, booking_scope).group_by(group.id, group.name)
    rows = session.execute(query).all()
    return sorted(((name, int(p), int(o)) for name, p, o in rows), key=lambda r: (-r[2], -r[1], r[0]))


def customer(session, user: ServiceUser, now: datetime, limit=5) -> Customer:
    result = Customer(suspended_until=user.suspended_until if user.suspended_until and
                      user.suspended_until >= clock.local_date(now) else None,
                      suspension_reason=user.suspension_reason)
    result.pending = session.execute(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.user_id == user.id, Booking.state == "pending")).scalar()
    day = clock.local_date(now)
    coming = session.execute(sa.select(Booking).where(
        Booking.user_id == user.id, Booking.state == "scheduled",
        sa.or_(SLOT_START >= now, Booking.scheduled_date >= day))).scalars().all()
    result.coming = sorted(coming, key=lambda b: b.slot_start or clock.start_of(b.scheduled_date))[:limit]
    return result
