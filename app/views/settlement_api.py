"""The use and charge REST API (SPEC §5): `/api/v1/usage/` and `/api/v1/charge/`, scoped exactly like
the screens — an administrator reaches its subtree's, a service user only its own.

A charge answers its state (pending, confirmed, invoiced, settled, credited, waived), its total and
lines (each quantity × unit price = amount), its booking and the charge a credit note corrects. The
lab confirms, invoices, settles, credits and waives through the actions below (app/services/money/settlement.py);
refusals answer in Chinese: 422 bad input, 403 not the instrument's lab side, 409 a state that does not
allow the step, 404 outside the scope.
"""
from flask import g
from flask_appbuilder.api import expose, protect, safe
from marshmallow import Schema, fields, validate

from app import clock
from app.extensions import db
from app.models import Charge, UsageRecord
from app.models.choices import PAYMENT_METHOD
from app.services import steps
from app.services.money import settlement
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from .api_fields import BadInput, BeijingMinute, body, read_fields
from .base import ScopedModelApi, interface
from .openapi import DocumentedActions, RequestBody, component, json_answer

FORBIDDEN = {"out_of_chain"}
CONFLICT = {"charge_state", "charge_outstanding", "charge_frozen", "no_standard", "pi_awaiting", "pi_rejected"}


class Money(fields.Decimal):
    """Yuan to the cent, as a JSON number."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else float(value)


class UsageSchema(Schema):
    id = fields.Integer()
    instrument_id = fields.Integer()
    booking_id = fields.Integer()
    user_id = fields.Integer()
    started_at = BeijingMinute()
    ended_at = BeijingMinute()
    hours = Money()
    samples = fields.Integer()
    samples_received = fields.Integer()
    samples_returned = fields.Integer()
    source = fields.String()
    service_type = fields.String()
    direction = fields.String()


class UsageListSchema(UsageSchema):
    """The same fields in a list (a schema of its own name in the OpenAPI document)."""


class ChargeLineSchema(Schema):
    description = fields.String()
    quantity = Money()
    unit_price = Money()
    amount = Money()


class ChargeListSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    total = Money()
    booking_id = fields.Function(lambda charge: charge.usage.booking_id if charge.usage is not None else None)
    usage_id = fields.Integer()
    credit_of_id = fields.Integer()
    user_id = fields.Integer()
    customer_category = fields.String()
    project_account = fields.String()
    fee_standard_id = fields.Integer()
    invoice_number = fields.String()
    invoice_date = fields.Date()
    paid_on = fields.Date()
    payment_method = fields.String()
    reason = fields.String()
    created_at = BeijingMinute()
    confirmed_at = BeijingMinute()


class ChargeSchema(ChargeListSchema):
    lines = fields.List(fields.Nested(ChargeLineSchema))
    # an on-campus charge's PI approval: "awaiting", "approved", "rejected"; null when none is needed
    pi_approval = fields.Function(lambda charge: charge.approval.state if charge.approval is not None else None)
    remaining = fields.Function(lambda charge: None if charge.credit_of_id else float(settlement.remaining(charge)))


# -- the actions' request bodies as the OpenAPI document shows them (components) ---------------------------------
class InvoiceBody(RequestBody):
    invoice_number = fields.String(required=True, metadata={"description": "used once"})
    invoice_date = fields.Date(required=True, metadata={"description": "between the use and today"})


class PaymentBody(RequestBody):
    paid_on = fields.Date(required=True)
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHOD.codes))


class CreditBody(RequestBody):
    amount = fields.Float(required=True, metadata={"example": 150.0, "description": "yuan, to the cent"})
    reason = fields.String(required=True)


class WaiverBody(RequestBody):
    reason = fields.String(required=True)


class UsageApi(ScopedModelApi):
    resource_name = "usage"
    datamodel = interface(UsageRecord)
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = list(UsageSchema._declared_fields)
    list_model_schema = UsageListSchema()
    show_model_schema = UsageSchema()
    search_columns = ["instrument", "booking", "source", "service_type", "started_at"]
    order_columns = ["id", "started_at"]
    base_order = ("id", "desc")
    openapi_spec_tag = "Uses"


class ChargeApi(DocumentedActions, ScopedModelApi):
    resource_name = "charge"
    forbidden_codes, conflict_codes = frozenset(FORBIDDEN), frozenset(CONFLICT)
    datamodel = interface(Charge)
    include_route_methods = {"get", "get_list", "info", "confirm", "invoice", "settle", "credit", "waive"}
    list_columns = [c for c in ChargeListSchema._declared_fields if c != "booking_id"]
    show_columns = list_columns
    # the booking of each listed charge comes with the page (joined), not one query per row
    list_select_columns = [*list_columns, "usage.booking_id"]
    list_model_schema = ChargeListSchema()
    show_model_schema = ChargeSchema()
    add_columns = edit_columns = ["reason"]  # no post or put: the actions below are the only writes
    search_columns = ["state", "usage", "invoice_number", "invoice_date", "customer_category"]
    order_columns = ["id", "invoice_date", "created_at", "total"]
    base_order = ("id", "desc")
    openapi_spec_tag = "Charges"
    openapi_spec_component_schemas = (InvoiceBody, PaymentBody, CreditBody, WaiverBody)
    openapi_spec_responses = {"ChargeAnswer": json_answer(
        "The charge (a credit note's: credit_of_id names the charge it corrects): its id and state, and the whole "
        "charge under result", id={"type": "integer"}, state={"type": "string"}, result=component("ChargeApi.get"))}


    def _act(self, pk, name):
        charge = self.datamodel.get(pk, self._base_filters)
        if charge is None:
            return self.response_404()
        step = steps.CHARGE_STEPS[name]
        try:
            errors = {}
            values = read_fields(body(), step, errors)
            if errors:
                raise BadInput(errors)
            result = step.call(db.session, Actor.of(g.user), charge, clock.now(), None, **values)
            answer = ChargeSchema().dump(result)
            db.session.commit()
        except (BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self.response(201 if step.creates else 200, id=answer["id"], state=answer["state"], result=answer)

    @expose("/<int:pk>/confirm", methods=["POST"])
    @protect()
    @safe
    def confirm(self, pk):
        """Confirm a pending charge.
        ---
        post:
          summary: The lab confirms a pending charge; from then on it is never edited
          parameters: [pk]
          responses:
            200: ChargeAnswer
            403: LabSideOnly
            409: {description: the charge is not pending}
        """
        return self._act(pk, "confirm")

    @expose("/<int:pk>/invoice", methods=["POST"])
    @protect()
    @safe
    def invoice(self, pk):
        """Record the invoice of a confirmed charge.
        ---
        post:
          summary: The lab records the invoice (a number used once, a date between the use and today)
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: InvoiceBody}}}
          responses:
            200: ChargeAnswer
            403: LabSideOnly
            409: {description: the charge is not confirmed}
            422: {description: "no number, a number already used, a date before the use or after today"}
        """
        return self._act(pk, "invoice")

    @expose("/<int:pk>/settle", methods=["POST"])
    @protect()
    @safe
    def settle(self, pk):
        """Record the payment of an invoiced charge.
        ---
        post:
          summary: The lab records the day and the way an invoiced charge was paid
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: PaymentBody}}}
          responses:
            200: ChargeAnswer
            403: LabSideOnly
            409: {description: the charge is not invoiced}
            422: {description: "a day before the invoice or after today, or an unknown way of paying"}
        """
        return self._act(pk, "settle")

    @expose("/<int:pk>/credit", methods=["POST"])
    @protect()
    @safe
    def credit(self, pk):
        """Issue a credit note against a charge.
        ---
        post:
          summary: A credit note (negative, never above what is left of the charge), with its reason
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: CreditBody}}}
          responses:
            201: ChargeAnswer
            403: LabSideOnly
            409: {description: "the charge is pending, waived, already credited in full, or is a credit note"}
            422: {description: "an amount that is not positive, not to the cent, or above what is left; no reason"}
        """
        return self._act(pk, "credit")

    @expose("/<int:pk>/waive", methods=["POST"])
    @protect()
    @safe
    def waive(self, pk):
        """Waive a pending charge, with the reason.
        ---
        post:
          summary: The lab waives a pending charge (免收); it counts as no income
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: WaiverBody}}}
          responses:
            200: ChargeAnswer
            403: LabSideOnly
            409: {description: the charge is not pending}
            422: {description: no reason}
        """
        return self._act(pk, "waive")
