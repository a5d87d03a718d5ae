"""Charges taken through their steps in one batch (the settlement of a ledger of services rendered; the
demo's history): each pending charge is confirmed, its PI's approval through the mailed link recorded when
it is an on-campus one (a PI without e-mail decides on paper, recorded one at a time with its scan), invoiced
and settled as far as its entry goes — every step checked as its one-at-a-time sibling in
settlement.py and pi_approval.py checks it (the lab side of the instrument, the charge's state, a unique
invoice number dated between the use and today, a payment dated between the invoice and today, a way
paid, an on-campus charge invoiced only once its PI approved). A few statements for the whole batch; no
messages (the steps happened when they happened). Refused entries change nothing and are answered by index.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import Charge, ChargeApproval, Person, ServiceUser, UsageRecord
from app.models.choices import PAYMENT_METHOD
from app.models.user import SCHOOL_ADMIN

from app.services.people import identifiers
from app.services.money import pi_approval
from app.services.actors import Actor, LabSides
from app.services.batch import Batch
from app.services.money.settlement import (MSG_FUTURE, MSG_INVOICE_BEFORE_USE, MSG_METHOD, MSG_NUMBER, MSG_NUMBER_TAKEN,
                                           MSG_PAID_BEFORE_INVOICE, MSG_STATE)


MSG_PAPER_ONE_AT_A_TIME = _("This charge's PI has no e-mail address: a decision on paper is recorded on the charge's "
                            "page, with the signed paper's scan, by the college's or the school's administrator.")
MSG_DECIDED_BEFORE_ASKED = _("The PI cannot have decided before the charge was confirmed and the PI asked.")
MSG_SCHOOL_IMPORTS = _("PIs' past decisions are imported by the school's administrators, never by the laboratory that "
                       "earns the charges.")


@dataclass(frozen=True)
class Advance:
    charge_id: int
    confirmed_at: datetime
    pi_decided_at: datetime | None = None  # an on-campus charge: when its PI approved through the mailed link
    invoice_number: str | None = None
    invoice_date: date | None = None
    paid_on: date | None = None
    method: str | None = None


def advance_batch(session, actor: Actor, now: datetime, entries: list[Advance]) -> Batch:
    result = Batch()
    today = clock.local_date(now)
    charges = {c.id: c for c in session.execute(
        sa.select(Charge.id, Charge.state, Charge.credit_of_id, Charge.customer_category, Charge.total,
                  Charge.project_account, UsageRecord.instrument_id, UsageRecord.started_at, ServiceUser.pi_id,
                  Person.name.label("pi_name"), Person.email.label("pi_email"))
        .join(UsageRecord, UsageRecord.id == Charge.usage_id).outerjoin(ServiceUser, ServiceUser.id == Charge.user_id)
        .outerjoin(Person, Person.id == ServiceUser.pi_id)
        .where(Charge.id.in_({e.charge_id for e in entries}))).all()}
    numbers = {e.invoice_number for e in entries if e.invoice_number}
    taken = set(session.execute(sa.select(Charge.invoice_number).where(Charge.invoice_number.in_(numbers))).scalars())
    sides, updates, approvals, seen = LabSides(session, actor), [], [], set()
    for index, e in enumerate(entries):
        charge = charges.get(e.charge_id)
        if charge is None or e.charge_id in seen:
            result.refuse(index, gettext(str(MSG_STATE), state="—"))
            continue
        denied = sides.refusal(charge.instrument_id)
        if denied is not None:
            result.refuse(index, denied)
            continue
        if charge.state != "pending" or charge.credit_of_id is not None:
            result.refuse(index, gettext(str(MSG_STATE), state=charge.state))
            continue
        campus = pi_approval.needs_approval(charge)
        problem = _approval_problem(e, charge, campus, actor) or _invoice_problem(e, charge, campus, today, taken) \
            or _payment_problem(e, today)
        if problem:
            result.refuse(index, problem)
            continue
        seen.add(e.charge_id)
        if e.invoice_number:
            taken.add(e.invoice_number)
        state = "settled" if e.paid_on else "invoiced" if e.invoice_number else "confirmed"
        updates.append({"c_id": e.charge_id, "state": state, "confirmed_at": e.confirmed_at,
                        "confirmed_by_id": actor.user_id, "invoice_number": e.invoice_number, "invoice_date": e.invoice_date,
                        "paid_on": e.paid_on, "payment_method": e.method})
        if campus:
            decided = e.pi_decided_at is not None
            approvals.append({"charge_id": e.charge_id, "instrument_id": charge.instrument_id, "pi_id": charge.pi_id,
                              "pi_name": charge.pi_name, "email_to": charge.pi_email or None,
                              "project_account": charge.project_account, "state": "approved" if decided else "awaiting",
                              "requested_at": e.confirmed_at, "nonce": secrets.token_hex(16),
                              "decided_at": e.pi_decided_at, "decided_via": "link" if decided else None,
                              "recorded_by_id": actor.user_id if decided else None, "note": None, "emailed_at": None,
                              "email_error": None})
        result.done[index] = e.charge_id
    if updates:
        table = Charge.__table__
        session.connection().execute(sa.update(table).where(table.c.id == sa.bindparam("c_id"), table.c.state == "pending")
                                     .values({k: sa.bindparam(k) for k in updates[0] if k != "c_id"}), updates)
    if approvals:
        session.connection().execute(sa.insert(ChargeApproval.__table__), approvals)
    session.expire_all()
    return result


def _invoice_problem(e: Advance, charge, campus: bool, today: date, taken: set):
    if not e.invoice_number:
        return MSG_NUMBER if e.invoice_date or e.paid_on else None
    if e.invoice_number in taken:
        return MSG_NUMBER_TAKEN
    used_on = clock.local_date(charge.started_at)
    if e.invoice_date is None or e.invoice_date < used_on:
        return gettext(str(MSG_INVOICE_BEFORE_USE), day=used_on.isoformat())
    if e.invoice_date > today or clock.local_date(e.confirmed_at) > today:
        return MSG_FUTURE
    if campus and e.pi_decided_at is None:
        return pi_approval.MSG_AWAITING
    return None


def _approval_problem(e: Advance, charge, campus: bool, actor: Actor):
    """A PI's approval in a batch is one given through the mailed link, imported with a ledger of services
    rendered (the demo's history) by the school — never by the lab that earns the charge, which could otherwise
    approve its own charges "for" the PI. A PI without an e-mail address decides on paper, which an
    administrator above the lab records one at a time with the signed paper's scan."""
    if not campus or e.pi_decided_at is None:
        return None
    if SCHOOL_ADMIN not in actor.roles and not actor.scheduled:
        return MSG_SCHOOL_IMPORTS
    if not identifiers.is_email(charge.pi_email):
        return MSG_PAPER_ONE_AT_A_TIME
    if e.pi_decided_at < e.confirmed_at:
        return MSG_DECIDED_BEFORE_ASKED
    return None


def _payment_problem(e: Advance, today: date):
    if e.paid_on is None:
        return MSG_METHOD if e.method else None
    if e.paid_on < e.invoice_date:
        return gettext(str(MSG_PAID_BEFORE_INVOICE), day=e.invoice_date.isoformat())
    if e.paid_on > today:
        return MSG_FUTURE
    if e.method not in PAYMENT_METHOD.codes:
        return MSG_METHOD
    return None
