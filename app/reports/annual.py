"""The annual operation report (Art. 14, due 31 March): per instrument the year's effective
running hours, external service hours, sharing rate, samples, users served inside and outside
the school, income inside and outside, and the average evaluation; unit totals on a second sheet.

Every figure is aggregated in SQL (one grouped query per measure), never row by row in Python:
- effective hours: machine time measured by the IoT terminal when the instrument has any that
  year, else the registered hours (both would count the same runs twice);
- external service hours: registered usage of type external; sharing rate = external ÷ effective;
- users: distinct service users of the year's usage, inside = an on-campus organisation;
- income: charges invoiced in the year (credit notes carry negative totals, so they net out);
- evaluation: the mean score of evaluations given in the year.
A third sheet prints the typical cases labs wrote for the year.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext as _
from sqlalchemy.orm import aliased

from app import clock
from app.models import Booking, Charge, CustomerOrg, Evaluation, Instrument, ServiceUser, TypicalCase, Unit, UsageRecord
from app.models.aggregates import exact_sum
from app.services.money import statements

from .excel import Sheet, sign_off, wan_yuan
from . import units
from .registry import report
from .units import instruments_in_scope

ZERO = sa.literal(0)


def _year_bounds(ctx):
    """The report year's first and next year's first instant, Beijing time."""
    return clock.year_bounds(ctx.year)


def _inside():
    return CustomerOrg.category == "campus"


def usage_of_year(ctx):
    start, end = _year_bounds(ctx)
    hours = sa.func.coalesce(UsageRecord.hours, 0)
    iot = exact_sum(sa.case((UsageRecord.source == "iot", hours), else_=0))
    manual = exact_sum(sa.case((UsageRecord.source == "manual", hours), else_=0))
    return (
        sa.select(UsageRecord.instrument_id,
                  sa.case((iot > 0, iot), else_=manual).label("effective_hours"),
                  exact_sum(sa.case((UsageRecord.service_type == "external", hours), else_=0)).label("external_hours"),
                  sa.func.sum(sa.func.coalesce(UsageRecord.samples, 0)).label("samples"))
        .where(UsageRecord.started_at >= start, UsageRecord.started_at < end)
        .group_by(UsageRecord.instrument_id)
    ).subquery("usage_of_year")


def _usage_and_users(ctx):
    """usage_of_year's figures and the distinct users inside / outside per instrument, in one
    pass: grouped by instrument over the index (instrument, start), which on PostgreSQL holds every
    column needed, so the rows arrive in instrument order and nothing is hashed."""
    start, end = _year_bounds(ctx)
    hours = sa.func.coalesce(UsageRecord.hours, 0)
    iot = exact_sum(sa.case((UsageRecord.source == "iot", hours), else_=0))
    manual = exact_sum(sa.case((UsageRecord.source == "manual", hours), else_=0))
    users = sa.func.count(sa.distinct(UsageRecord.user_id))
    inside = sa.func.count(sa.distinct(sa.case((UsageRecord.user_id.in_(_campus_users()), UsageRecord.user_id))))
    return (
        sa.select(UsageRecord.instrument_id,
                  sa.case((iot > 0, iot), else_=manual).label("effective_hours"),
                  exact_sum(sa.case((UsageRecord.service_type == "external", hours), else_=0)).label("external_hours"),
                  sa.func.sum(sa.func.coalesce(UsageRecord.samples, 0)).label("samples"),
                  inside.label("users_inside"), (users - inside).label("users_outside"))
        .where(UsageRecord.started_at >= start, UsageRecord.started_at < end)
        .group_by(UsageRecord.instrument_id)
    ).subquery("usage_of_year")


def _campus_users():
    """The on-campus service users: a few hundred ids, which PostgreSQL hashes once and tests each
    row against (cheaper than joining every row to its user and organisation)."""
    return sa.select(ServiceUser.id).join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id).where(_inside())


def income_of_year(ctx):
    """Charges invoiced in the year per instrument, inside and outside the school (credit notes
    carry negative totals, so they net out)."""
    inside = UsageRecord.user_id.in_(_campus_users())
    return (
        sa.select(UsageRecord.instrument_id,
                  exact_sum(sa.case((inside, Charge.total), else_=0)).label("income_inside"),
                  exact_sum(sa.case((inside, 0), else_=Charge.total)).label("income_outside"))
        .join(UsageRecord, UsageRecord.id == Charge.usage_id)
        .where(statements.invoiced_between(ctx.first_day, ctx.last_day))
        .group_by(UsageRecord.instrument_id)
    ).subquery("income_of_year")


def _evaluations(ctx):
    start, end = _year_bounds(ctx)
    return (
        sa.select(Booking.instrument_id, sa.func.sum(Evaluation.score).label("score_sum"),
                  sa.func.count(Evaluation.id).label("score_count"))
        .join(Booking, Booking.id == Evaluation.booking_id)
        .where(Evaluation.created_at >= start, Evaluation.created_at < end)
        .group_by(Booking.instrument_id)
    ).subquery("evaluations_of_year")


def _units():
    lab, college = aliased(Unit), aliased(Unit)
    return lab, college


def _distinct_users_above(ctx):
    """Distinct users inside / outside per college and for the whole scope ({college id | "all":
    (inside, outside)}); distinct counts do not add up from the instruments, so they are counted
    again. The year's usage is first reduced to its distinct (lab, user) pairs — a few thousand,
    hashed in memory — and only those are joined to the unit tree and the customers. GROUPING SETS
    on PostgreSQL, two passes on SQLite (which has none)."""
    start, end = _year_bounds(ctx)
    lab_users = (
        sa.select(Instrument.unit_id, UsageRecord.user_id)
        .join(Instrument, Instrument.id == UsageRecord.instrument_id)
        .where(UsageRecord.started_at >= start, UsageRecord.started_at < end, UsageRecord.user_id.isnot(None),
               ctx.in_scope(Instrument.unit_id))
        .group_by(Instrument.unit_id, UsageRecord.user_id)
    ).subquery("lab_users")
    lab, college = _units()
    college_id = sa.func.coalesce(college.id, lab.id)
    pairs = (
        sa.select(college_id.label("owner"), lab_users.c.user_id, _inside().label("inside"))
        .select_from(lab_users)
        .join(lab, lab.id == lab_users.c.unit_id)
        .outerjoin(college, college.id == lab.parent_id)
        .join(ServiceUser, ServiceUser.id == lab_users.c.user_id)
        .join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
        .group_by(college_id, lab_users.c.user_id, CustomerOrg.category)
    ).subquery("college_user_pairs")
    counts = (sa.func.count(sa.distinct(sa.case((pairs.c.inside, pairs.c.user_id)))).label("users_inside"),
              sa.func.count(sa.distinct(sa.case((~pairs.c.inside, pairs.c.user_id)))).label("users_outside"))
    if ctx.session.get_bind().dialect.name == "postgresql":
        rows = ctx.session.execute(sa.select(pairs.c.owner.label("key"), *counts)
                                   .group_by(sa.func.grouping_sets(sa.tuple_(pairs.c.owner), sa.tuple_())))
    else:
        rows = [*ctx.session.execute(sa.select(pairs.c.owner.label("key"), *counts).group_by(pairs.c.owner)),
                *ctx.session.execute(sa.select(sa.literal(None).label("key"), *counts))]
    return {("all" if row.key is None else row.key): (row.users_inside, row.users_outside) for row in rows}


def annual_rows(ctx) -> list:
    """One row (a mapping) per instrument in scope that was in service or used in the year (numbers raw)."""
    usage, income, evaluations = _usage_and_users(ctx), income_of_year(ctx), _evaluations(ctx)
    query = instruments_in_scope(
        sa.select(Instrument.id, units.college_id().label("college_id"), units.college_name(), units.lab_name(),
                  Instrument.asset_number, Instrument.name,
                  sa.func.coalesce(usage.c.effective_hours, 0).label("effective_hours"),
                  sa.func.coalesce(usage.c.external_hours, 0).label("external_hours"),
                  sa.func.coalesce(usage.c.samples, 0).label("samples"),
                  sa.func.coalesce(usage.c.users_inside, 0).label("users_inside"),
                  sa.func.coalesce(usage.c.users_outside, 0).label("users_outside"),
                  sa.func.coalesce(income.c.income_inside, 0).label("income_inside"),
                  sa.func.coalesce(income.c.income_outside, 0).label("income_outside"),
                  sa.func.coalesce(evaluations.c.score_sum, 0).label("score_sum"),
                  sa.func.coalesce(evaluations.c.score_count, 0).label("score_count")), ctx)
    query = (query.outerjoin(usage, usage.c.instrument_id == Instrument.id)
             .outerjoin(income, income.c.instrument_id == Instrument.id)
             .outerjoin(evaluations, evaluations.c.instrument_id == Instrument.id)
             .where(sa.or_(Instrument.in_service, usage.c.instrument_id.isnot(None))))
    return ctx.session.execute(query).mappings().all()


def _rate(external, effective):
    return None if not effective else (Decimal(external) / Decimal(effective)).quantize(Decimal("0.0001"))


def _mean(score_sum, score_count):
    return None if not score_count else (Decimal(score_sum) / Decimal(score_count)).quantize(Decimal("0.01"))


def _columns():
    return [gettext("No."), gettext("College"), gettext("Laboratory"), gettext("Asset number"), gettext("Instrument name"),
            gettext("Effective running hours"), gettext("External service hours"), gettext("Sharing rate"),
            gettext("Samples served"), gettext("Users inside the school"), gettext("Users outside the school"),
            gettext("Income inside the school (10k yuan)"), gettext("Income outside the school (10k yuan)"),
            gettext("Average evaluation (1-5)")]


def _display_row(number, college, lab, asset, name, r, users):
    return (number, college, lab, asset, name, Decimal(r["effective_hours"]), Decimal(r["external_hours"]),
            _rate(r["external_hours"], r["effective_hours"]), int(r["samples"]), users[0], users[1],
            wan_yuan(r["income_inside"]), wan_yuan(r["income_outside"]), _mean(r["score_sum"], r["score_count"]))


ADDITIVE = ["effective_hours", "external_hours", "samples", "income_inside", "income_outside", "score_sum", "score_count"]


@report("annual", _("Annual operation report of shared research facilities and instruments"))
def annual(ctx):
    records = annual_rows(ctx)
    ctx.progress(0.7)
    columns = _columns()
    # one pass: the display rows, and the additive figures summed per college and in total
    rows, by_college, totals = [], {}, dict.fromkeys(ADDITIVE, Decimal(0))
    for i, r in enumerate(records, start=1):
        rows.append(_display_row(i, r["college_name"], r["lab_name"], r["asset_number"], r["name"], r,
                                 (r["users_inside"], r["users_outside"])))
        name, sums = by_college.setdefault(r["college_id"], (r["college_name"], dict.fromkeys(ADDITIVE, Decimal(0))))
        for key in ADDITIVE:
            sums[key] += r[key]
            totals[key] += r[key]
    above = _distinct_users_above(ctx)
    ctx.progress(0.95)
    total_row = _display_row(None, gettext("Total"), "", "", "", totals, above.get("all", (0, 0)))
    college_rows = [_display_row(n, name, "", "", "", sums, above.get(college_id, (0, 0)))
                    for n, (college_id, (name, sums)) in enumerate(by_college.items(), start=1)]
    money = (columns[11], columns[12])
    percent = {columns[7]: "0.00%"}
    main = Sheet(name=gettext("Per instrument"), title=gettext("Annual operation report %(year)s: instruments", year=ctx.year),
                 frame=pd.DataFrame(rows + ([total_row] if rows else []), columns=columns),
                 header_fields=[(gettext("Filing unit"), ctx.unit.name), (gettext("Report year"), ctx.year)],
                 landscape=True, money_columns=money, number_formats=percent, footer_lines=[sign_off()],
                 empty_note=gettext("No instrument in service in %(year)s.", year=ctx.year))
    unit_columns = [columns[0], columns[1]] + columns[5:]
    unit_frame = pd.DataFrame([(r[0], r[1], *r[5:]) for r in college_rows + ([total_row] if college_rows else [])],
                              columns=unit_columns)
    units = Sheet(name=gettext("Unit totals"), title=gettext("Annual operation report %(year)s: unit totals", year=ctx.year),
                  frame=unit_frame, header_fields=[(gettext("Filing unit"), ctx.unit.name)], landscape=True,
                  money_columns=money, number_formats=percent, footer_lines=[sign_off()],
                  empty_note=gettext("No instrument in service in %(year)s.", year=ctx.year))
    return [main, units, _cases_sheet(ctx)]


def _cases_sheet(ctx):
    lab, college = _units()
    rows = ctx.session.execute(
        sa.select(sa.func.coalesce(college.name, lab.name), lab.name, TypicalCase.title, Instrument.name,
                  TypicalCase.served, TypicalCase.summary)
        .join(lab, lab.id == TypicalCase.unit_id)
        .outerjoin(college, college.id == lab.parent_id)
        .outerjoin(Instrument, Instrument.id == TypicalCase.instrument_id)
        .where(TypicalCase.year == ctx.year, ctx.in_scope(TypicalCase.unit_id))
        .order_by(college.code, lab.code, TypicalCase.id)
    ).all()
    columns = [gettext("No."), gettext("College"), gettext("Laboratory"), gettext("Case title"), gettext("Instrument"),
               gettext("Served"), gettext("Service and outcome")]
    frame = pd.DataFrame([(i, *(v or "" for v in r)) for i, r in enumerate(rows, start=1)], columns=columns)
    return Sheet(name=gettext("Typical cases"), title=gettext("Typical cases of sharing service %(year)s", year=ctx.year),
                 frame=frame, header_fields=[(gettext("Filing unit"), ctx.unit.name)], landscape=True,
                 column_widths={columns[3]: 24, columns[5]: 20, columns[6]: 50}, footer_lines=[sign_off()],
                 empty_note=gettext("No typical case written for %(year)s.", year=ctx.year))
