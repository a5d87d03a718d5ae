"""The subsidy estimate (measures Art. 24, 25 and 15): what the province's two-way subsidy and the
cost-compensation rules give for the year, from the year's invoiced charges and usage.

- Art. 24, unit subsidy, per instrument: the grade ratio × the income from non-affiliated
  enterprises and student start-ups (charges invoiced in the year, net of credit notes), for
  instruments on the provincial platform. Caps: 50,000 per instrument; 2,000,000 per pool, where
  the school is one pool and every provincial laboratory and every major facility its own.
  The caps bind school-wide, so the amounts are computed over the whole school and a college's or
  lab's report shows its own rows of that result.
- Art. 25, user subsidy, per customer organisation: 50 % / 85 % of the testing fees it paid for
  networked instruments, at most 100,000; a narrower scope shows its share of the school-wide
  amount in proportion to the fees paid in it.
- Art. 15, per instrument: cost compensation (materials consumed + the year's utilities total ×
  sharing's share of use, from the cost basis labs enter), net income and, for the scope as a
  whole, the 70 % performance-pay ceiling. Sharing is service outside the school, measured as in
  the annual report (external service hours over effective hours; income from outside the school).

Sums are SQL aggregates; Python only applies the caps to those per-instrument and per-user sums.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, lazy_gettext as _

from app.models import (Assessment, Charge, CustomerOrg, InnovationPlatform, Instrument, InstrumentYearCost,
                        ServiceUser, UsageRecord)
from app.models.aggregates import exact_sum
from app.models.choices import ASSESSMENT_GRADE, CUSTOMER_CATEGORY
from app.services.money import statements, subsidies

from . import units
from .annual import income_of_year, usage_of_year
from .excel import Sheet, sign_off
from .registry import report, school_root
from .units import instruments_in_scope

SUBSIDISED = ("enterprise", "student_startup")
SCHOOL_POOL = "unit"


def _invoiced_in_year(ctx):
    return statements.invoiced_between(ctx.first_day, ctx.last_day)


def grade_and_ratio(ctx):
    """The school's grade for the year (recorded from the province's assessment) and its ratio;
    without a recorded grade the estimate uses the 20 % ceiling and says so."""
    root = school_root(ctx.session)
    grade = ctx.session.execute(
        sa.select(Assessment.grade).where(Assessment.unit_id == root.id, Assessment.year == ctx.year)
    ).scalar_one_or_none()
    if grade is None:
        return None, subsidies.MAX_UNIT_RATIO
    return grade, subsidies.unit_ratio(grade, current_app.config["SUBSIDY_RATIO_BY_GRADE"])


# ---------------------------------------------------------------- Art. 24, per instrument


def _eligible_income(ctx):
    """Every instrument of the school with income from subsidised customers in the year."""
    eligible = sa.and_(CustomerOrg.category.in_(SUBSIDISED), CustomerOrg.affiliated.is_(False))
    income = (
        sa.select(UsageRecord.instrument_id, exact_sum(Charge.total).label("eligible_income"))
        .join(UsageRecord, UsageRecord.id == Charge.usage_id)
        .join(ServiceUser, ServiceUser.id == UsageRecord.user_id)
        .join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
        .where(_invoiced_in_year(ctx), eligible)
        .group_by(UsageRecord.instrument_id)
    ).subquery("eligible_income")
    query = instruments_in_scope(
        sa.select(Instrument.id, Instrument.unit_id, Instrument.kind, Instrument.networked, units.college_name(),
                  units.lab_name(), Instrument.asset_number, Instrument.name, InnovationPlatform.id.label("platform_id"),
                  InnovationPlatform.kind.label("platform_kind"), InnovationPlatform.name.label("platform_name"),
                  income.c.eligible_income)
        .join(income, income.c.instrument_id == Instrument.id)
        .outerjoin(InnovationPlatform, InnovationPlatform.id == Instrument.platform_id)
        .where(income.c.eligible_income != 0), None)  # school-wide: the caps bind there
    return ctx.session.execute(query).mappings().all()


def _pool(row, school_label):
    """(key, label): a provincial laboratory and a major facility each have their own 2,000,000."""
    if row["platform_kind"] == "provincial_lab":
        return f"provincial_lab:{row['platform_id']}", gettext("Provincial laboratory: %(name)s", name=row["platform_name"])
    if row["kind"] == "facility":
        return f"facility:{row['id']}", gettext("Major facility: %(name)s", name=f"{row['name']}（{row['asset_number']}）")
    return SCHOOL_POOL, school_label


def _pool_order(pool):
    key, label = pool
    return (key != SCHOOL_POOL, label)


def _unit_subsidy_sheet(ctx, ratio, grade_line):
    rows = _eligible_income(ctx)
    school_label = gettext("This unit")
    pools = {row["id"]: _pool(row, school_label) for row in rows}
    eligible = {row["id"]: (pools[row["id"]][0], max(Decimal(row["eligible_income"]), Decimal(0)))
                for row in rows if row["networked"]}
    amounts, totals = subsidies.unit_subsidies(eligible, ratio)
    scaled = subsidies.pools_over_cap(eligible, ratio)
    columns = [gettext("No."), gettext("College"), gettext("Laboratory"), gettext("Asset number"),
               gettext("Instrument name"), gettext("Subsidy pool"), gettext("On the provincial platform"),
               gettext("Income from non-affiliated enterprises and student start-ups (yuan)"),
               gettext("At the grade ratio (yuan)"), gettext("Estimated unit subsidy (yuan)"), gettext("Explanation")]
    # texts translated once, not per row (a school has tens of thousands of rows)
    yes, no = gettext("Yes"), gettext("No")
    not_networked, capped = gettext("Not on the provincial platform: no subsidy"), gettext("Capped at 50,000 yuan per instrument")
    scaled_down = gettext("Pool over 2,000,000 yuan: scaled down in proportion")
    body, total_income, total_raw, total_subsidy = [], Decimal(0), Decimal(0), Decimal(0)
    for row in rows:
        if not ctx.in_scope_id(row["unit_id"]):
            continue
        income = Decimal(row["eligible_income"])
        pool_key, pool_label = pools[row["id"]]
        raw = subsidies.at_ratio(income, ratio) if row["networked"] else Decimal(0)
        amount = amounts.get(row["id"], Decimal(0))
        notes = []
        if not row["networked"]:
            notes.append(not_networked)
        elif raw > subsidies.INSTRUMENT_CAP:
            notes.append(capped)
        if row["networked"] and pool_key in scaled:
            notes.append(scaled_down)
        body.append((len(body) + 1, row["college_name"], row["lab_name"], row["asset_number"], row["name"],
                     pool_label, yes if row["networked"] else no, income, raw, amount, "；".join(notes)))
        total_income, total_raw, total_subsidy = total_income + income, total_raw + raw, total_subsidy + amount
    if body:
        body.append((None, gettext("Total"), "", "", "", "", "", total_income, total_raw, total_subsidy, ""))
    # the pools this scope draws on, with their school-wide totals (the caps bind school-wide)
    drawn = {pools[row["id"]] for row in rows if row["networked"] and ctx.in_scope_id(row["unit_id"])}
    pool_lines = [gettext("Pool %(pool)s: %(amount)s yuan for the whole school", pool=label,
                          amount=f"{totals[key]:,.2f}") for key, label in sorted(drawn, key=_pool_order)]
    return Sheet(
        name=gettext("Unit subsidy"),
        title=gettext("Estimate of the open-sharing unit subsidy %(year)s (Art. 24)", year=ctx.year),
        frame=pd.DataFrame(body, columns=columns),
        header_fields=[(gettext("Filing unit"), ctx.unit.name), (gettext("Report year"), ctx.year),
                       (gettext("Subsidy ratio"), grade_line)],
        footer_lines=[gettext("Caps: 50,000 yuan per instrument and year; 2,000,000 yuan per managing unit and year, "
                              "provincial laboratories and major facilities counted separately."), *pool_lines, sign_off()],
        landscape=True, money_columns=tuple(columns[7:10]), column_widths={columns[5]: 24, columns[10]: 24},
        empty_note=gettext("No income from non-affiliated enterprises or student start-ups in %(year)s.", year=ctx.year),
    )


# ---------------------------------------------------------------- Art. 25, per user


def _user_fees(ctx):
    in_scope = ctx.in_scope(Instrument.unit_id)
    query = (
        sa.select(CustomerOrg.id, CustomerOrg.name, CustomerOrg.category, CustomerOrg.credit_code,
                  CustomerOrg.affiliated, exact_sum(Charge.total).label("fees"),
                  exact_sum(sa.case((in_scope, Charge.total), else_=0)).label("fees_in_scope"))
        .join(UsageRecord, UsageRecord.id == Charge.usage_id)
        .join(Instrument, Instrument.id == UsageRecord.instrument_id)
        .join(ServiceUser, ServiceUser.id == UsageRecord.user_id)
        .join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
        .where(_invoiced_in_year(ctx), Instrument.networked.is_(True), CustomerOrg.category.in_(SUBSIDISED))
        .group_by(CustomerOrg.id, CustomerOrg.name, CustomerOrg.category, CustomerOrg.credit_code, CustomerOrg.affiliated)
        .order_by(CustomerOrg.category, CustomerOrg.name)
    )
    return ctx.session.execute(query).mappings().all()


def _user_subsidy_sheet(ctx):
    columns = [gettext("No."), gettext("User organisation"), gettext("User category"),
               gettext("Unified social credit code"), gettext("Affiliated unit"), gettext("Testing fees paid (yuan)"),
               gettext("Subsidy ratio"), gettext("Estimated user subsidy (yuan)"), gettext("Explanation")]
    body, total_fees, total_subsidy = [], Decimal(0), Decimal(0)
    for row in _user_fees(ctx):
        fees, in_scope = Decimal(row["fees"]), Decimal(row["fees_in_scope"])
        if in_scope == 0:
            continue
        whole = subsidies.user_subsidy(row["category"], fees)
        amount = whole if in_scope == fees else (whole * in_scope / fees).quantize(subsidies.CENT, ROUND_HALF_UP)
        notes = []
        if whole == subsidies.USER_CAP:
            notes.append(gettext("Capped at 100,000 yuan per user"))
        if in_scope != fees:
            notes.append(gettext("Share of the school-wide amount in proportion to the fees paid in this scope"))
        body.append((len(body) + 1, row["name"], str(CUSTOMER_CATEGORY.label(row["category"])), row["credit_code"] or "",
                     gettext("Yes") if row["affiliated"] else gettext("No"), in_scope,
                     subsidies.USER_RATIOS[row["category"]], amount, "；".join(notes)))
        total_fees, total_subsidy = total_fees + in_scope, total_subsidy + amount
    if body:
        body.append((None, gettext("Total"), "", "", "", total_fees, None, total_subsidy, ""))
    return Sheet(
        name=gettext("User subsidy"),
        title=gettext("Estimate of the user subsidy %(year)s (Art. 25)", year=ctx.year),
        frame=pd.DataFrame(body, columns=columns),
        header_fields=[(gettext("Filing unit"), ctx.unit.name), (gettext("Report year"), ctx.year)],
        footer_lines=[gettext("Ordinary enterprises 50 percent, student start-ups and student teams or individuals 85 percent of the "
                              "testing fees paid for instruments on the provincial platform; at most 100,000 yuan per "
                              "user and year. The cap counts the fees paid to this school only: fees paid to other "
                              "units count towards it as well."), sign_off()],
        landscape=True, money_columns=(columns[5], columns[7]), number_formats={columns[6]: "0%"},
        column_widths={columns[8]: 24},
        empty_note=gettext("No testing fees from enterprises or student start-ups in %(year)s.", year=ctx.year),
    )


# ---------------------------------------------------------------- Art. 15, per instrument


def _cost_rows(ctx):
    usage, income = usage_of_year(ctx), income_of_year(ctx)
    cost = (sa.select(InstrumentYearCost).where(InstrumentYearCost.year == ctx.year)).subquery("cost_of_year")
    query = instruments_in_scope(
        sa.select(units.college_name(), units.lab_name(), Instrument.asset_number, Instrument.name,
                  sa.func.coalesce(usage.c.effective_hours, 0).label("effective_hours"),
                  sa.func.coalesce(usage.c.external_hours, 0).label("external_hours"),
                  sa.func.coalesce(income.c.income_outside, 0).label("income"),
                  cost.c.materials_cost, cost.c.utilities_total)
        .outerjoin(usage, usage.c.instrument_id == Instrument.id)
        .outerjoin(income, income.c.instrument_id == Instrument.id)
        .outerjoin(cost, cost.c.instrument_id == Instrument.id)
        .where(sa.or_(cost.c.id.isnot(None), usage.c.external_hours > 0, income.c.income_outside != 0)), ctx)
    return ctx.session.execute(query).mappings().all()


def _cost_sheet(ctx):
    columns = [gettext("No."), gettext("College"), gettext("Laboratory"), gettext("Asset number"),
               gettext("Instrument name"), gettext("Effective running hours"), gettext("External service hours"),
               gettext("Sharing share of use"), gettext("Sharing service income (yuan)"),
               gettext("Materials consumed by sharing (yuan)"), gettext("Utilities and running costs of the year (yuan)"),
               gettext("Utilities share of sharing (yuan)"), gettext("Cost compensation (yuan)"),
               gettext("Net income (yuan)"), gettext("Explanation")]
    no_cost_basis = gettext("No cost basis entered for the year: counted as 0")
    body, sums = [], [Decimal(0)] * 6
    for row in _cost_rows(ctx):
        materials, utilities = Decimal(row["materials_cost"] or 0), Decimal(row["utilities_total"] or 0)
        share = subsidies.sharing_share(row["external_hours"], row["effective_hours"])
        compensation = subsidies.cost_compensation(materials, utilities, row["external_hours"], row["effective_hours"])
        income = Decimal(row["income"])
        net = subsidies.net_income(income, compensation)
        note = "" if row["materials_cost"] is not None else no_cost_basis
        figures = (income, materials, utilities, compensation - materials, compensation, net)
        body.append((len(body) + 1, row["college_name"], row["lab_name"], row["asset_number"], row["name"],
                     Decimal(row["effective_hours"]), Decimal(row["external_hours"]),
                     share.quantize(Decimal("0.0001"), ROUND_HALF_UP), *figures, note))
        sums = [a + b for a, b in zip(sums, figures)]
    net_total = sums[5]
    ceiling = subsidies.performance_pay_ceiling(net_total)
    if body:
        body.append((None, gettext("Total"), "", "", "", None, None, None, *sums, ""))
    return Sheet(
        name=gettext("Cost compensation"),
        title=gettext("Cost compensation and net income of open sharing %(year)s (Art. 15)", year=ctx.year),
        frame=pd.DataFrame(body, columns=columns),
        header_fields=[(gettext("Filing unit"), ctx.unit.name), (gettext("Report year"), ctx.year)],
        footer_lines=[
            gettext("Net income of open sharing in this scope: %(net)s yuan; at most 70 %% of it, %(ceiling)s yuan, "
                    "may fund performance pay (Art. 15).", net=f"{net_total:,.2f}", ceiling=f"{ceiling:,.2f}"),
            gettext("Cost compensation = materials consumed + the year's utilities total × sharing's share of use "
                    "(external service hours ÷ effective running hours)."),
            sign_off(),
        ],
        landscape=True, money_columns=tuple(columns[8:14]), number_formats={columns[7]: "0.00%"},
        column_widths={columns[14]: 20},
        empty_note=gettext("No sharing service and no cost basis in %(year)s.", year=ctx.year),
    )


@report("subsidy", _("Open-sharing subsidy estimate"))
def subsidy(ctx):
    grade, ratio = grade_and_ratio(ctx)
    if grade is None:
        grade_line = gettext("No assessment grade recorded for %(year)s: estimated at the 20 %% ceiling", year=ctx.year)
    else:
        grade_line = gettext("Assessment grade %(grade)s: %(ratio)s", grade=str(ASSESSMENT_GRADE.label(grade)),
                             ratio=f"{(ratio * 100).normalize():f}%")
    unit_sheet = _unit_subsidy_sheet(ctx, ratio, grade_line)
    ctx.progress(0.4)
    user_sheet = _user_subsidy_sheet(ctx)
    ctx.progress(0.6)
    return [unit_sheet, user_sheet, _cost_sheet(ctx)]
