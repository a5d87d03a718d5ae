"""Records kept once a year: an instrument's cost basis (Art. 15), entered by its lab, and a
unit's assessment result (Art. 19–21), entered by the school."""
from flask_babel import lazy_gettext as _
from wtforms.validators import NumberRange

from app.models import Assessment, InstrumentYearCost, TypicalCase
from app.models.choices import ASSESSMENT_GRADE
from app.services.upkeep import annual_records

from . import formatting
from .base import ScopedModelView, interface

YEAR_RANGE = NumberRange(annual_records.FIRST_YEAR, annual_records.LAST_YEAR, message=annual_records.MSG_YEAR)
NOT_NEGATIVE = NumberRange(min=0, message=annual_records.MSG_NEGATIVE)
SCORE_RANGE = NumberRange(0, 100, message=annual_records.MSG_SCORE)


class InstrumentYearCostView(ScopedModelView):
    datamodel = interface(InstrumentYearCost)
    list_title = _("Annual cost basis of instruments")
    show_title = _("Annual cost basis")
    add_title = _("Add annual cost basis")
    edit_title = _("Edit annual cost basis")
    label_columns = {
        "instrument": _("Instrument"),
        "instrument.name": _("Instrument"),
        "instrument.asset_number": _("Asset number"),
        "year": _("Year"),
        "materials_cost": _("Materials consumed by sharing"),
        "utilities_total": _("Utilities and running costs of the year"),
        "remarks": _("Remarks"),
    }
    description_columns = {
        "materials_cost": _("Materials and consumables used up by open-sharing services in the year (yuan)."),
        "utilities_total": _("The instrument's whole water, power and running cost of the year (yuan); the sharing "
                             "share is pro-rated by sharing's share of the year's use (Art. 15)."),
    }
    list_columns = ["year", "instrument.asset_number", "instrument.name", "materials_cost", "utilities_total"]
    search_columns = ["year", "instrument"]
    add_columns = edit_columns = show_columns = ["instrument", "year", "materials_cost", "utilities_total", "remarks"]
    validators_columns = {"year": [YEAR_RANGE], "materials_cost": [NOT_NEGATIVE], "utilities_total": [NOT_NEGATIVE]}
    base_order = ("year", "desc")
    validate = staticmethod(annual_records.validate_year_cost)


class AssessmentView(ScopedModelView):
    datamodel = interface(Assessment)
    list_title = _("Annual assessments")
    show_title = _("Assessment details")
    add_title = _("Add assessment")
    edit_title = _("Edit assessment")
    label_columns = {
        "unit": _("Unit"),
        "unit.name": _("Unit"),
        "year": _("Year"),
        "organisation_score": _("Organisation and management"),
        "operation_score": _("Operation and use"),
        "sharing_score": _("Open sharing"),
        "iot_score": _("IoT installation and use"),
        "grade": _("Grade"),
    }
    description_columns = {
        "unit": _("A college assessed by the school; the school itself for the grade the province gave it, "
                  "which sets the unit subsidy ratio (Art. 24)."),
    }
    choice_columns = {"grade": ASSESSMENT_GRADE}
    list_columns = ["year", "unit.name", "organisation_score", "operation_score", "sharing_score", "iot_score", "grade"]
    search_columns = ["year", "unit", "grade"]
    add_columns = edit_columns = show_columns = ["unit", "year", "organisation_score", "operation_score",
                                                 "sharing_score", "iot_score", "grade"]
    validators_columns = {"year": [YEAR_RANGE], **{f: [SCORE_RANGE] for f in annual_records.SCORE_FIELDS}}
    base_order = ("year", "desc")
    validate = staticmethod(annual_records.validate_assessment)


class TypicalCaseView(ScopedModelView):
    datamodel = interface(TypicalCase)
    list_title = _("Typical cases of sharing service")
    show_title = _("Typical case")
    add_title = _("Add typical case")
    edit_title = _("Edit typical case")
    label_columns = {
        "unit": _("Unit"),
        "unit.name": _("Unit"),
        "year": _("Year"),
        "title": _("Case title"),
        "instrument": _("Instrument"),
        "served": _("Served"),
        "summary": _("Service and outcome"),
    }
    description_columns = {
        "served": _("The group, company or project the service supported."),
        "summary": _("What the instrument and its staff did and what it achieved; printed in the annual report."),
    }
    list_columns = ["year", "title", "unit.name", "instrument", "served"]
    search_columns = ["year", "title", "unit", "instrument"]
    add_columns = edit_columns = show_columns = ["unit", "year", "title", "instrument", "served", "summary"]
    formatters_columns = {"summary": formatting.multiline}
    validators_columns = {"year": [YEAR_RANGE]}
    base_order = ("year", "desc")
    validate = staticmethod(annual_records.validate_typical_case)
