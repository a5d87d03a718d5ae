"""Uses and charges on screen (issue 14). The lab registers a booking's use from the booking's page —
after the fact, or 开始使用 / 结束使用 as it happens — and takes each charge through its steps on the
charge's page: confirm or waive, invoice, settle, credit note, a new charge. A service user sees its
own uses and charges with their lines, nothing of anyone else's. Rules live in app/services/booking/usage.py
and settlement.py; every list and action goes through the one scope filter."""
from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext, lazy_gettext as _
from markupsafe import Markup

from app import clock
from app.extensions import db
from app.models import Booking, Charge, UsageRecord
from app.models.choices import (CHARGE_STATE, CUSTOMER_CATEGORY, PAYMENT_METHOD, PI_APPROVAL_STATE, PI_DECIDED_VIA,
                                SERVICE_TYPE, USAGE_DIRECTION, USAGE_SOURCE)
from app.security import permissions as P
from app.security.scope import apply_scope
from app.services import steps
from app.services.booking import bookings, usage
from app.services.money import pi_approval, settlement
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from .base import ScopedModelView, interface
from .forms import flash_refusal, form_fields

USAGE_LABELS = {
    "instrument": _("Instrument"), "instrument.name": _("Instrument"), "user": _("Service user"), "user.name": _("Service user"),
    "booking": _("Booking"), "started_at": _("Started at"), "ended_at": _("Ended at"), "hours": _("Hours"),
    "samples": _("Samples tested"), "samples_received": _("Samples received"), "samples_returned": _("Samples returned"),
    "operator": _("Operator"), "source": _("Source"), "service_type": _("Service type"), "direction": _("Direction of use"),
    "registered_at": _("Registered at"),
}
CHARGE_LABELS = {
    "id": _("Charge"), "usage": _("Use"), "user": _("Service user"), "user.name": _("Service user"), "total": _("Total (yuan)"),
    "state": _("State"), "customer_category": _("Customer category"), "project_account": _("Project account"),
    "invoice_number": _("Invoice number"), "invoice_date": _("Invoice date"), "paid_on": _("Paid on"),
    "payment_method": _("Paid by"), "credit_of": _("Credit note of"), "reason": _("Reason"), "created_at": _("Raised at"),
    "confirmed_at": _("Confirmed at"), "instrument_name": _("Instrument"),
}
STEP_LABELS = {"confirm": _("confirmed"), "waive": _("waived"), "invoice": _("invoiced"), "settle": _("settled"),
               "credit": _("credit note issued"), "new": _("new charge raised"), "pi_record": _("the PI's decision recorded"),
               "pi_renew": _("a new link mailed to the PI")}


def _link_to(endpoint):
    def link(pk):
        return Markup('<a href="{}">#{}</a>').format(url_for(endpoint, pk=pk), pk)
    return link


class _UsageScreen(ScopedModelView):
    datamodel = interface(UsageRecord)
    label_columns = USAGE_LABELS
    choice_columns = {"source": USAGE_SOURCE, "service_type": SERVICE_TYPE, "direction": USAGE_DIRECTION}
    list_columns = ["instrument.name", "user.name", "started_at", "ended_at", "hours", "samples", "source", "service_type"]
    show_columns = ["instrument", "user", "booking", "started_at", "ended_at", "hours", "samples_received", "samples",
                    "samples_returned", "operator", "source", "service_type", "direction", "registered_at"]
    search_columns = ["instrument", "source", "service_type", "direction", "started_at"]
    base_order = ("started_at", "desc")


class UsageRecordView(_UsageScreen):
    """Every use of the lab's instruments — registered, and measured by the terminals — and the lab's
    registration of a booking's use (its forms are on the booking's page)."""

    list_title = _("Uses")
    show_title = _("Use")

    def _booking(self, pk):
        booking = apply_scope(db.session.query(Booking), Booking).filter(Booking.id == pk).one_or_none()
        if booking is None:
            abort(404)
        return booking

    def _done(self, booking_id, completed=None):
        db.session.commit()
        if completed is not None and completed.charge is None:
            flash(str(settlement.MSG_NO_STANDARD), "warning")
        elif completed is not None and not completed.charge.lines:
            flash(gettext("The charge has no lines: no item of the fee standard counted anything of this use "
                          "(samples, hours…). Check what was registered."), "warning")
        return redirect(url_for("BookingRecordView.show", pk=booking_id))

    @expose("/register/<int:booking_id>", methods=["POST"])
    @has_access
    def register(self, booking_id):
        """使用登记: the use of a booking registered after the fact."""
        booking = self._booking(booking_id)
        try:
            completed = steps.REGISTER_USE.call(db.session, Actor.of(g.user), booking, clock.now(),
                                                bookings.Settings.of(current_app.config),
                                                **form_fields(request.form, steps.REGISTER_USE))
            flash(gettext("Use registered."), "success")
            return self._done(booking_id, completed)
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for("BookingRecordView.show", pk=booking_id))

    @expose("/start/<int:booking_id>", methods=["POST"])
    @has_access
    def start(self, booking_id):
        """开始使用: the booking's session starts now."""
        booking = self._booking(booking_id)
        try:
            usage.start(db.session, Actor.of(g.user), clock.now(), bookings.Settings.of(current_app.config),
                        booking=booking, direction=request.form.get("direction") or "research")
            flash(gettext("Use started."), "success")
            return self._done(booking_id)
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for("BookingRecordView.show", pk=booking_id))

    @expose("/end/<int:pk>", methods=["POST"])
    @has_access
    def end(self, pk):
        """结束使用: the open session ends now, and is priced."""
        record = self.datamodel.get(pk, self._base_filters)
        if record is None:
            abort(404)
        form = request.form
        try:
            completed = usage.end(db.session, Actor.of(g.user), record, clock.now(), samples=form.get("samples") or None,
                                  samples_received=form.get("samples_received") or None,
                                  samples_returned=form.get("samples_returned") or None)
            flash(gettext("Use ended."), "success")
            if record.booking_id is None:
                db.session.commit()
                return redirect(url_for(".show", pk=pk))
            return self._done(record.booking_id, completed)
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for("BookingRecordView.show", pk=record.booking_id) if record.booking_id
                        else url_for(".show", pk=pk))


class MyUsageView(_UsageScreen):
    """A service user's own uses (the scope filter gives it nothing else)."""

    list_title = _("My uses")
    show_title = _("My use")
    list_columns = ["instrument.name", "started_at", "ended_at", "hours", "samples", "service_type"]
    show_columns = [c for c in _UsageScreen.show_columns if c not in ("user", "operator", "registered_at")]


class _ChargeScreen(ScopedModelView):
    datamodel = interface(Charge)
    label_columns = CHARGE_LABELS
    choice_columns = {"state": CHARGE_STATE, "customer_category": CUSTOMER_CATEGORY, "payment_method": PAYMENT_METHOD}
    list_columns = ["id", "instrument_name", "user.name", "total", "state", "invoice_number", "invoice_date", "created_at"]
    show_columns = ["id", "instrument_name", "usage", "user", "customer_category", "project_account", "total", "state",
                    "confirmed_at", "invoice_number", "invoice_date", "paid_on", "payment_method", "credit_of", "reason",
                    "created_at"]
    search_columns = ["state", "invoice_number", "invoice_date", "customer_category", "created_at"]
    add_columns = edit_columns = ["reason"]  # never added or edited here (no such permission): the steps do it
    base_order = ("id", "desc")
    list_undefer = ("instrument_name",)  # the instrument's name comes with the page (models/charge.py)
    show_template = "charges/show.html"
    lab_side = False

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        charge = self.datamodel.get(pk, self._base_filters)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, charge=charge, lab_side=self.lab_side,
                                    remaining=settlement.remaining(charge) if charge is not None else None,
                                    methods=PAYMENT_METHOD.select_choices(), today=clock.today().isoformat(),
                                    approval_states=dict(PI_APPROVAL_STATE.select_choices()),
                                    decided_via=dict(PI_DECIDED_VIA.select_choices()),
                                    paper_refusal=self._paper_refusal(charge),
                                    pi_has_email=charge is not None and charge.approval is not None
                                    and pi_approval.pi_has_email(charge.approval))

    def _paper_refusal(self, charge):
        """Why the viewer may not record the PI's paper decision here (None: the form is offered)."""
        if not self.lab_side or charge is None or charge.approval is None or charge.approval.state != "awaiting":
            return None
        refusal = pi_approval.paper_refusal(db.session, Actor.of(g.user), charge.approval)
        return refusal.message if refusal is not None else None


class ChargeView(_ChargeScreen):
    """The charges of the lab's uses, and their steps (on each charge's page)."""

    list_title = _("Charges")
    show_title = _("Charge")
    formatters_columns = {"id": _link_to("ChargeView.show")}
    lab_side = True

    @expose("/step/<int:pk>/<string:step>", methods=["POST"])
    @has_access
    def step(self, pk, step):
        charge = self.datamodel.get(pk, self._base_filters)
        if charge is None or step not in STEP_LABELS:
            abort(404)
        form, actor, now = request.form, Actor.of(g.user), clock.now()
        target = pk
        try:
            if step in steps.CHARGE_STEPS:  # the steps the API offers too
                shared = steps.CHARGE_STEPS[step]
                shared.call(db.session, actor, charge, now, None, **form_fields(form, shared))
            elif step in ("pi_record", "pi_renew"):
                if charge.approval is None:
                    abort(404)
                if step == "pi_renew":
                    pi_approval.renew(db.session, actor, charge.approval, now)
                else:
                    pi_approval.record_paper(db.session, actor, charge.approval, now, form.get("decision") == "approve",
                                             form.get("note"), _uploaded_scan())
            else:
                target = settlement.new_charge(db.session, actor, charge.usage, now).id
            db.session.commit()
            flash(gettext("Done: %(step)s.", step=STEP_LABELS[step]), "success")
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for(".show", pk=target))


    @expose("/scan/<int:pk>", methods=["GET"])
    @has_access
    @permission_name(P.method_name(P.CAN_SHOW))
    def scan(self, pk):
        """The signed paper of a PI's decision, to the charge's lab side only (404 outside the scope)."""
        charge = self.datamodel.get(pk, self._base_filters)
        path = pi_approval.scan_path(current_app.config["APPROVAL_SCAN_FOLDER"], charge.approval) \
            if charge is not None and charge.approval is not None else None
        if path is None:
            abort(404)
        return send_file(path, mimetype="application/pdf", as_attachment=True, max_age=0,
                         download_name=charge.approval.scan_name or f"pi-approval-{charge.id}.pdf")


def _uploaded_scan():
    upload = request.files.get("scan")
    data = upload.read(current_app.config["CONTRACT_MAX_BYTES"] + 1) if upload else b""
    return pi_approval.Scan(data, upload.filename if upload else "", current_app.config["APPROVAL_SCAN_FOLDER"],
                            current_app.config["CONTRACT_MAX_BYTES"]) if data else None


class MyChargeView(_ChargeScreen):
    """A service user's own charges, with their lines and payment state."""

    list_title = _("My charges")
    show_title = _("My charge")
    list_columns = ["id", "instrument_name", "total", "state", "invoice_number", "invoice_date", "paid_on"]
    show_columns = [c for c in _ChargeScreen.show_columns if c != "user"]
    formatters_columns = {"id": _link_to("MyChargeView.show")}
