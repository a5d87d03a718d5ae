"""Evaluations on screen and through the API (issue 14): a service user rates its completed booking
from the booking's page (once, within the window), the lab reads its instruments' evaluations and
replies once; `POST /api/v1/evaluation/` (SPEC §5) does the same for the booking's own user. Rules in
app/services/booking/evaluations.py; every list and step through the one scope filter."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import expose as api_expose, protect, safe
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
from marshmallow import Schema, fields, validate
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Booking, Evaluation, ServiceUser
from app.security.scope import apply_scope, own_service_user_id
from app.services.booking import evaluations
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from .api_fields import BadInput, BeijingMinute, body, read
from .base import ScopedModelApi, ScopedModelView, interface
from .forms import flash_refusal
from .openapi import DocumentedActions, RequestBody, component, json_answer

FORBIDDEN = {"not_yours", "out_of_chain", "not_a_customer"}
CONFLICT = {"evaluated", "replied", "not_completed", "window_closed"}
LABELS = {"booking": _("Booking"), "booking.instrument": _("Instrument"), "score": _("Overall"),
          "attitude": _("Service attitude"), "timeliness": _("Timeliness"), "quality": _("Quality of results"),
          "comment": _("Comment"), "reply": _("The lab's reply"), "created_at": _("Evaluated at"),
          "replied_at": _("Replied at"), "instrument_name": _("Instrument")}


def _stars(value):
    return "" if value is None else f"{value} · {evaluations.SCALE.get(value, '')}"


def _own_booking(pk):
    own = own_service_user_id()
    booking = apply_scope(db.session.query(Booking), Booking).filter(Booking.id == pk).one_or_none()
    if own is None or booking is None:
        abort(404)
    return booking, db.session.get(ServiceUser, own)


class EvaluationView(ScopedModelView):
    """The evaluations of the lab's instruments, each replied to once from its page."""

    datamodel = interface(Evaluation)
    list_title = _("Evaluations")
    show_title = _("Evaluation")
    label_columns = LABELS
    list_columns = ["booking.instrument", "score", "attitude", "timeliness", "quality", "comment", "created_at", "reply"]
    show_columns = ["booking", "score", "attitude", "timeliness", "quality", "comment", "created_at", "reply", "replied_at"]
    search_columns = ["score", "created_at"]
    add_columns = edit_columns = ["reply"]
    base_order = ("created_at", "desc")
    formatters_columns = {name: _stars for name in ("score", "attitude", "timeliness", "quality")}
    show_template = "evaluations/show.html"
    lab_side = True

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, lab_side=self.lab_side,
                                    evaluation=self.datamodel.get(pk, self._base_filters))

    @expose("/reply/<int:pk>", methods=["POST"])
    @has_access
    def reply(self, pk):
        evaluation = self.datamodel.get(pk, self._base_filters)
        if evaluation is None:
            abort(404)
        try:
            evaluations.reply(db.session, Actor.of(g.user), evaluation, clock.now(), request.form.get("reply"))
            db.session.commit()
            flash(gettext("Reply saved."), "success")
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for(".show", pk=pk))


class MyEvaluationView(EvaluationView):
    """A service user's own evaluations, and the rating of a completed booking (from its page)."""

    list_title = _("My evaluations")
    lab_side = False

    @expose("/evaluate/<int:booking_id>", methods=["POST"])
    @has_access
    def evaluate(self, booking_id):
        booking, user = _own_booking(booking_id)
        form = request.form
        try:
            evaluations.evaluate(db.session, user, booking, clock.now(), evaluations.window_days(current_app.config),
                                 score=form.get("score") or None, attitude=form.get("attitude") or None,
                                 timeliness=form.get("timeliness") or None, quality=form.get("quality") or None,
                                 comment=form.get("comment"))
            db.session.commit()
            flash(gettext("Thank you: your evaluation is saved."), "success")
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for("MyBookingView.show", pk=booking_id))


class EvaluationSchema(Schema):
    id = fields.Integer()
    booking_id = fields.Integer()
    score = fields.Integer()
    attitude = fields.Integer()
    timeliness = fields.Integer()
    quality = fields.Integer()
    comment = fields.String()
    reply = fields.String()
    created_at = BeijingMinute()
    replied_at = BeijingMinute()


class EvaluationListSchema(EvaluationSchema):
    """The same fields in a list (a schema of its own name in the OpenAPI document)."""


class EvaluationBody(RequestBody):
    """A rating, 1 very poor … 5 very satisfied."""

    booking_id = fields.Integer(required=True)
    score = fields.Integer(validate=validate.Range(1, 5),
                           metadata={"description": "overall; the mean of the aspects when left out"})
    attitude = fields.Integer(validate=validate.Range(1, 5))
    timeliness = fields.Integer(validate=validate.Range(1, 5))
    quality = fields.Integer(validate=validate.Range(1, 5))
    comment = fields.String()


class ReplyBody(RequestBody):
    reply = fields.String(required=True)


class EvaluationApi(DocumentedActions, ScopedModelApi):
    resource_name = "evaluation"
    forbidden_codes, conflict_codes = frozenset(FORBIDDEN), frozenset(CONFLICT)
    datamodel = interface(Evaluation)
    include_route_methods = {"get", "get_list", "info", "post", "reply"}
    list_columns = show_columns = list(EvaluationSchema._declared_fields)
    add_columns = edit_columns = ["comment"]  # the actions below are the only writes
    list_model_schema = EvaluationListSchema()
    show_model_schema = EvaluationSchema()
    order_columns = ["id", "created_at", "score"]
    base_order = ("id", "desc")
    openapi_spec_tag = "Evaluations"
    openapi_spec_component_schemas = (EvaluationBody, ReplyBody)
    openapi_spec_responses = {"EvaluationAnswer": json_answer(
        "The evaluation: its id, and the whole evaluation under result", id={"type": "integer"},
        result=component("EvaluationApi.get"))}


    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    def post(self):
        """Evaluate a completed booking.
        ---
        post:
          summary: The booking's own user rates it once (1 very poor … 5 very satisfied), within the window
          requestBody: {required: true, content: {application/json: {schema: EvaluationBody}}}
          responses:
            201: EvaluationAnswer
            403: {description: the caller is not a service user}
            404: {description: "no such booking in reach (someone else's answers the same)"}
            409: {description: "already evaluated, not completed, or the window has closed"}
            422: {description: a score outside 1–5}
        """
        try:
            data, errors = body(), {}
            booking_id = read(data, "booking_id", errors, "integer")
            comment = read(data, "comment", errors, "text")
            if booking_id is None and "booking_id" not in errors:
                errors["booking_id"] = gettext("This field is required.")
            if errors:
                raise BadInput(errors)
            own = own_service_user_id()
            if own is None:
                raise PolicyDenied("not_a_customer", gettext("Only the booking's own user can evaluate it."))
            # through the scope filter: someone else's booking answers as one that does not exist
            booking = db.session.execute(apply_scope(sa.select(Booking).where(Booking.id == booking_id), Booking)).scalar()
            if booking is None:
                return self.response_404()
            evaluation = evaluations.evaluate(
                db.session, db.session.get(ServiceUser, own), booking, clock.now(),
                evaluations.window_days(current_app.config), score=data.get("score"), attitude=data.get("attitude"),
                timeliness=data.get("timeliness"), quality=data.get("quality"), comment=comment)
            answer = EvaluationSchema().dump(evaluation)
            db.session.commit()
        except (BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self.response(201, id=answer["id"], result=answer)

    @api_expose("/<int:pk>/reply", methods=["POST"])
    @protect()
    @safe
    def reply(self, pk):
        """The lab's reply to an evaluation (once).
        ---
        post:
          summary: The instrument's lab replies to an evaluation, once
          parameters: [pk]
          requestBody: {required: true, content: {application/json: {schema: ReplyBody}}}
          responses:
            200: EvaluationAnswer
            403: LabSideOnly
            409: {description: already replied}
            422: {description: an empty reply}
        """
        evaluation = self.datamodel.get(pk, self._base_filters)
        if evaluation is None:
            return self.response_404()
        try:
            data, errors = body(), {}
            text = read(data, "reply", errors, "text")
            if errors:
                raise BadInput(errors)
            evaluations.reply(db.session, Actor.of(g.user), evaluation, clock.now(), text)
            answer = EvaluationSchema().dump(evaluation)
            db.session.commit()
        except (BadInput, RuleViolation, PolicyDenied) as error:
            return self._refusal(error)
        return self.response(200, id=answer["id"], result=answer)
