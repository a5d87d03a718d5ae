"""Rules for the records kept once per year: an instrument's cost basis (Art. 15) and a unit's
assessment result (Art. 19–21). Both are one row per (owner, year)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _

from app.models import Assessment, InstrumentYearCost, Unit

from app.services.errors import RuleViolation

FIRST_YEAR, LAST_YEAR = 2000, 2100
MSG_YEAR = _("The year must be between 2000 and 2100.")
MSG_NEGATIVE = _("An amount cannot be negative.")
MSG_COST_TWICE = _("This instrument already has a cost record for that year; edit that record instead.")
MSG_ASSESSED_TWICE = _("This unit already has an assessment for that year; edit that record instead.")
MSG_SCORE = _("A score must be between 0 and 100.")
MSG_CASE_INSTRUMENT = _("The instrument must belong to the unit the case is written for.")


def _year_error(year):
    return None if year is not None and FIRST_YEAR <= year <= LAST_YEAR else MSG_YEAR


def _taken(session, model, owner_column, owner_id, year, own_id):
    query = sa.select(model.id).where(owner_column == owner_id, model.year == year)
    if own_id is not None:
        query = query.where(model.id != own_id)
    return session.execute(query).first() is not None


def validate_year_cost(session, item: InstrumentYearCost):
    errors = {}
    if message := _year_error(item.year):
        errors["year"] = message
    for field in ("materials_cost", "utilities_total"):
        value = getattr(item, field)
        if value is not None and value < 0:
            errors[field] = MSG_NEGATIVE
    instrument_id = item.instrument.id if item.instrument is not None else item.instrument_id
    if not errors and _taken(session, InstrumentYearCost, InstrumentYearCost.instrument_id, instrument_id,
                             item.year, item.id):
        errors["year"] = MSG_COST_TWICE
    if errors:
        raise RuleViolation(errors)


SCORE_FIELDS = ("organisation_score", "operation_score", "sharing_score", "iot_score")


def validate_assessment(session, item: Assessment):
    errors = {}
    if message := _year_error(item.year):
        errors["year"] = message
    for field in SCORE_FIELDS:
        value = getattr(item, field)
        if value is not None and not 0 <= value <= 100:
            errors[field] = MSG_SCORE
    unit_id = item.unit.id if item.unit is not None else item.unit_id
    if not errors and _taken(session, Assessment, Assessment.unit_id, unit_id, item.year, item.id):
        errors["year"] = MSG_ASSESSED_TWICE
    if errors:
        raise RuleViolation(errors)


def validate_typical_case(session, item):
    errors = {}
    if message := _year_error(item.year):
        errors["year"] = message
    unit = item.unit if item.unit is not None else session.get(Unit, item.unit_id)
    instrument = item.instrument
    if instrument is not None and unit is not None:
        holder = instrument.unit if instrument.unit is not None else session.get(Unit, instrument.unit_id)
        if holder is None or not unit.covers(holder.path):
            errors["instrument"] = MSG_CASE_INSTRUMENT
    if errors:
        raise RuleViolation(errors)
