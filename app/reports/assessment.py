"""The colleges' annual assessment sheet (measures Art. 19–21): per college the four indicators
(organisation, operation and use, open sharing, IoT installation and use), the weighted total and
the grade, from the year's data and the configured rules (app/services/upkeep/assessment.py); a second
sheet shows every measured rate with its numerator and denominator, so a score can be checked.

The school's sheet assesses each of its colleges; a college's (or a lab's) sheet holds its own row.
Counts are SQL aggregates grouped by lab, added up per assessed unit; the record-completeness
counts reuse the self-check's record rules.
"""
from __future__ import annotations

from collections import defaultdict

import pandas as pd
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, lazy_gettext as _

from app import clock
from app.models import Assessment, Booking, CheckRecord, Instrument, Person, TrainingSession, Unit, UsageRecord
from app.models.aggregates import exact_sum
from app.models.base import beijing_date
from app.models.choices import ASSESSMENT_GRADE
from app.models.people import training_attendee
from app.services.upkeep import assessment as rules_service
from app.services.upkeep import record_checks as checks
from app.services.upkeep import self_checks

from .annual import usage_of_year
from .excel import BLANK, Sheet
from .registry import report
from .selfcheck import instrument_records

STAFF_DUTIES = ("instrument_owner", "technician", "manager")  # technical and management staff (notice §(五)1)


def _assessed_units(ctx):
    """[(unit id, name)] the sheet has a row for, and {lab or college id: assessed unit id}."""
    if ctx.unit.parent_id is not None:
        units = [(ctx.unit.id, ctx.unit.name)]
        owner = {uid: ctx.unit.id for uid in ctx.unit_ids}
        return units, owner
    colleges = ctx.session.execute(
        sa.select(Unit.id, Unit.name, Unit.path).where(Unit.parent_id == ctx.unit.id).order_by(Unit.code)).all()
    owner = {}
    for college in colleges:
        for uid in ctx.session.execute(Unit.ids_under(college.path)).scalars():
            owner[uid] = college.id
    return [(c.id, c.name) for c in colleges], owner


def _by_unit(rows, owner):
    """Sum per assessed unit the counts SQL grouped by the unit that holds them."""
    sums = defaultdict(lambda: defaultdict(int))
    for row in rows:
        target = owner.get(row["unit_id"])
        if target is None:
            continue
        for key, value in row.items():
            if key != "unit_id":
                sums[target][key] += value or 0
    return sums


def _record_counts(ctx, owner):
    """Record completeness, networking, published fees and terminals, from the self-check's records."""
    as_of = min(ctx.today, ctx.last_day)
    rows = []
    for record in instrument_records(ctx, as_of):
        on_platform = record["networked"]
        due = record["must_network"] or on_platform
        rows.append({
            "unit_id": record["unit_id"],
            "records_due": int(due), "records_complete": int(due and not checks.missing_fields(record)),
            "must_network": int(bool(record["must_network"])),
            "must_network_on": int(bool(record["must_network"]) and on_platform),
            "networked": int(on_platform), "networked_with_fees": int(on_platform and record["has_fee_standard"]),
            "networked_with_terminal": int(on_platform and record["iot_terminal_id"] is not None),
        })
    return _by_unit(rows, owner)


def _usage_counts(ctx, owner):
    usage = usage_of_year(ctx)
    start, end = clock.year_bounds(ctx.year)
    reporting = (sa.select(UsageRecord.instrument_id)
                 .where(UsageRecord.source == "iot", UsageRecord.started_at >= start, UsageRecord.started_at < end)
                 .distinct().subquery("reporting"))
    in_service = sa.and_(Instrument.networked.is_(True), Instrument.in_service)
    query = (
        sa.select(Instrument.unit_id,
                  sa.func.count(sa.case((in_service, 1))).label("in_service"),
                  exact_sum(sa.case((in_service, sa.func.coalesce(usage.c.effective_hours, 0)), else_=0)).label("in_service_hours"),
                  exact_sum(sa.func.coalesce(usage.c.effective_hours, 0)).label("effective_hours"),
                  exact_sum(sa.func.coalesce(usage.c.external_hours, 0)).label("external_hours"),
                  sa.func.count(sa.case((Instrument.iot_terminal_id.isnot(None), 1))).label("with_terminal"),
                  sa.func.count(sa.case((sa.and_(Instrument.iot_terminal_id.isnot(None), reporting.c.instrument_id.isnot(None)), 1)))
                  .label("terminal_reporting"))
        .outerjoin(usage, usage.c.instrument_id == Instrument.id)
        .outerjoin(reporting, reporting.c.instrument_id == Instrument.id)
        .where(ctx.in_scope(Instrument.unit_id))
        .group_by(Instrument.unit_id)
    )
    return _by_unit([dict(r._mapping) for r in ctx.session.execute(query)], owner)


def _booking_counts(ctx, owner):
    start, end = clock.year_bounds(ctx.year)
    # answered by the end of the Beijing day of the deadline
    on_time = sa.and_(Booking.responded_at.isnot(None), beijing_date(Booking.responded_at) <= Booking.respond_by)
    query = (
        sa.select(Instrument.unit_id, sa.func.count(Booking.id).label("bookings"),
                  sa.func.count(sa.case((on_time, 1))).label("answered_in_time"))
        .join(Instrument, Instrument.id == Booking.instrument_id)
        .where(Booking.submitted_at >= start, Booking.submitted_at < end, Booking.respond_by.isnot(None),
               ctx.in_scope(Instrument.unit_id))
        .group_by(Instrument.unit_id)
    )
    return _by_unit([dict(r._mapping) for r in ctx.session.execute(query)], owner)


def _staff_counts(ctx, owner):
    trained = (sa.select(training_attendee.c.person_id)
               .join(TrainingSession, TrainingSession.id == training_attendee.c.training_id)
               .where(TrainingSession.held_on.between(ctx.first_day, ctx.last_day)).distinct().subquery("trained"))
    query = (
        sa.select(Person.unit_id, sa.func.count(Person.id).label("staff"),
                  sa.func.count(trained.c.person_id).label("staff_trained"))
        .outerjoin(trained, trained.c.person_id == Person.id)
        .where(Person.duty.in_(STAFF_DUTIES), ctx.in_scope(Person.unit_id))
        .group_by(Person.unit_id)
    )
    return _by_unit([dict(r._mapping) for r in ctx.session.execute(query)], owner)


def _self_check_months(ctx, owner):
    rows = ctx.session.execute(
        sa.select(CheckRecord.unit_id, CheckRecord.period)
        .where(CheckRecord.kind == "monthly", CheckRecord.state.in_(self_checks.DONE),
               CheckRecord.period.startswith(f"{ctx.year}-"), ctx.in_scope(CheckRecord.unit_id))
    ).all()
    months = defaultdict(set)
    for unit_id, period in rows:
        if unit_id in owner:
            months[owner[unit_id]].add(period)
    return {unit: len(periods) for unit, periods in months.items()}


MEASURES = ("records_complete", "staff_trained", "self_checks", "networked", "utilisation", "sharing_rate",
            "responded_in_time", "fees_published", "terminals_installed", "terminals_reporting")


def measured(ctx):
    """{assessed unit id: (name, {measure: (rate, numerator text)})} for the year."""
    units, owner = _assessed_units(ctx)
    rules = current_app.config["ASSESSMENT_RULES"]
    target_hours, target_share = rules["targets"]["utilisation_hours"], rules["targets"]["sharing_rate"]
    records, usage = _record_counts(ctx, owner), _usage_counts(ctx, owner)
    bookings, staff, months = _booking_counts(ctx, owner), _staff_counts(ctx, owner), _self_check_months(ctx, owner)
    rate = rules_service.rate
    result = {}
    for unit_id, name in units:
        r, u, b, s = records[unit_id], usage[unit_id], bookings[unit_id], staff[unit_id]
        mean_hours = None if not u["in_service"] else u["in_service_hours"] / u["in_service"]
        share = rate(u["external_hours"], u["effective_hours"])
        result[unit_id] = (name, {
            "records_complete": (rate(r["records_complete"], r["records_due"]), f"{r['records_complete']}/{r['records_due']}"),
            "staff_trained": (rate(s["staff_trained"], s["staff"]), f"{s['staff_trained']}/{s['staff']}"),
            "self_checks": (rate(months.get(unit_id, 0), 12), f"{months.get(unit_id, 0)}/12"),
            "networked": (rate(r["must_network_on"], r["must_network"]), f"{r['must_network_on']}/{r['must_network']}"),
            "utilisation": (rules_service.capped_rate(mean_hours, target_hours),
                            "" if mean_hours is None else f"{float(mean_hours):.1f} h / {target_hours} h"),
            "sharing_rate": (rules_service.capped_rate(share, target_share),
                             "" if share is None else f"{float(share):.1%} / {float(target_share):.0%}"),
            "responded_in_time": (rate(b["answered_in_time"], b["bookings"]), f"{b['answered_in_time']}/{b['bookings']}"),
            "fees_published": (rate(r["networked_with_fees"], r["networked"]), f"{r['networked_with_fees']}/{r['networked']}"),
            "terminals_installed": (rate(r["networked_with_terminal"], r["networked"]),
                                    f"{r['networked_with_terminal']}/{r['networked']}"),
            "terminals_reporting": (rate(u["terminal_reporting"], u["with_terminal"]),
                                    f"{u['terminal_reporting']}/{u['with_terminal']}"),
        })
    return result


def _measure_labels():
    return {
        "records_complete": gettext("Records complete"), "staff_trained": gettext("Staff trained"),
        "self_checks": gettext("Monthly self-checks"), "networked": gettext("Networked of those due"),
        "utilisation": gettext("Utilisation against target"), "sharing_rate": gettext("Sharing rate against target"),
        "responded_in_time": gettext("Bookings answered in time"), "fees_published": gettext("Fee standards in force"),
        "terminals_installed": gettext("IoT terminals installed"), "terminals_reporting": gettext("IoT terminals reporting"),
    }


def _indicator_labels():
    return {"organisation": gettext("Organisation and management"), "operation": gettext("Operation and use"),
            "sharing": gettext("Open sharing"), "iot": gettext("IoT installation and use")}


def _recorded_grades(ctx, unit_ids):
    return dict(ctx.session.execute(sa.select(Assessment.unit_id, Assessment.grade)
                                    .where(Assessment.year == ctx.year, Assessment.unit_id.in_(unit_ids))).all())


@report("assessment", _("Annual assessment of open sharing of research facilities and instruments"))
def assessment(ctx):
    rules = rules_service.check_rules(current_app.config["ASSESSMENT_RULES"])
    data = measured(ctx)
    recorded = _recorded_grades(ctx, list(data))
    indicator_labels, measure_labels = _indicator_labels(), _measure_labels()
    columns = [gettext("No."), gettext("Assessed unit"), *(indicator_labels[i] for i in rules_service.INDICATORS),
               gettext("Total score"), gettext("Grade"), gettext("Recorded grade")]
    detail_columns = [gettext("No."), gettext("Assessed unit"), gettext("Indicator"), gettext("Measure"),
                      gettext("Rate"), gettext("Measured"), gettext("Weight in indicator")]
    rows, details = [], []
    for number, (unit_id, (name, rates)) in enumerate(data.items(), start=1):
        result = rules_service.assess({m: v[0] for m, v in rates.items()}, rules)
        rows.append((number, name, *(result.scores[i] for i in rules_service.INDICATORS), result.total,
                     str(ASSESSMENT_GRADE.label(result.grade)) if result.grade else gettext("Not assessable"),
                     str(ASSESSMENT_GRADE.label(recorded[unit_id])) if unit_id in recorded else ""))
        for indicator in rules_service.INDICATORS:
            for measure, weight in rules["measures"][indicator].items():
                value, shown = rates[measure]
                details.append((number, name, indicator_labels[indicator], measure_labels[measure],
                                None if value is None else float(value), shown or gettext("nothing to measure"), weight))
    thresholds = "；".join(f"{ASSESSMENT_GRADE.label(g)} ≥ {t}" for g, t in rules["grades"])
    weights = "；".join(f"{indicator_labels[i]} {w}" for i, w in rules["indicators"].items())
    header = [(gettext("Assessing unit"), ctx.unit.name),
              (gettext("Assessment period"), gettext("%(year)s-01-01 to %(year)s-12-31", year=ctx.year))]
    main = Sheet(
        name=gettext("Assessment results"),
        title=gettext("Annual assessment of open sharing of research facilities and instruments %(year)s", year=ctx.year),
        frame=pd.DataFrame(rows, columns=columns), header_fields=header, landscape=True,
        number_formats={c: "0.00" for c in columns[2:7]},
        footer_lines=[gettext("Indicator weights: %(weights)s. Grades by total score: %(grades)s; below: %(poor)s.",
                              weights=weights, grades=thresholds, poor=ASSESSMENT_GRADE.label("poor")),
                      gettext("A measure with nothing to measure is left out and the others of its indicator count "
                              "for it; the measured rates are on the sheet %(sheet)s.", sheet=gettext("Measures")),
                      gettext("Head of the assessment panel (signature): %(blank)s    Managing department (seal): %(blank)s    "
                              "Date: %(blank)s", blank=BLANK)],
        empty_note=gettext("No unit to assess."),
    )
    detail = Sheet(name=gettext("Measures"), title=gettext("Measured rates %(year)s", year=ctx.year),
                   frame=pd.DataFrame(details, columns=detail_columns), header_fields=header, landscape=True,
                   number_formats={detail_columns[4]: "0.0%"}, empty_note=gettext("No unit to assess."))
    return [main, detail]
