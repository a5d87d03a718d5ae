"""Settlement (notice §(四)1, Art. 15): a charge per completed use, priced by app/services/money/pricing.py,
and its life — 待确认 pending → 已确认 confirmed → 已开票 invoiced (a unique number, a date not before the
use nor after today) → 已结清 settled (the day and way paid).

- Once confirmed a charge is never edited (the flush guard below refuses it): a correction is a credit
  note (红冲) — negative, pointing at the original, never more than what is left of it — plus a new
  charge for the use, which may be raised only once the earlier ones are credited in full or waived.
- A credit note of an invoiced charge is dated the day it is issued; one of a charge not yet invoiced
  takes the invoice's date when the original is invoiced, so a year's income nets in the same year.
- A pending charge may be waived (免收) with a reason: it counts as no income.
- The annual report and the subsidy estimate read these same rows (app/reports/annual.py).

Services take the acting administrator and `now`; they flush, and the caller commits.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import clock
from app.models import Charge, ChargeLine, CustomerOrg, ServiceUser, UsageRecord
from app.models.base import MONEY
from app.models.choices import CHARGE_STATE, PAYMENT_METHOD

from app.services import inputs
from app.services.money import pi_approval, pricing
from app.services.actors import Actor, require_lab_side
from app.services.errors import PolicyDenied, RuleViolation

CENT = Decimal("0.01")
MSG_STATE = _("This charge is %(state)s: this step does not apply to it.")
MSG_FROZEN = _("A confirmed charge is never edited: issue a credit note and a new charge instead.")
MSG_NUMBER = _("Give the invoice number.")
MSG_NUMBER_TAKEN = _("This invoice number is already used by another charge.")
MSG_INVOICE_BEFORE_USE = _("The invoice cannot be dated before the use (%(day)s).")
MSG_FUTURE = _("This day has not come yet.")
MSG_PAID_BEFORE_INVOICE = _("The payment cannot be dated before the invoice (%(day)s).")
MSG_METHOD = _("Choose how it was paid.")
MSG_AMOUNT = _("Give a positive amount in yuan, to the cent.")
MSG_OVER_REMAINING = _("A credit note cannot exceed what is left of the charge (%(left)s yuan).")
MSG_REASON = _("Give the reason.")
MSG_OUTSTANDING = _("This use still has a charge that is not credited in full or waived.")
MSG_NO_STANDARD = _("No published fee standard was in force on the day of this use.")
CREDITABLE = ("confirmed", "invoiced", "settled")


def _state_denied(charge):
    return PolicyDenied("charge_state", gettext(str(MSG_STATE), state=CHARGE_STATE.label(charge.state)))


def _require(session, actor: Actor, charge: Charge, *states):
    require_lab_side(session, actor, charge.usage.instrument_id)
    if charge.credit_of_id is not None or charge.state not in states:
        raise _state_denied(charge)


def remaining(charge: Charge) -> Decimal:
    """What is left of a charge after its credit notes."""
    return (Decimal(charge.total) + sum((Decimal(n.total) for n in charge.credit_notes), Decimal(0))).quantize(CENT)


def _lines(charge: Charge, lines):
    for line in lines:
        charge.lines.append(ChargeLine(fee_item_id=line.item_id, description=line.description, quantity=line.quantity,
                                       unit_price=line.unit_price, amount=line.amount))


def _priced(session, usage: UsageRecord, now: datetime, actor_id, entered=None) -> Charge | None:
    user = usage.user
    if user is None:
        return None
    schedule = pricing.schedule_of(session, usage.instrument_id, clock.local_date(usage.started_at))
    if schedule is None:
        return None
    lines = pricing.price(schedule, user.org.category, pricing.UseQuantities(
        usage.started_at, usage.ended_at, usage.hours, usage.samples, entered or {}))
    charge = Charge(usage=usage, user=user, customer_category=user.org.category, fee_standard_id=schedule.standard_id,
                    project_account=user.project_account if user.org.category == pricing.CAMPUS else None,
                    total=pricing.total(lines), state="pending", created_by_id=actor_id, created_at=now)
    _lines(charge, lines)
    session.add(charge)
    return charge


def charge_use(session, usage: UsageRecord, now: datetime, actor_id=None, entered=None) -> Charge | None:
    """The pending charge of a completed use, or None when no published standard was in force on the
    use's Beijing start day (the lab then sees MSG_NO_STANDARD beside the use)."""
    charge = _priced(session, usage, now, actor_id, entered)
    session.flush()
    return charge


def charge_uses(session, usage_ids, now: datetime, actor_id=None) -> int:
    """Price, in one batch, the completed uses selected by `usage_ids` (a SELECT of UsageRecord ids, so a
    month of them needs no list of parameters) that have no charge yet: a pending charge each, with its
    lines. Five reads whatever their number, then multi-row INSERTs (about one per thousand rows; Core,
    no ORM objects), never a statement per use; returns how many charges were written. Uses without a user,
    or without a standard in force, are left alone."""
    charged = sa.select(Charge.usage_id).where(Charge.credit_of_id.is_(None))
    uses = session.execute(
        sa.select(UsageRecord.id, UsageRecord.instrument_id, UsageRecord.user_id, UsageRecord.started_at,
                  UsageRecord.ended_at, UsageRecord.hours, UsageRecord.samples, CustomerOrg.category,
                  ServiceUser.project_account)
        .join(ServiceUser, ServiceUser.id == UsageRecord.user_id).join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
        .where(UsageRecord.id.in_(usage_ids), UsageRecord.ended_at.is_not(None), UsageRecord.id.not_in(charged))
        .order_by(UsageRecord.id)).all()
    schedules = pricing.schedules_for(session, {u.instrument_id for u in uses})
    charges, lines_of = [], []
    for u in uses:
        schedule = pricing.in_force(schedules.get(u.instrument_id), clock.local_date(u.started_at))
        if schedule is None:
            continue
        lines = pricing.price(schedule, u.category, pricing.UseQuantities(u.started_at, u.ended_at, u.hours, u.samples))
        charges.append({"usage_id": u.id, "user_id": u.user_id, "customer_category": u.category,
                        "project_account": u.project_account if u.category == pricing.CAMPUS else None,
                        "fee_standard_id": schedule.standard_id, "total": pricing.total(lines), "state": "pending",
                        "created_by_id": actor_id, "created_at": now})
        lines_of.append(lines)
    if not charges:
        return 0
    # Core: a few multi-row INSERT … RETURNING for the whole batch (one new charge per use, so the use
    # tells which id is whose; asking for the parameters' order would cost one INSERT per row on SQLite)
    conn, table = session.connection(), Charge.__table__
    id_of = dict(conn.execute(sa.insert(table).returning(table.c.usage_id, table.c.id), charges).all())
    rows = [{"charge_id": id_of[charge["usage_id"]], "fee_item_id": line.item_id, "description": line.description,
             "quantity": line.quantity, "unit_price": line.unit_price, "amount": line.amount}
            for charge, lines in zip(charges, lines_of) for line in lines]
    if rows:
        conn.execute(sa.insert(ChargeLine.__table__), rows)
    session.expire_all()  # written behind the ORM's back
    return len(id_of)


def new_charge(session, actor: Actor, usage: UsageRecord, now: datetime, entered=None) -> Charge:
    """A use's charge raised again (after a credit note in full, or a waiver), priced afresh."""
    require_lab_side(session, actor, usage.instrument_id)
    for earlier in usage.charges:
        if earlier.credit_of_id is None and earlier.state != "waived" and remaining(earlier) != 0:
            raise PolicyDenied("charge_outstanding", MSG_OUTSTANDING)
    charge = _priced(session, usage, now, actor.user_id, entered)
    if charge is None:
        raise PolicyDenied("no_standard", MSG_NO_STANDARD)
    session.flush()
    return charge


def confirm(session, actor: Actor, charge: Charge, now: datetime) -> Charge:
    _require(session, actor, charge, "pending")
    charge.state, charge.confirmed_at, charge.confirmed_by_id = "confirmed", now, actor.user_id
    session.flush()
    pi_approval.request(session, charge, now)  # an on-campus charge waits for its project account's PI
    return charge


def waive(session, actor: Actor, charge: Charge, now: datetime, reason) -> Charge:
    _require(session, actor, charge, "pending")
    if not (reason or "").strip():
        raise RuleViolation({"reason": MSG_REASON})
    charge.state, charge.reason, charge.confirmed_at, charge.confirmed_by_id = "waived", reason.strip(), now, actor.user_id
    session.flush()
    return charge


def invoice(session, actor: Actor, charge: Charge, now: datetime, number, day: date | None) -> Charge:
    _require(session, actor, charge, "confirmed")
    pi_approval.require_invoiceable(charge)
    number = (number or "").strip()
    errors = {}
    # a number longer than its column is refused, never cut: two that share their head would collide in the index
    if not number:
        errors["invoice_number"] = MSG_NUMBER
    elif not inputs.too_long(errors, "invoice_number", number, Charge.__table__.c.invoice_number) and \
            session.execute(sa.select(Charge.id).where(Charge.invoice_number == number, Charge.id != charge.id)).first():
        errors["invoice_number"] = MSG_NUMBER_TAKEN
    used_on = clock.local_date(charge.usage.started_at)
    if day is None:
        errors["invoice_date"] = _("Give the day.")
    elif day < used_on:
        errors["invoice_date"] = gettext(str(MSG_INVOICE_BEFORE_USE), day=used_on.isoformat())
    elif day > clock.local_date(now):
        errors["invoice_date"] = MSG_FUTURE
    if errors:
        raise RuleViolation(errors)
    charge.state, charge.invoice_number, charge.invoice_date = "invoiced", number, day
    for note in charge.credit_notes:  # credited before it was invoiced: the same year's income
        if note.invoice_date is None:
            note.invoice_date = day
    session.flush()
    return charge


def settle(session, actor: Actor, charge: Charge, now: datetime, paid_on: date | None, method) -> Charge:
    _require(session, actor, charge, "invoiced")
    errors = {}
    if paid_on is None:
        errors["paid_on"] = _("Give the day.")
    elif paid_on < charge.invoice_date:
        errors["paid_on"] = gettext(str(MSG_PAID_BEFORE_INVOICE), day=charge.invoice_date.isoformat())
    elif paid_on > clock.local_date(now):
        errors["paid_on"] = MSG_FUTURE
    if method not in PAYMENT_METHOD.codes:
        errors["method"] = MSG_METHOD
    if errors:
        raise RuleViolation(errors)
    charge.state, charge.paid_on, charge.payment_method = "settled", paid_on, method
    session.flush()
    return charge


def parse_amount(value) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    # within what a money column holds (a larger amount cannot even be rounded to the cent)
    if not amount.is_finite() or amount <= 0 or amount >= 10 ** (MONEY.precision - MONEY.scale) \
            or amount != amount.quantize(CENT):
        return None
    return amount.quantize(CENT)


def credit(session, actor: Actor, charge: Charge, now: datetime, amount, reason) -> Charge:
    """A credit note (红冲) of `amount` yuan against a confirmed, invoiced or settled charge."""
    _require(session, actor, charge, *CREDITABLE)
    errors = {}
    value = parse_amount(amount)
    left = remaining(charge)
    if value is None:
        errors["amount"] = MSG_AMOUNT
    elif value > left:
        errors["amount"] = gettext(str(MSG_OVER_REMAINING), left=f"{left:.2f}")
    if not (reason or "").strip():
        errors["reason"] = MSG_REASON
    if errors:
        raise RuleViolation(errors)
    invoiced = charge.invoice_date is not None
    note = Charge(usage=charge.usage, user_id=charge.user_id, customer_category=charge.customer_category,
                  project_account=charge.project_account, fee_standard_id=charge.fee_standard_id, total=-value,
                  state="credited", credit_of=charge, reason=reason.strip(), created_by_id=actor.user_id,
                  created_at=now, confirmed_at=now, confirmed_by_id=actor.user_id,
                  invoice_date=clock.local_date(now) if invoiced else None)
    note.lines.append(ChargeLine(description=gettext("Credit note of charge %(id)s: %(reason)s", id=charge.id,
                                                     reason=reason.strip())[:200],
                                 quantity=Decimal(1).quantize(CENT), unit_price=-value, amount=-value))
    session.add(note)
    session.flush()
    if remaining(charge) == 0:
        charge.state = "credited"
        session.flush()
    return note


# --- the guard: a charge past pending is never edited ---------------------------------------------

FROZEN_FIELDS = ("usage_id", "user_id", "customer_category", "fee_standard_id", "total", "credit_of_id")


def _changed(obj, fields):
    state = sa.inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def _was_frozen(charge):
    history = sa.inspect(charge).attrs.state.history
    before = history.deleted[0] if history.deleted else charge.state
    return before != "pending" and charge.id is not None


def _guard(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Charge) and _was_frozen(obj) and (obj in session.deleted or _changed(obj, FROZEN_FIELDS)):
            raise PolicyDenied("charge_frozen", MSG_FROZEN)
        if isinstance(obj, ChargeLine) and obj.charge is not None and obj.charge.id is not None \
                and _was_frozen(obj.charge):
            raise PolicyDenied("charge_frozen", MSG_FROZEN)
    for obj in session.new:
        if isinstance(obj, ChargeLine) and obj.charge is not None and obj.charge.id is not None \
                and _was_frozen(obj.charge):
            raise PolicyDenied("charge_frozen", MSG_FROZEN)


def install():
    if not event.contains(Session, "before_flush", _guard):
        event.listen(Session, "before_flush", _guard)
