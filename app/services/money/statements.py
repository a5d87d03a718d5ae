"""Statements (对账单, issue 14): what a user, an organisation, a lab, a college or the school was
invoiced in a month or a year, what of it is settled and what is still owed, and what is not invoiced yet.

- *Invoiced in the period* is one rule for every figure of the platform: a charge past pending whose
  invoice is dated in the period (credit notes carry negative totals and their own date, so they net
  out). The annual report and the subsidy estimate read the same rule (`invoiced_between`), so their
  totals agree with the statements.
- *Settled* counts the invoiced charges paid; *owed* what is left of the invoiced charges not yet paid.
- *Not invoiced yet*: the period's uses whose charges wait for confirmation or for their invoice.
- A waiver (免收) counts as no income; it is listed with its reason among the period's uses.

Everything is read in one query per section, whatever the number of charges (a school year is
hundreds of thousands of rows), and restricted to the caller's scope (`unit_ids`, None = the school).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext
import sqlalchemy as sa

from app.models import Charge, CustomerOrg, Instrument, ServiceUser, Unit, UsageRecord
from app.models.aggregates import exact_sum
from app.models.base import beijing_date

PARTY_KINDS = ("user", "org", "unit")
OPEN_STATES = ("pending", "confirmed")


def invoiced_between(first: date, last: date):
    """The one rule of income: a charge past pending, its invoice dated within [first, last]."""
    return sa.and_(Charge.state != "pending", Charge.invoice_date.between(first, last))


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    year: int
    month: int | None = None

    @classmethod
    def of(cls, year: int, month: int | None = None) -> "Period":
        if month is None:
            return cls(date(year, 1, 1), date(year, 12, 31), year)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return cls(date(year, month, 1), date.fromordinal(following.toordinal() - 1), year, month)

    @property
    def label(self) -> str:
        if self.month is None:
            return gettext("Year %(year)s", year=self.year)
        return gettext("%(year)s-%(month)02d", year=self.year, month=self.month)


@dataclass(frozen=True)
class Party:
    kind: str  # user, org or unit
    id: int


@dataclass(frozen=True)
class Totals:
    invoiced: Decimal
    settled: Decimal
    owed: Decimal
    not_invoiced: Decimal
    waived: Decimal
    charges: int


def _party_clause(session, party: Party):
    if party.kind == "user":
        return UsageRecord.user_id == party.id
    if party.kind == "org":
        return UsageRecord.user_id.in_(sa.select(ServiceUser.id).where(ServiceUser.org_id == party.id))
    path = session.execute(sa.select(Unit.path).where(Unit.id == party.id)).scalar()
    if path is None:
        return sa.false()
    return Instrument.unit_id.in_(Unit.ids_under(path))


def party_name(session, party: Party) -> str:
    model = {"user": ServiceUser, "org": CustomerOrg, "unit": Unit}[party.kind]
    row = session.get(model, party.id)
    return "" if row is None else (row.name if party.kind != "user" else str(row))


COLUMNS = ("id", "credit_of_id", "used_on", "instrument", "asset_number", "user", "org", "state", "total",
           "invoice_number", "invoice_date", "paid_on", "payment_method", "reason")


def _rows(session, party, unit_ids, *where):
    query = (
        sa.select(Charge.id, Charge.credit_of_id, beijing_date(UsageRecord.started_at).label("used_on"),
                  Instrument.name.label("instrument"), Instrument.asset_number, ServiceUser.name.label("user"),
                  CustomerOrg.name.label("org"), Charge.state, Charge.total, Charge.invoice_number, Charge.invoice_date,
                  Charge.paid_on, Charge.payment_method, Charge.reason)
        .join(UsageRecord, UsageRecord.id == Charge.usage_id)
        .join(Instrument, Instrument.id == UsageRecord.instrument_id)
        .outerjoin(ServiceUser, ServiceUser.id == UsageRecord.user_id)
        .outerjoin(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
        .where(_party_clause(session, party), *where)
    )
    if unit_ids is not None:
        query = query.where(Instrument.unit_id.in_(unit_ids))
    return query


def invoiced_rows(session, party: Party, period: Period, unit_ids=None):
    """The charges and credit notes invoiced in the period, by invoice date."""
    return _rows(session, party, unit_ids, invoiced_between(period.first, period.last)).order_by(
        Charge.invoice_date, Charge.id)


def open_rows(session, party: Party, period: Period, unit_ids=None):
    """The period's uses whose charges are not invoiced yet, or were waived, by day of use."""
    return _rows(session, party, unit_ids, Charge.state.in_(OPEN_STATES + ("waived",)), Charge.invoice_date.is_(None),
                 beijing_date(UsageRecord.started_at).between(period.first, period.last)).order_by("used_on", Charge.id)


def totals(session, party: Party, period: Period, unit_ids=None) -> Totals:
    """The statement's figures, summed in the database (two statements)."""
    invoiced = invoiced_rows(session, party, period, unit_ids).order_by(None).subquery()
    # owed: what is left of each charge invoiced in the period and not yet paid, after all its credit notes
    notes = (sa.select(Charge.credit_of_id.label("charge_id"), exact_sum(Charge.total).label("credited"))
             .where(Charge.credit_of_id.is_not(None)).group_by(Charge.credit_of_id).subquery())
    owed_each = sa.case((invoiced.c.state == "invoiced", invoiced.c.total + sa.func.coalesce(notes.c.credited, 0)), else_=0)
    first = session.execute(
        sa.select(exact_sum(invoiced.c.total),
                  exact_sum(sa.case((invoiced.c.state == "settled", invoiced.c.total), else_=0)),
                  exact_sum(owed_each), sa.func.count(invoiced.c.id))
        .select_from(invoiced).outerjoin(notes, notes.c.charge_id == invoiced.c.id)).one()
    pending = open_rows(session, party, period, unit_ids).order_by(None).subquery()
    second = session.execute(sa.select(
        exact_sum(sa.case((pending.c.state.in_(OPEN_STATES), pending.c.total), else_=0)),
        exact_sum(sa.case((pending.c.state == "waived", pending.c.total), else_=0)))).one()
    money = [Decimal(v or 0).quantize(Decimal("0.01")) for v in (*first[:3], *second)]
    return Totals(money[0], money[1], money[2], money[3], money[4], first[3])
