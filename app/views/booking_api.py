"""The booking REST API (SPEC §5): `/api/v1/booking/`, scoped exactly like the screens — a lab,
college or school administrator reaches its subtree's bookings, a service user only its own.

Times are Beijing time: `YYYY-MM-DDTHH:MM` without an offset is taken as Asia/Shanghai, one with an
offset is converted; answers give Beijing time in that same form. Refusals answer in Chinese:
422 bad input (beside the field), 403 not allowed (no authorisation, suspended, not one's own),
409 a taken slot or a booking whose state does not allow the step, 404 outside the scope.
"""

from flask import current_app, g
from flask_appbuilder.api import expose, protect, safe
from flask_babel import gettext as _msg
from marshmallow import Schema, fields, validate

from app import clock
from app.extensions import db
from app.models import Booking, ServiceUser
from app.models.choices import BOOKING_MODE, USAGE_DIRECTION
from app.security.scope import own_service_user_id
from app.services import steps
from app.services.booking import bookings
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from .api_fields import BadInput as _BadInput, BeijingMinute, body as _body, read, read_fields
from .base import ScopedModelApi, interface
from .openapi import DocumentedActions, RequestBody, component, json_answer

FORBIDDEN = {"not_authorised", "suspended", "account_inactive", "out_of_chain", "not_yours", "not_a_customer", "no_contract"}
CONFLICT = {"slot_taken", "wrong_state", "booking_state", "session_open", "usage_overlap", "in_use"}


class BookingSchema(Schema):
    """What a booking answers (SPEC §5 names)."""

    id = fields.Integer()
    instrument_id = fields.Integer()
    user_id = fields.Integer()
    mode = fields.String()
    state = fields.String()
    respond_by = fields.Date()
    respond_by_official = fields.Boolean()
    requested_start = BeijingMinute()
    requested_end = BeijingMinute()
    scheduled_start = BeijingMinute()
    scheduled_end = BeijingMinute()
    requested_date = fields.Date()
    scheduled_date = fields.Date()
    sample_count = fields.Integer()
    purpose = fields.String()
    samples = fields.String()
    submitted_at = BeijingMinute()
    responded_at = BeijingMinute()
    delayed = fields.Boolean()
    response_reason = fields.String()
    alternative = fields.String()
    alternative_instrument_id = fields.Integer()
    late_cancellation = fields.Boolean()
    contract_id = fields.Integer()
    terms_accepted_at = BeijingMinute()


class BookingListSchema(BookingSchema):
    """The same fields in a list (a schema of its own name in the OpenAPI document)."""


# -- the actions' request bodies as the OpenAPI document shows them (components) ---------------------------------
BEIJING = "Beijing time, YYYY-MM-DDTHH:MM (a time with an offset is converted)"


class SlotBody(RequestBody):
    """A slot (self-operated)."""

    start = fields.String(metadata={"example": "2026-12-08T10:00", "description": BEIJING})
    end = fields.String(metadata={"example": "2026-12-08T12:00", "description": BEIJING})


class SlotOrDayBody(SlotBody):
    """A slot (self-operated) or a day (sample testing, technical service)."""

    date = fields.Date(metadata={"description": "the day (sample testing, technical service)"})


class DelayBody(SlotOrDayBody):
    reason = fields.String(required=True)


class RefusalBody(RequestBody):
    reason = fields.String(required=True)
    alternative = fields.String(metadata={"description": "the alternative offered (another time); needed unless "
                                                         "alternative_instrument_id names a comparable instrument"})
    alternative_instrument_id = fields.Integer()


class BookingRequestBody(SlotOrDayBody):
    """A submission: start and end for self_operated, date (or a start) for sample and service."""

    instrument_id = fields.Integer(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(BOOKING_MODE.codes))
    date = fields.Date(metadata={"description": "the day wished for (sample testing, technical service)"})
    sample_count = fields.Integer()
    purpose = fields.String()
    samples = fields.String(metadata={"description": "the samples' description: name, state, quantity"})
    sample_hazards = fields.String()
    sample_disposal = fields.String(metadata={"description": "what becomes of the samples after testing"})
    accept_standard_terms = fields.Boolean(metadata={"description": (
        "an outside user without a service contract accepts the school's standard terms (Art. 16); without them "
        "the lab cannot schedule the booking until a contract is on file")})


class UseBody(SlotBody):
    """A use registered: its slot, samples and direction."""

    hours = fields.Float(metadata={"description": "optional; must agree with start and end"})
    samples = fields.Integer(metadata={"description": "samples tested (sample testing)"})
    samples_received = fields.Integer()
    samples_returned = fields.Integer()
    direction = fields.String(validate=validate.OneOf(USAGE_DIRECTION.codes))


USE_IDS = {"usage_id": {"type": "integer"}, "charge_id": {"type": "integer", "nullable": True}}


class BookingApi(DocumentedActions, ScopedModelApi):
    resource_name = "booking"
    forbidden_codes, conflict_codes = frozenset(FORBIDDEN), frozenset(CONFLICT)
    datamodel = interface(Booking)
    include_route_methods = {"get", "get_list", "info", "post", "schedule", "delay", "refuse", "cancel", "complete"}
    list_columns = show_columns = list(BookingSchema._declared_fields)
    list_model_schema = BookingListSchema()
    show_model_schema = BookingSchema()
    search_columns = ["state", "mode", "instrument", "respond_by", "submitted_at"]
    order_columns = ["id", "respond_by", "submitted_at", "scheduled_start", "requested_start", "state"]
    base_order = ("id", "desc")
    openapi_spec_tag = "Bookings"
    openapi_spec_component_schemas = (BookingRequestBody, SlotOrDayBody, DelayBody, RefusalBody, UseBody)
    openapi_spec_responses = {
        "BookingAnswer": json_answer(
            "The booking: its id, state (pending or scheduled after a submission) and respond_by, and the whole "
            "booking under result", id={"type": "integer"}, state={"type": "string"},
            respond_by={"type": "string", "format": "date", "nullable": True}, result=component("BookingApi.get")),
        "UseRegistered": json_answer(
            "The use registered (usage_id) and its charge (charge_id, null when no published fee standard was in "
            "force), the same under result", **USE_IDS,
            result={"type": "object", "required": sorted(USE_IDS), "properties": USE_IDS}),
    }

    # -- helpers -------------------------------------------------------------------------------
    def _answer(self, booking, code=200):
        payload = BookingSchema().dump(booking)
        return self.response(code, id=booking.id, state=booking.state,
                             respond_by=payload["respond_by"], result=payload)


    def _settings(self):
        return bookings.Settings.of(current_app.config)

    def _booking(self, pk):
        """The booking if it is in the caller's scope (404 otherwise, as if it did not exist)."""
        return self.datamodel.get(pk, self._base_filters)

    def _times(self, data, errors):
        return read(data, "start", errors, "instant"), read(data, "end", errors, "instant"), read(data, "date", errors, "day")

    # -- submission ---------------------------------------------------------------------------
    @expose("/", methods=["POST"])
    @protect()
    @safe
    def post(self):
        """Submit a booking.
        ---
        post:
          summary: Submit a booking (self-operated slot, sample testing or technical service)
          requestBody: {required: true, content: {application/json: {schema: BookingRequestBody}}}
          responses:
            201: BookingAnswer
            403: {description: "not authorised to operate, suspended, or the account is not active"}
            409: {description: the slot overlaps a booking that holds it}
        """
        try:
            data, errors = _body(), {}
            instrument_id, sample_count = read(data, "instrument_id", errors, "integer"), read(data, "sample_count", errors, "integer")
            start, end, day = self._times(data, errors)
            texts = {k: read(data, k, errors, "text") for k in ("mode", "purpose", "samples", "sample_hazards", "sample_disposal")}
            accept = data.get("accept_standard_terms")
            if accept is not None and not isinstance(accept, bool):
                errors["accept_standard_terms"] = _msg("Must be true or false.")
            if instrument_id is None and "instrument_id" not in errors:
                errors["instrument_id"] = _msg("This field is required.")
            if texts["mode"] is None and "mode" not in errors:
                errors["mode"] = _msg("This field is required.")
            if errors:
                raise _BadInput(errors)
            own = own_service_user_id()
            if own is None:
                raise PolicyDenied("not_a_customer", _msg("Only a service user's account can book."))
            user = db.session.get(ServiceUser, own)
            if texts["mode"] == "sample" and day is None and start is not None:
                day = clock.local_date(start)  # a wished-for day given as a time
            booking = bookings.submit(
                db.session, user, instrument_id, texts["mode"], clock.now(), self._settings(),
                start=start if texts["mode"] == "self_operated" else None,
                end=end if texts["mode"] == "self_operated" else None,
                day=day if texts["mode"] != "self_operated" else None, sample_count=sample_count,
                purpose=texts["purpose"], samples=texts["samples"], hazards=texts["sample_hazards"],
                disposal=texts["sample_disposal"], accept_terms=True if accept else None)
            answer = self._answer(booking, 201)  # before the commit expires it: no reading it back
            db.session.commit()
        except (_BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return answer

    # -- the lab's answers and cancellation ------------------------------------------------------
    def _act(self, pk, step):
        booking = self._booking(pk)
        if booking is None:
            return self.response_404()
        try:
            data, errors = _body(), {}
            actor, now = Actor.of(g.user), clock.now()
            own = own_service_user_id()
            if step == "cancel" and own is not None and not actor.is_admin:  # its own user's (the lab's is a step)
                bookings.cancel(db.session, booking, now, user=db.session.get(ServiceUser, own))
            else:
                chosen = steps.ANSWER_STEPS[step]
                values = read_fields(data, chosen, errors)
                if errors:
                    raise _BadInput(errors)
                chosen.call(db.session, actor, booking, now, self._settings(), **values)
            db.session.commit()
        except (_BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self._answer(booking)

    @expose("/<int:pk>/schedule", methods=["POST"])
    @protect()
    @safe
    def schedule(self, pk):
        """Schedule a pending booking.
        ---
        post:
          summary: The lab schedules a pending booking, at the time asked or the one given
          parameters: [pk]
          requestBody: {content: {application/json: {schema: SlotOrDayBody}}}
          responses:
            200: BookingAnswer
            403: LabSideOnly
            409: {description: "the slot is taken, or the booking is not pending"}
        """
        return self._act(pk, "schedule")

    @expose("/<int:pk>/delay", methods=["POST"])
    @protect()
    @safe
    def delay(self, pk):
        """Give a later time, with the reason.
        ---
        post:
          summary: The lab delays a booking to a new slot or day, with a reason
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: DelayBody}}}
          responses:
            200: BookingAnswer
            403: LabSideOnly
            409: {description: "the slot is taken, or the state does not allow it"}
            422: {description: "no reason, or bad times"}
        """
        return self._act(pk, "delay")

    @expose("/<int:pk>/refuse", methods=["POST"])
    @protect()
    @safe
    def refuse(self, pk):
        """Refuse, with the reason and an alternative.
        ---
        post:
          summary: The lab refuses a booking, giving the reason and an alternative offered
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: RefusalBody}}}
          responses:
            200: BookingAnswer
            403: LabSideOnly
            422: {description: "a reason or an alternative is missing, or the other instrument is not bookable"}
        """
        return self._act(pk, "refuse")

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    def cancel(self, pk):
        """Cancel a booking.
        ---
        post:
          summary: Its user (late after the instrument's deadline) or its lab cancels a booking
          parameters: [pk]
          responses:
            200: BookingAnswer
            403: {description: someone else's booking}
            409: {description: already answered this way or ended}
        """
        return self._act(pk, "cancel")

    @expose("/<int:pk>/complete", methods=["POST"])
    @protect()
    @safe
    def complete(self, pk):
        """Register the use of a scheduled booking, and price it.
        ---
        post:
          summary: The lab registers the booking's use (start, end, samples) and raises its charge
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: UseBody}}}
          responses:
            200: UseRegistered
            403: LabSideOnly
            409: {description: "the booking is not scheduled (refused, cancelled, already completed), or the time
              overlaps another use"}
            422: {description: "bad input (end before start, hours that disagree, sample counts)"}
        """
        booking = self._booking(pk)
        if booking is None:
            return self.response_404()
        try:
            errors = {}
            values = read_fields(_body(), steps.REGISTER_USE, errors)
            if errors:
                raise _BadInput(errors)
            done = steps.REGISTER_USE.call(db.session, Actor.of(g.user), booking, clock.now(), self._settings(), **values)
            answer = {"usage_id": done.usage.id, "charge_id": done.charge.id if done.charge is not None else None}
            db.session.commit()
        except (_BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self.response(200, **answer, result=answer)
