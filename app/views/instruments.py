"""Instruments and facilities, and the not-suitable-for-sharing filings."""
from flask_babel import gettext, lazy_gettext as _
from wtforms import SelectField, StringField, ValidationError
from wtforms.validators import Optional

from app.extensions import db
from app.models import Instrument, UnsuitableFiling
from app.models.choices import (
    DEVICE_STATE,
    FILING_STATE,
    FUNDING_SOURCE,
    INSTRUMENT_KIND,
    RUN_STATUS,
    SHARING_STATUS,
    UNSUITABLE_CATEGORY,
)
from app.services.booking import evaluations
from app.services.upkeep import records

from . import formatting
from .base import ScopedModelApi, ScopedModelView, interface
from .forms import field_rule
from .iot import add_device_state_filter

INSTRUMENT_LABELS = {
    "evaluation_summary": _("Average evaluation"),
    "kind": _("Type"),
    "asset_number": _("Asset number"),
    "name": _("Name"),
    "name_en": _("English name"),
    "model": _("Model and specification"),
    "manufacturer": _("Manufacturer"),
    "country": _("Country of manufacture"),
    "class_code": _("Classification code"),
    "instrument_class": _("Classification"),
    "discipline": _("Discipline"),
    "original_value": _("Original value"),
    "original_value_wan": _("Original value (10k yuan)"),
    "funding_source": _("Funding source"),
    "purchase_date": _("Purchase date"),
    "acceptance_date": _("Acceptance date"),
    "technical_indicators": _("Main technical indicators"),
    "main_functions": _("Main functions"),
    "service_scope": _("Service scope"),
    "location": _("Location"),
    "unit": _("Unit"),
    "unit.name": _("Unit"),
    "platform": _("Innovation platform"),
    "responsible_person": _("Responsible person"),
    "contact_phone": _("Contact phone"),
    "contact_email": _("Contact e-mail"),
    "contact_verified_on": _("Contact last verified"),
    "run_status": _("Run status"),
    "sharing_status": _("Sharing status"),
    "bookable": _("Open for booking"),  # the lab's switch: whether it can be booked also asks its status
    "networked": _("Networked on the provincial platform"),
    "provincial_ref": _("Provincial platform reference"),
    "networked_on": _("Date networked"),
    "duty_free": _("Duty-free import"),
    "customs_declaration_no": _("Customs declaration number"),
    "supervision_end": _("Customs supervision ends"),
    "iot_terminal_id": _("IoT terminal id"),
    "updated_at": _("Last updated"),
    "fee_status": _("Fee standard"),
    "device_status": _("Terminal status"),
    "device_state": _("Terminal status"),
}

_FORM_FIELDS = [
    "kind", "asset_number", "name", "name_en", "model", "manufacturer", "country", "class_code",
    "discipline", "original_value", "funding_source", "purchase_date", "acceptance_date",
    "technical_indicators", "main_functions", "service_scope", "location", "unit", "platform",
    "responsible_person", "contact_phone", "contact_email", "contact_verified_on", "run_status",
    "sharing_status", "bookable", "networked", "provincial_ref", "networked_on", "duty_free",
    "customs_declaration_no", "supervision_end", "iot_terminal_id",
]

_FIELDSETS = [
    (_("Basic information"), {"fields": ["kind", "asset_number", "name", "name_en", "model", "manufacturer", "country",
                                         "class_code", "discipline"]}),
    (_("Value and acquisition"), {"fields": ["original_value", "funding_source", "purchase_date", "acceptance_date"]}),
    (_("Capabilities"), {"fields": ["technical_indicators", "main_functions", "service_scope"]}),
    (_("Ownership and contact"), {"fields": ["location", "unit", "platform", "responsible_person", "contact_phone", "contact_email",
                                             "contact_verified_on"]}),
    (_("Status and sharing"), {"fields": ["run_status", "sharing_status", "bookable", "networked", "provincial_ref", "networked_on",
                                          "iot_terminal_id"]}),
    (_("Duty-free import"), {"fields": ["duty_free", "customs_declaration_no", "supervision_end"], "expanded": False}),
]


def _class_code_rule(form, field):
    message = records.check_class_code(db.session, field.data)
    if message:
        raise ValidationError(str(message))


def _asset_number_rule(form, field):
    message = records.check_asset_number(db.session, field.data, getattr(form, "_id", None))
    if message:
        raise ValidationError(str(message))


FEE_STATUS_LABELS = {None: _("No fee standard"), "draft": _("Draft"), "college_review": _("In college review"),
                     "school_review": _("In school review")}


def fee_status_text(status):
    """An instrument's fee status (Instrument.fee_status) in the list: the published one with its effective date."""
    if status.state == "published":
        return gettext("Published (from %(date)s)", date=formatting.iso_date(status.published_from))
    return str(FEE_STATUS_LABELS[status.state])


class InstrumentView(ScopedModelView):
    datamodel = interface(Instrument)
    list_title = _("Research facilities and instruments")
    show_title = _("Instrument details")
    add_title = _("Add instrument")
    edit_title = _("Edit instrument")
    show_template = "show_with_history.html"
    label_columns = INSTRUMENT_LABELS
    description_columns = {"bookable": _("The lab's switch. An instrument under repair, to be scrapped or not shared "
                                         "cannot be booked whatever it says.")}
    choice_columns = {
        "kind": INSTRUMENT_KIND,
        "funding_source": FUNDING_SOURCE,
        "run_status": RUN_STATUS,
        "sharing_status": SHARING_STATUS,
    }
    list_columns = ["asset_number", "name", "model", "unit.name", "original_value", "run_status", "sharing_status",
                    "networked", "fee_status", "device_status", "updated_at"]
    search_columns = [
        "name", "asset_number", "model", "manufacturer", "kind", "unit", "original_value",
        "run_status", "sharing_status", "networked", "bookable", "funding_source", "purchase_date",
        "device_state",
    ]
    order_columns = ["asset_number", "name", "model", "original_value", "run_status", "sharing_status", "networked"]
    # the inline fee and terminal status, in the page's own query
    list_undefer = ("fee_rank", "fee_published_from", "device_state", "device_seen_at")
    add_columns = edit_columns = _FORM_FIELDS
    add_fieldsets = edit_fieldsets = _FIELDSETS
    # when the record last changed (notice §(三)3: updated within 5 working days), shown, never typed
    show_fieldsets = _FIELDSETS + [(_("Service evaluation"), {"fields": ["evaluation_summary"]}),
                                   (_("Record"), {"fields": ["updated_at"]})]
    show_computed = {"evaluation_summary": lambda instrument: evaluations.averages(db.session, instrument.id)}
    base_order = ("id", "desc")
    formatters_columns = {
        "fee_status": fee_status_text,
        "evaluation_summary": formatting.ratings,
        "device_status": formatting.device_badge,
        "technical_indicators": formatting.multiline,
        "main_functions": formatting.multiline,
        "service_scope": formatting.multiline,
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "class_code": StringField(
            _("Classification code"),
            description=_("6-digit code of the national instrument classification, e.g. 010101"),
            validators=[Optional(), _class_code_rule],
            # left empty: no class (NULL), not a code "" the classification's foreign key refuses
            filters=[lambda value: (value.strip() or None) if isinstance(value, str) else value],
            render_kw={"class": "form-control", "maxlength": 6, "placeholder": "010101"},
        ),
    }
    search_form_extra_fields = {
        "device_state": SelectField(_("Terminal status"), choices=DEVICE_STATE.select_choices, validators=[Optional()],
                                    render_kw={"class": "form-control"}),
    }
    validators_columns = {
        "asset_number": [_asset_number_rule],
        "original_value": [field_rule(records.check_money)],
        "acceptance_date": [field_rule(records.check_dates, "purchase_date")],
        "contact_phone": [field_rule(records.check_phone)],
        "contact_email": [field_rule(records.check_email)],
    }
    validate = staticmethod(records.validate_instrument)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        add_device_state_filter(self)


class InstrumentApi(ScopedModelApi):
    resource_name = "instrument"
    datamodel = interface(Instrument)
    list_columns = [
        "id", "asset_number", "name", "model", "unit.id", "unit.name", "original_value",
        "run_status", "sharing_status", "networked", "bookable",
    ]
    show_columns = ["id"] + [f for f in _FORM_FIELDS if f not in ("unit", "platform", "responsible_person", "class_code")] + [
        "instrument_class.code",
        "unit.id", "unit.name", "platform.id", "responsible_person.id", "updated_at",
    ]
    # the API takes the classification as the related record's key: {"instrument_class": "010101"}
    add_columns = edit_columns = [f if f != "class_code" else "instrument_class" for f in _FORM_FIELDS]
    validate = staticmethod(records.validate_instrument)


FILING_LABELS = {
    "instrument": _("Instrument"),
    "category": _("Equipment category"),
    "reason": _("Reason it is unsuitable for sharing"),
    "networked_at_filing": _("On the provincial platform when filed"),
    "state": _("Workflow state"),
    "remarks": _("Remarks"),
    "created_at": _("Created at"),
    "decided_at": _("Decided at"),
}


class UnsuitableFilingView(ScopedModelView):
    datamodel = interface(UnsuitableFiling)
    list_title = _("Filings of instruments unsuitable for sharing")
    show_title = _("Filing details")
    add_title = _("Add filing")
    edit_title = _("Edit filing")
    label_columns = FILING_LABELS
    choice_columns = {"category": UNSUITABLE_CATEGORY, "state": FILING_STATE}
    list_columns = ["instrument", "category", "networked_at_filing", "state", "remarks", "created_at"]
    search_columns = ["instrument", "category", "state", "networked_at_filing"]
    add_columns = edit_columns = ["instrument", "category", "reason", "networked_at_filing", "remarks"]
    show_columns = ["instrument", "category", "reason", "networked_at_filing", "state", "remarks", "created_at", "decided_at"]
    formatters_columns = {"reason": formatting.multiline}


class UnsuitableFilingApi(ScopedModelApi):
    resource_name = "unsuitable_filing"
    datamodel = interface(UnsuitableFiling)
    list_columns = show_columns = ["id", "instrument.id", "instrument.name", "category", "reason", "networked_at_filing", "state",
                                   "remarks"]
    add_columns = edit_columns = ["instrument", "category", "reason", "networked_at_filing", "remarks"]
